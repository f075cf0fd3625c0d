/**
 * Splits a byte stream into records. For JSON Lines a record is a line; for CSV a record may span
 * lines inside a quoted field, so newlines count only outside quotes. Memory holds one record at a
 * time, whatever the size of the export.
 */
export async function* records(body: ReadableStream<Uint8Array>, csv: boolean): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  const reader = body.getReader();
  let buffer = '';
  let inQuotes = false;
  let scanned = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let start = 0;
      for (let i = scanned; i < buffer.length; i++) {
        const ch = buffer[i];
        if (csv && ch === '"') inQuotes = !inQuotes;
        else if (ch === '\n' && !inQuotes) {
          const end = i > start && buffer[i - 1] === '\r' ? i - 1 : i;
          yield buffer.slice(start, end);
          start = i + 1;
        }
      }
      buffer = buffer.slice(start);
      scanned = buffer.length;
      if (done) break;
    }
    if (buffer.length > 0) yield buffer.replace(/\r$/, '');
  } finally {
    reader.releaseLock();
  }
}

/** Parses one CSV record (RFC 4180: quoted fields, doubled quotes, embedded newlines). */
export function parseCsvRecord(record: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < record.length; i++) {
    const ch = record[i]!;
    if (quoted) {
      if (ch === '"' && record[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      fields.push(field);
      field = '';
    } else field += ch;
  }
  fields.push(field);
  return fields;
}

/**
 * A running export. Read it once, in one of three ways: `rows()` (parsed objects), `lines()` (raw
 * records, e.g. to write a file), or `body` (the raw byte stream, e.g. to pipe it).
 *
 * @example
 * ```ts
 * const exp = await tally.export({ format: 'jsonl', filter: { field: 'score', name: 'quality', op: '<', value: 50 } });
 * for await (const row of exp.rows()) console.log(row.id, row.scores);
 * ```
 */
export class TallyExport {
  /** `csv` or `jsonl`, as asked. */
  readonly format: 'csv' | 'jsonl';
  /** The raw bytes as the server streams them. */
  readonly body: ReadableStream<Uint8Array>;

  constructor(format: 'csv' | 'jsonl', body: ReadableStream<Uint8Array>) {
    this.format = format;
    this.body = body;
  }

  /**
   * The records as text, without their line ends; for CSV the first is the header.
   * @example
   * ```ts
   * for await (const line of (await tally.export({ format: 'csv' })).lines()) out.write(line + '\n');
   * ```
   */
  lines(): AsyncGenerator<string> {
    return records(this.body, this.format === 'csv');
  }

  /**
   * The rows as objects: JSON Lines parsed, or CSV records keyed by the header's column names.
   * @example
   * ```ts
   * for await (const row of (await tally.export({ format: 'jsonl' })).rows()) total += Number(row.price);
   * ```
   */
  async *rows(): AsyncGenerator<Record<string, unknown>> {
    let header: string[] | null = null;
    for await (const line of this.lines()) {
      if (this.format === 'jsonl') {
        if (line.trim() !== '') yield JSON.parse(line) as Record<string, unknown>;
        continue;
      }
      const fields = parseCsvRecord(line);
      if (header === null) {
        header = fields;
        continue;
      }
      yield Object.fromEntries(header.map((name, i) => [name, fields[i] ?? '']));
    }
  }

  /**
   * The records as a web `ReadableStream` of strings (one record per chunk, no line end).
   * @example
   * ```ts
   * const reader = (await tally.export({ format: 'jsonl' })).toReadableStream().getReader();
   * ```
   */
  toReadableStream(): ReadableStream<string> {
    const it = this.lines();
    return new ReadableStream<string>({
      async pull(controller) {
        const next = await it.next();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      },
      async cancel() {
        await it.return(undefined);
      },
    });
  }
}
