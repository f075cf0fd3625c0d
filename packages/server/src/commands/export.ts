import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import type { SortBy } from '@tally/sdk';
import { invalidField, TallyError } from '../domain/errors.js';
import type { ExportChunk, ExportFormat } from '../export/export-lines.js';
import { ExportProgress } from './export-progress.js';
import { addFilterOptions, messageForFlags, namingFlags, parseQueryParams, queryParams, type FilterFlags } from './request-filters.js';
import { remote, remoteClient, type RemoteFlags } from './remote.js';
import type { StoreCommandHelpers } from './score.js';

interface ExportFlags extends FilterFlags, RemoteFlags {
  format: string;
  output?: string;
  workspace: string;
}

/** Waits until `out` takes more, or fails with the stream's error (a closed pipe, a full disk). */
function drained(out: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      out.off('drain', onDrain);
      out.off('error', done);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    out.once('drain', onDrain);
    out.once('error', done);
  });
}

/**
 * Writes the chunks one at a time, waiting whenever `out` is full: memory holds one chunk of the
 * source (read from the store, or records from the network) however large the export. Counts rows
 * for the progress line.
 */
async function writeChunks(chunks: AsyncIterable<ExportChunk>, out: Writable, progress: ExportProgress): Promise<void> {
  let failed: Error | null = null;
  const onError = (err: Error) => (failed = err);
  out.on('error', onError);
  try {
    for await (const { data, rows } of chunks) {
      if (failed) throw failed;
      if (data.length > 0 && !out.write(data)) await drained(out);
      progress.add(rows);
    }
    if (failed) throw failed;
  } finally {
    out.off('error', onError);
  }
}

/** The destination: stdout, or `file` written under a temporary name and renamed once complete. */
function destination(file: string | undefined): { out: Writable; commit(): Promise<void>; abandon(): Promise<void> } {
  if (file === undefined) return { out: process.stdout, commit: async () => {}, abandon: async () => {} };
  // A failed or interrupted export never leaves a truncated file under the name asked for.
  const partial = join(dirname(file), `.${basename(file)}.${process.pid}.partial`);
  const out = createWriteStream(partial, { flags: 'wx' });
  const closed = () =>
    new Promise<void>((resolve, reject) => {
      if (out.closed) return resolve();
      out.once('close', resolve);
      out.once('error', reject);
    });
  return {
    out,
    commit: async () => {
      out.end();
      await closed();
      await rename(partial, file);
    },
    abandon: async () => {
      out.destroy();
      await closed().catch(() => undefined);
      await rm(partial, { force: true });
    },
  };
}

/** Records from a server as chunks of one, each with its line end (a CSV header is not a row). */
async function* recordChunks(lines: AsyncIterable<string>, eol: string, csv: boolean): AsyncGenerator<ExportChunk> {
  let header = csv;
  for await (const line of lines) {
    yield { data: line + eol, pageEnd: false, rows: header ? 0 : 1 };
    header = false;
  }
}

/**
 * `tally export --format csv|jsonl [filters] [-o FILE]`: every matching request, streamed in
 * constant memory as CSV (RFC 4180, one `score:NAME` column per score name) or JSON Lines, exactly
 * as `GET /v1/requests/export` sends it, to stdout or FILE. On a terminal, stderr shows the rows
 * written and their rate (and a bar with the total when reading a store); elsewhere nothing. Reads
 * the store selected by `--data` / `--database-url` (the server's own export code), or a server
 * with `--url` and `--key` (the SDK's export stream). Filters as for `tally requests search`.
 *
 * @example
 * ```sh
 * tally export --format csv --tag prod --from 2024-11-01 -o prod-november.csv
 * tally export --format jsonl --score 'quality<50' --url http://127.0.0.1:8787 --key tl_... | jq .id
 * ```
 */
export function registerExportCommand<F extends object>(program: Command, helpers: StoreCommandHelpers<F>): void {
  helpers
    .withStoreOptions(
      addFilterOptions(
        program
          .command('export')
          .description('export matching requests as CSV or JSON Lines (streamed; a progress line on a terminal)')
          .option('--format <format>', 'csv or jsonl', 'csv')
          .option('-o, --output <file>', 'write to FILE (complete or not at all) instead of stdout'),
      )
        .option('--workspace <name>', 'workspace to export (store mode)', 'default')
        .option('--url <url>', 'a running Tally server instead of the store (env TALLY_BASE_URL)')
        .option('--key <key>', 'API key for --url (env TALLY_API_KEY)'),
    )
    .action(async (flags: ExportFlags & F) => {
      if (flags.format !== 'csv' && flags.format !== 'jsonl') throw invalidField('--format', 'must be "csv" or "jsonl"');
      const format: ExportFormat = flags.format;
      const params = namingFlags(() => queryParams(flags));
      const { filter, sort } = parseQueryParams(params);
      const progress = new ExportProgress(process.stderr);

      const run = async (chunks: AsyncIterable<ExportChunk>) => {
        const dest = destination(flags.output);
        try {
          await writeChunks(chunks, dest.out, progress);
          await dest.commit();
        } catch (err) {
          await dest.abandon();
          // A reader that stops early (`| head`) is not a failure of the export.
          if ((err as NodeJS.ErrnoException).code === 'EPIPE') return;
          throw err;
        } finally {
          progress.finish();
        }
        if (flags.output !== undefined) console.log(`exported ${progress.rows} request${progress.rows === 1 ? '' : 's'} to ${flags.output}`);
      };

      const tally = await remoteClient(flags);
      if (tally) {
        const { sort_by, sort_order, ...where } = params;
        const exp = await remote(
          () => tally.export({ format, where, sort_by: sort_by as SortBy | undefined, sort_order: sort_order as 'asc' | 'desc' | undefined }),
          messageForFlags,
        );
        // The SDK hands records without their line ends; the server ends CSV records in CRLF.
        await remote(() => run(recordChunks(exp.lines(), format === 'csv' ? '\r\n' : '\n', format === 'csv')));
        return;
      }
      await helpers.withStore(flags, async (store) => {
        const ws = await store.workspaces.find(flags.workspace);
        if (!ws) throw new TallyError('not_found', `--workspace: no workspace named "${flags.workspace}"`);
        // The total costs one COUNT query, worth it only when someone watches the bar.
        if (progress.enabled) progress.setTotal(await store.requests.count(ws.id, filter));
        // The export code (Kysely, worker threads) is loaded when an export runs, not for `--help`.
        const { wholeExport } = await import('../export/export-chunks.js');
        await run(await wholeExport(store, { workspaceId: ws.id, filter, sort, format }));
      });
    });
}
