/**
 * A CSV export from PostgreSQL's COPY: the database writes each request's columns as CSV, and this
 * passes most of their bytes on untouched. The content columns (most of a row's bytes) are never
 * made into strings, quoted again or collected as garbage; the tags, metadata, groups and scores
 * come from one batch of queries per BATCH_ROWS rows, as the paged export reads them. The output is
 * byte for byte what the paged export (export-lines.ts) writes; the tests compare the two.
 *
 * PostgreSQL's CSV quotes a value exactly when csvField does (it holds a comma, a double quote, CR
 * or LF), doubling quotes the same way, with one difference: it writes an empty string as `""` to
 * tell it from NULL, where the export writes nothing for both. Times are stored as epoch
 * milliseconds and prices as float8, so those cells are rewritten; a text cell a spreadsheet would
 * read as a formula gets csvField's leading `'` (passOn). The content cells are JSON text, which
 * starts with `{`, `[`, `"`, a letter or a digit, or is a negative number: never a formula.
 */
import { looksLikeFormula } from '../domain/csv.js';
import { toIso } from '../domain/timestamps.js';
import { COPY_COLUMNS } from '../store/search.js';
import type { RequestDetails } from '../store/types.js';
import type { Store } from '../store/store.js';
import { CHUNK_CHARS, csvHeader, detailCells, scoreCells, type ExportChunk, type ExportRequest } from './export-lines.js';

/**
 * Rows per details query; two batches are held at once (one waits for its details while the next
 * is read). Each query is a round trip that wakes PostgreSQL, so fewer, larger batches go faster,
 * for a little more memory.
 */
const BATCH_ROWS = 1000;

// Cells of a COPY row (search.ts COPY_COLUMNS): where the ones not passed on as they are sit.
const CELLS = COPY_COLUMNS.length;
const cell = (name: string) => COPY_COLUMNS.indexOf(`requests.${name}` as (typeof COPY_COLUMNS)[number]);
const START = cell('request_start_time');
const END = cell('request_end_time');
const LATENCY = cell('latency_ms');
const PRICE = cell('price');
const SPAN = cell('span_id');
const CONTENT = cell('parameters');

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;

/** A row of the COPY: its bytes and where each cell starts (cell k ends one byte before cell k + 1; the last entry is past the LF). */
interface CopyRow {
  buf: Buffer;
  at: number[];
}

// Scanner states between two bytes of a row.
const CELL_START = 0;
const UNQUOTED = 1;
const QUOTED = 2;
/** In a quoted cell, just after a quote: a second one is an escaped quote, anything else ends the cell. */
const QUOTE_SEEN = 3;

/**
 * Splits COPY's CSV into rows, across the chunks it arrives in. A row inside one chunk is that
 * chunk's bytes; a row spanning chunks is joined once, when its end has come.
 */
class RowScanner {
  private state = CELL_START;
  /** Pieces of the unfinished row, and their length. */
  private pieces: Buffer[] = [];
  private carried = 0;
  /** Cell starts of the unfinished row, relative to its first byte. */
  private at: number[] = [0];

  /** The rows that end in this chunk. */
  feed(chunk: Buffer, out: CopyRow[]): void {
    const n = chunk.length;
    let rowStart = 0;
    let i = 0;
    // Offsets in `at` are relative to the row's first byte: `base` turns a chunk offset into one.
    let base = this.carried;
    let state = this.state;
    let at = this.at;
    while (i < n) {
      switch (state) {
        case CELL_START:
          if (chunk[i] === QUOTE) {
            state = QUOTED;
            i++;
            continue;
          }
          state = UNQUOTED;
        // falls through
        case UNQUOTED: {
          let c = chunk[i]!;
          while (c !== COMMA && c !== LF) {
            if (++i === n) break;
            c = chunk[i]!;
          }
          if (i === n) continue;
          break;
        }
        case QUOTED: {
          const q = chunk.indexOf(QUOTE, i);
          if (q === -1) {
            i = n;
            continue;
          }
          i = q + 1;
          state = QUOTE_SEEN;
          continue;
        }
        case QUOTE_SEEN:
          if (chunk[i] === QUOTE) {
            state = QUOTED;
            i++;
            continue;
          }
          // The cell ended; chunk[i] is the comma or LF after it.
          break;
      }
      // chunk[i] ends a cell.
      at.push(i + 1 - rowStart + base);
      state = CELL_START;
      if (chunk[i] === LF) {
        if (at.length !== CELLS + 1) throw new Error(`a COPY row has ${at.length - 1} cells, not ${CELLS}`);
        if (this.pieces.length === 0) {
          if (rowStart !== 0) for (let k = 0; k < at.length; k++) at[k]! += rowStart;
          out.push({ buf: chunk, at });
        } else {
          this.pieces.push(chunk.subarray(0, i + 1));
          out.push({ buf: Buffer.concat(this.pieces), at });
          this.pieces = [];
        }
        rowStart = i + 1;
        base = 0;
        at = [0];
      }
      i++;
    }
    if (rowStart < n) {
      this.pieces.push(chunk.subarray(rowStart));
      this.carried = base + n - rowStart;
    } else this.carried = 0;
    this.state = state;
    this.at = at;
  }

  /** COPY ends with a whole row; anything left is a truncated copy. */
  finish(): void {
    if (this.pieces.length > 0 || this.at.length > 1) throw new Error('the COPY ended inside a row');
  }
}

/**
 * Output bytes, handed out in chunks of about CHUNK_CHARS bytes with the rows they end. Each chunk
 * is a buffer of its own (an export thread moves it to the main thread rather than copying it).
 */
class ByteChunks {
  private buf = Buffer.allocUnsafeSlow(2 * CHUNK_CHARS);
  private pos = 0;
  private rows = 0;

  get size(): number {
    return this.pos;
  }

  private room(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const bigger = Buffer.allocUnsafeSlow(Math.max(2 * this.buf.length, this.pos + bytes));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  /** ASCII text (numbers, times, separators). */
  ascii(s: string): void {
    this.room(s.length);
    this.pos += this.buf.write(s, this.pos, 'latin1');
  }

  text(s: string): void {
    this.room(3 * s.length);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  bytes(from: Buffer, start: number, end: number): void {
    this.room(end - start);
    from.copy(this.buf, this.pos, start, end);
    this.pos += end - start;
  }

  /** A record ended. */
  endRow(): void {
    this.rows++;
  }

  take(pageEnd: boolean): ExportChunk<Uint8Array> {
    const chunk = { data: new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.pos), pageEnd, rows: this.rows };
    this.buf = Buffer.allocUnsafeSlow(2 * CHUNK_CHARS);
    this.pos = 0;
    this.rows = 0;
    return chunk;
  }
}

/** The integer in a cell of ASCII digits (ids and epoch milliseconds stay below 2^53). */
function integerAt(buf: Buffer, start: number, end: number): number {
  let n = 0;
  let i = start;
  const negative = buf[i] === 0x2d;
  if (negative) i++;
  for (; i < end; i++) n = n * 10 + (buf[i]! - 0x30);
  return negative ? -n : n;
}

/** Whether cell k of the row is PostgreSQL's empty string, `""`. */
const emptyString = (r: CopyRow, k: number) => r.at[k + 1]! - r.at[k]! === 3 && r.buf[r.at[k]!] === QUOTE;

// First bytes a spreadsheet takes for a formula (csv.ts looksLikeFormula): = + - @ TAB CR.
const FORMULA_BYTES = new Set([0x3d, 0x2b, 0x2d, 0x40, 0x09, 0x0d]);

/**
 * Where cell k's text starts when it must get csvField's leading `'` (it would read as a formula),
 * or -1. Only a cell starting with one of FORMULA_BYTES is decoded, to tell `-12` from `-1+2`.
 */
function formulaAt(r: CopyRow, k: number): number {
  const start = r.at[k]!;
  const end = r.at[k + 1]! - 1;
  const quoted = r.buf[start] === QUOTE;
  const first = quoted ? start + 1 : start;
  if (first >= end || !FORMULA_BYTES.has(r.buf[first]!)) return -1;
  const text = quoted ? r.buf.toString('utf8', start + 1, end - 1).replaceAll('""', '"') : r.buf.toString('utf8', start, end);
  return looksLikeFormula(text) ? first : -1;
}

/**
 * Cells k..last of the row as they are, each followed by its comma; an empty string (`""`) as
 * nothing, and a cell a spreadsheet would read as a formula with a `'` in front, as csvField does.
 */
function passOn(out: ByteChunks, r: CopyRow, k: number, last: number): void {
  // `from`: the first byte not yet written.
  let from = r.at[k]!;
  for (let j = k; j <= last; j++) {
    if (emptyString(r, j)) {
      out.bytes(r.buf, from, r.at[j]!);
      out.ascii(',');
      from = r.at[j + 1]!;
      continue;
    }
    const at = formulaAt(r, j);
    if (at !== -1) {
      out.bytes(r.buf, from, at);
      out.ascii("'");
      from = at;
    }
  }
  out.bytes(r.buf, from, r.at[last + 1]!);
}

/** Rows of the COPY, their ids, and their details being read. */
interface Batch {
  rows: CopyRow[];
  ids: number[];
  details: Promise<Map<number, RequestDetails>>;
}

/** Writes a batch's rows as export records, with their details; returns the chunks filled. */
async function writeBatch(out: ByteChunks, { rows, ids, details }: Batch, scoreNames: string[]): Promise<ExportChunk<Uint8Array>[]> {
  const found = await details;
  const full: ExportChunk<Uint8Array>[] = [];
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k]!;
    const { buf, at } = r;
    // Every id asked for has an entry (empty when nothing is attached).
    const d = found.get(ids[k]!)!;
    out.bytes(buf, at[0]!, at[START]!);
    out.ascii(`${toIso(integerAt(buf, at[START]!, at[END]! - 1))},${toIso(integerAt(buf, at[END]!, at[LATENCY]! - 1))},`);
    passOn(out, r, LATENCY, PRICE - 1);
    out.ascii(`${String(Number(buf.toString('latin1', at[PRICE]!, at[SPAN]! - 1)))},`);
    passOn(out, r, SPAN, SPAN);
    out.text(`${detailCells(d)},`);
    // The four content cells: stored JSON text, never empty.
    out.bytes(buf, at[CONTENT]!, at[CELLS]! - 1);
    // Comments are anyone's text, not ASCII.
    out.text(`${scoreCells(d, scoreNames)}\r\n`);
    out.endRow();
    if (out.size >= CHUNK_CHARS) full.push(out.take(false));
  }
  return full;
}

/**
 * A whole CSV export read through one COPY (ExportPlan.copy), as chunks of about CHUNK_CHARS
 * bytes, the CSV header first; the last chunk is marked pageEnd.
 */
export async function* copyChunks(store: Store, { workspaceId, filter, sort }: Omit<ExportRequest, 'format'>, scoreNames: string[]): AsyncGenerator<ExportChunk<Uint8Array>> {
  const out = new ByteChunks();
  // Score names are anyone's text.
  out.text(csvHeader(scoreNames));
  const scanner = new RowScanner();
  let rows: CopyRow[] = [];
  // The batch whose details are being read while the next one is scanned.
  let waiting: Batch | null = null;
  const handOver = async function* (batch: CopyRow[]) {
    const ids = batch.map((r) => integerAt(r.buf, r.at[0]!, r.at[1]! - 1));
    const details = store.requests.details(ids, { scoreDetails: true });
    // Nobody awaits it yet (the batch before goes first); a failure surfaces when it is awaited.
    details.catch(() => {});
    const before: Batch | null = waiting;
    waiting = { rows: batch, ids, details };
    if (before) yield* await writeBatch(out, before, scoreNames);
  };
  for await (const chunk of store.requests.copyCsv(workspaceId, filter, sort)) {
    scanner.feed(chunk, rows);
    if (rows.length >= BATCH_ROWS) {
      yield* handOver(rows);
      rows = [];
    }
  }
  scanner.finish();
  if (rows.length > 0) yield* handOver(rows);
  const last: Batch | null = waiting;
  if (last) yield* await writeBatch(out, last, scoreNames);
  yield out.take(true);
}
