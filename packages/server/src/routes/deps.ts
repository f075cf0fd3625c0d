import type { FastifyRequest } from 'fastify';
import type { WriteQueue } from '../ingest/write-queue.js';
import type { Store } from '../store/store.js';
import type { ExportSlots } from './export-slots.js';

/** What every route plugin is handed by `buildApp`. */
export interface RouteDeps {
  store: Store;
  queue: WriteQueue;
  /** The preValidation hook that authenticates an API key and sets `request.auth`. */
  auth: (request: FastifyRequest) => Promise<void>;
  trackBodyLimit: number;
  logBodyLimit: number;
  /** Threads one export is split among. */
  exportThreads: number;
  /** Exports streaming now, capped per key and in all. */
  exportSlots: ExportSlots;
}
