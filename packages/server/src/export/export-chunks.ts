/**
 * An export's chunks, read the way its plan says (ExportPlan.copy): through one COPY
 * (export-copy.ts) or in pages (export-lines.ts). Export threads send them to the event loop; an
 * export that finds no free thread, and `tally export` on a store, write them where they run.
 */
import type { Store } from '../store/store.js';
import { copyChunks } from './export-copy.js';
import { exportPlan, partChunks, WHOLE, type ExportChunk, type ExportPart, type ExportPlan, type ExportRequest } from './export-lines.js';

/** One part of a planned export (the whole of it when not split), as chunks; part 0 starts with the CSV header. */
export function exportChunks(store: Store, req: ExportRequest, plan: ExportPlan, part: ExportPart = WHOLE): AsyncGenerator<ExportChunk> {
  return plan.copy ? copyChunks(store, req, plan.scoreNames) : partChunks(store, req, plan, part);
}

/**
 * The whole export of every matching request on this thread: CSV (RFC 4180, CRLF; a header, then
 * one record per request, one `score:NAME` column per score name present) or JSON Lines (one
 * request per line, as `GET /v1/requests/{id}` shows it). Resolves once planned: the plan's
 * queries have run, so what can be refused (a database out of reach) has been before any byte.
 * Pulled lazily, so memory stays constant.
 */
export async function wholeExport(store: Store, req: ExportRequest): Promise<AsyncGenerator<ExportChunk>> {
  const plan = await exportPlan(store, req, 1);
  return exportChunks(store, req, plan);
}
