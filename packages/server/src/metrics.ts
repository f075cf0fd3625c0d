import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { TallyError } from './domain/errors.js';
import { DatabaseUnavailableError } from './store/database-errors.js';

/** The service's Prometheus metrics, in a registry of their own per app (tests build many apps). */
export interface Metrics {
  registry: Registry;
  /** Call with the size of each write batch as it commits. */
  observeBatch(size: number): void;
  /** Count a database failure: `problem` is DatabaseUnavailableError's, or `other`. */
  databaseError(problem: string): void;
  /** Count spans of OTLP exports by what became of them: `logged`, `duplicate`, `not_llm` or `invalid`. */
  spans(outcome: SpanOutcomeLabel, count: number): void;
}

export type SpanOutcomeLabel = 'logged' | 'duplicate' | 'not_llm' | 'invalid';

export interface MetricsOptions {
  /** Depth of the write queue, read at scrape time. */
  queueDepth: () => number;
  /** Process metrics (CPU, memory, event loop lag); the CLI turns them on, tests leave them off. */
  processMetrics?: boolean;
}

export function createMetrics(opts: MetricsOptions): Metrics {
  const registry = new Registry();
  if (opts.processMetrics) collectDefaultMetrics({ register: registry, prefix: 'tally_' });
  const batchSizes = new Histogram({
    name: 'tally_write_batch_size',
    help: 'Writes committed together in one transaction by the write queue',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
    registers: [registry],
  });
  new Gauge({
    name: 'tally_write_queue_depth',
    help: 'Writes waiting for the next transaction',
    registers: [registry],
    collect() {
      this.set(opts.queueDepth());
    },
  });
  const dbErrors = new Counter({
    name: 'tally_database_errors_total',
    help: 'Requests failed by the database (outage, read-only or full disk, other errors)',
    labelNames: ['problem'],
    registers: [registry],
  });
  const spanCounts = new Counter({
    name: 'tally_otlp_spans_total',
    help: 'Spans received on POST /v1/traces, by outcome: logged (became a request), duplicate (already stored), not_llm and invalid (dropped)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  // Every outcome from the start, so a rate over them needs no series to appear first.
  for (const outcome of ['logged', 'duplicate', 'not_llm', 'invalid'] as const) spanCounts.inc({ outcome }, 0);
  return {
    registry,
    observeBatch: (size) => batchSizes.observe(size),
    databaseError: (problem) => dbErrors.inc({ problem }),
    spans: (outcome, count) => {
      if (count > 0) spanCounts.inc({ outcome }, count);
    },
  };
}

/**
 * Request counts and latency by route pattern (never the raw URL, so ids do not explode the label
 * set) and status, plus database errors seen by requests.
 */
export function instrumentRequests(app: FastifyInstance, metrics: Metrics): void {
  const labelNames = ['method', 'route', 'status'] as const;
  const requests = new Counter({ name: 'tally_http_requests_total', help: 'HTTP requests answered', labelNames, registers: [metrics.registry] });
  const latency = new Histogram({
    name: 'tally_http_request_duration_seconds',
    help: 'Time from request received to response sent',
    labelNames,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [metrics.registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    const labels = { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) };
    requests.inc(labels);
    latency.observe(labels, reply.elapsedTime / 1000);
  });
  app.addHook('onError', async (_request, _reply, err) => {
    if (err instanceof DatabaseUnavailableError) metrics.databaseError(err.problem);
    // Unknown errors (the fixed 500 body) are most often the database's too.
    else if (!(err instanceof TallyError) && !err.validation && (err.statusCode ?? 500) >= 500) metrics.databaseError('unclassified');
  });
}
