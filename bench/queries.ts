/**
 * Query benchmark (`npm run bench:queries`) on a store filled by `npm run bench:seed`: the reads
 * the dashboard and API users run, each repeated and reported as a median, in-process through the
 * HTTP app (routing, validation and serialization included). The by-id read measured in the same
 * run is the baseline every other median is also given against. Then CSV exports of every row
 * from a real server process (3 by default, one after another): rows per second, rows per second
 * of server CPU, and the server's peak RSS over them. Prints the medians and writes them, with
 * every run's figures, as JSON under bench/results/.
 *
 *   npm run bench:queries -- [--data ./bench-data] [--database-url URL] [--runs 7] [--export-runs 3] [--export-threads 1] [--skip REGEX] [--skip-export]
 *
 * `--skip` leaves out the queries whose description matches (e.g. one known to run for minutes
 * before a fix); the by-id baseline always runs.
 */
import { get as httpGet } from 'node:http';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildApp } from '../packages/server/src/app.js';
import { configWith } from '../packages/server/src/config.js';
import { generateApiKey } from '../packages/server/src/auth/api-keys.js';
import { openStore } from '../packages/server/src/store/open-store.js';
import { ROOT, cpuNow, cpuUsed, median, startProcess, watchRss, writeResults } from './lib/processes.js';

const { values: opts } = parseArgs({
  options: {
    data: { type: 'string', default: join(ROOT, 'bench-data') },
    'database-url': { type: 'string' },
    workspace: { type: 'string', default: 'default' },
    runs: { type: 'string', default: '7' },
    'export-runs': { type: 'string', default: '3' },
    'export-threads': { type: 'string', default: '1' },
    'skip-export': { type: 'boolean', default: false },
    skip: { type: 'string' },
  },
});
const RUNS = Number(opts.runs);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(`--runs must be a positive integer, not ${opts.runs}`);
const EXPORT_RUNS = Number(opts['export-runs']);
if (!Number.isInteger(EXPORT_RUNS) || EXPORT_RUNS < 1) throw new Error(`--export-runs must be a positive integer, not ${opts['export-runs']}`);
const SKIP = opts.skip ? new RegExp(opts.skip, 'i') : null;

/**
 * The heaviest text filter a client may send on the seeded data: 20 OR'd terms of 256 characters
 * whose trigrams the index is asked for are common (so each row is tested, not looked up) and
 * which no row holds (so the walk never finds a page): every row is tested 40 times until the
 * read deadline stops it.
 */
const HEAVIEST_FILTER = {
  logic: 'or',
  filters: Array.from({ length: 20 }, (_, i) => ({
    field: 'text',
    op: 'contains',
    value: `the report shows steady ${String(i).padStart(2, '0')}${' growth in every region'.repeat(10)}`.slice(0, 256 - 6) + ' churn',
  })),
};

async function main() {
  const store = await openStore({ dataDir: opts.data!, databaseUrl: opts['database-url'] });
  const ws = await store.workspaces.find(opts.workspace!);
  if (!ws) throw new Error(`no workspace "${opts.workspace}": run npm run bench:seed first`);
  const { key, display, hash } = generateApiKey();
  await store.keys.create({ workspaceId: ws.id, label: 'bench queries', prefix: display, secretHash: hash });
  const app = await buildApp(configWith({ rateLimitPerKey: 0 }), { store, logger: false });
  // Queries that may run into the read deadline (503) by design: the heaviest filters.
  const mayTimeOut = new Set<string>();
  const get = async (url: string) => {
    const res = await app.inject({ method: 'GET', url, headers: { 'x-api-key': key } });
    if (res.statusCode === 503 && mayTimeOut.has(url)) return {};
    if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body.slice(0, 300)}`);
    return res.json() as Record<string, unknown>;
  };
  const total = ((await get('/v1/requests/search?limit=1')) as { items: { id: number }[] }).items[0]?.id ?? 0;
  console.log(`query benchmark on ${store.backend}: newest request id ${total}, ${RUNS} runs each, medians`);

  // The cursor of a search's page 101, found by walking (not timed).
  const page101 = async (search: string): Promise<string> => {
    let cursor: string | null = null;
    for (let page = 0; page < 100; page++) {
      const body = (await get(cursor ? `${search}&cursor=${encodeURIComponent(cursor)}` : search)) as { next_cursor: string | null };
      cursor = body.next_cursor;
      if (!cursor) throw new Error(`${search} has fewer than ${page + 1} pages: seed more requests`);
    }
    return `${search}&cursor=${encodeURIComponent(cursor!)}`;
  };
  const range = '/v1/requests/search?score.quality=between:40,60&sort_by=score.quality&sort_order=desc&limit=50';
  const mid = Math.floor(total / 2);
  const from = new Date(Date.UTC(2026, 3, 1)).toISOString();
  const to = new Date(Date.UTC(2026, 3, 8)).toISOString();
  const month = `/v1/requests/search?from=${from}&to=${new Date(Date.UTC(2026, 4, 1)).toISOString()}&limit=50`;
  // A url, or how to find it when finding it is work of its own (walking to page 101): only done
  // for queries not skipped, so an export-only run need not walk any search.
  const queries: [string, string | (() => Promise<string>)][] = [
    ['one request by id (baseline)', `/v1/requests/${mid}`],
    ['score range sorted by score, first page of 50', range],
    ['score range sorted by score, page 101', () => page101(range)],
    ['tag plus a one-week time range, page of 50', `/v1/requests/search?tag=eu&from=${from}&to=${to}&limit=50`],
    ['a one-month time range, page 101', () => page101(month)],
    // The dashboard's request log as it opens, and review mode's default queue.
    ['request log: newest first, page of 50', '/v1/requests/search?limit=50'],
    ['request log: one model, sorted by latency, page of 50', '/v1/requests/search?model=gpt-4o&sort_by=latency_ms&sort_order=desc&limit=50'],
    ['review queue: no "quality" score yet, page of 50', '/v1/requests/search?no_score=quality&limit=50'],
    ['stats for one score name over all rows', '/v1/scores/stats?name=quality'],
    ['stats for one name grouped by prompt version', '/v1/scores/stats?name=quality&group_by=prompt'],
    ['compare prompt version 1 with 3', '/v1/scores/compare?name=quality&a.prompt_version=1&b.prompt_version=3'],
    // A filter the score totals cannot answer (a time range): it joins scores with requests.
    ['stats for one name over one month (join)', `/v1/scores/stats?name=quality&from=${from}&to=${new Date(Date.UTC(2026, 4, 1)).toISOString()}`],
    ['stats for one name grouped by model', '/v1/scores/stats?name=quality&group_by=model'],
    // Text search: a word every request holds (tested row by row in time order), a word none
    // holds (looked up in the text index), and the heaviest text filter a client may send
    // (20 OR'd terms of 256 characters), which runs into the read deadline.
    ['text search for a common word, page of 50', '/v1/requests/search?q=growth&limit=50'],
    ['text search for a rare word, page of 50', '/v1/requests/search?q=zebrafish&limit=50'],
    ['text search for a two-word phrase, page of 50', '/v1/requests/search?q=churn%20down&limit=50'],
    ['heaviest text filter (20 x 256 characters)', `/v1/requests/search?limit=50&filter=${encodeURIComponent(JSON.stringify(HEAVIEST_FILTER))}`],
  ];
  mayTimeOut.add(queries[queries.length - 1]![1] as string);
  const results: { what: string; url: string; ms: number; ratioToById: number; runsMs: number[]; loopMaxMs: number; loopBusyMs: number }[] = [];
  // The longest the event loop was held while each query ran (perf_hooks, 10 ms resolution).
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const skipped: string[] = [];
  for (const [what, where] of queries) {
    if (SKIP && results.length > 0 && SKIP.test(what)) {
      skipped.push(what);
      console.log(`  ${what.padEnd(48)}   skipped`);
      continue;
    }
    const url = typeof where === 'string' ? where : await where();
    await get(url); // warm-up: caches and prepared statements, as on a running server
    const times: number[] = [];
    loop.reset();
    const elu = performance.eventLoopUtilization();
    for (let i = 0; i < RUNS; i++) {
      const t0 = process.hrtime.bigint();
      await get(url);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const ms = median(times);
    const ratioToById = ms / (results[0]?.ms ?? ms);
    // The largest delay of a timer due every 10 ms: how long something held the event loop.
    // On a machine whose cores are shared, that delay also counts the time the idle thread waited
    // to be scheduled; the loop's active time per run (event-loop utilization) does not.
    const loopMaxMs = loop.max / 1e6;
    const loopBusyMs = performance.eventLoopUtilization(elu).active / RUNS;
    results.push({ what, url, ms, ratioToById, runsMs: times, loopMaxMs, loopBusyMs });
    console.log(`  ${what.padEnd(48)} ${ms.toFixed(2).padStart(9)} ms  ${ratioToById.toFixed(1).padStart(7)}x by-id  event loop: held at most ${loopMaxMs.toFixed(0)} ms, busy ${loopBusyMs.toFixed(1)} ms a run`);
  }
  loop.disable();
  const backend = store.backend;
  await app.close();
  await store.close();

  type ExportRun = {
    rows: number;
    megabytes: number;
    seconds: number;
    rowsPerSecond: number;
    serverCpuSeconds: number;
    rowsPerCpuSecond: number;
    /** CPU microseconds per exported row: the server's main thread, all its threads, PostgreSQL's processes, the client reading the body. */
    cpuPerRowUs: { serverMain: number; server: number; postgres: number; client: number };
  };
  let exported: { exportThreads: number; runs: ExportRun[]; medianRowsPerSecond: number; medianRowsPerCpuSecond: number; peakRssMB: number } | null = null;
  if (!opts['skip-export']) {
    const args = [join(ROOT, 'packages/server/bin/tally.js'), 'serve', '--port', '0', '--log-level', 'warn', '--data', opts.data!, '--export-threads', opts['export-threads']!];
    if (opts['database-url']) args.push('--database-url', opts['database-url']);
    const server = await startProcess('tally', args);
    const rss = watchRss(server.child.pid!);
    const runs: ExportRun[] = [];
    for (let run = 1; run <= EXPORT_RUNS; run++) {
      // Wall time depends on whether the database file is in the page cache (on this VM an uncached
      // pass reads 2.9 GB at about 250 MB/s, and the queries above push much of it out); the
      // server's CPU per row moves less.
      const pid = server.child.pid!;
      const cpu0 = cpuNow(pid, opts['database-url'] !== undefined);
      const t0 = Date.now();
      // node:http, not fetch: fetch's web stream read the 1.5 GB body at a third of curl's speed and
      // made the client the bottleneck.
      let lines = 0;
      let bytes = 0;
      await new Promise<void>((resolve, reject) => {
        const req = httpGet(`${server.url}/v1/requests/export?format=csv`, { headers: { 'x-api-key': key } }, (res) => {
          if (res.statusCode !== 200) return reject(new Error(`export: ${res.statusCode}`));
          res.on('data', (chunk: Buffer) => {
            bytes += chunk.length;
            // Count records, not lines: quoted prompt text may hold newlines (the seeded bodies do not).
            for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines++;
          });
          res.on('end', resolve);
          res.on('error', reject);
        });
        req.on('error', reject);
      });
      const seconds = (Date.now() - t0) / 1000;
      const used = cpuUsed(cpu0, cpuNow(pid, opts['database-url'] !== undefined));
      const serverCpu = used.server;
      const rows = lines - 1;
      const perRow = (s: number) => Math.round((s / rows) * 1e7) / 10;
      const r: ExportRun = {
        rows,
        megabytes: Math.round(bytes / 1048576),
        seconds,
        rowsPerSecond: Math.round(rows / seconds),
        serverCpuSeconds: serverCpu,
        rowsPerCpuSecond: Math.round(rows / serverCpu),
        cpuPerRowUs: { serverMain: perRow(used.main), server: perRow(used.server), postgres: perRow(used.pg), client: perRow(used.client) },
      };
      runs.push(r);
      console.log(
        `  export all rows as CSV, run ${run}: ${rows.toLocaleString('en-US')} rows, ${r.megabytes} MB in ${seconds.toFixed(1)} s = ${r.rowsPerSecond.toLocaleString('en-US')} rows/s; ` +
          `server CPU ${serverCpu.toFixed(1)} s = ${r.rowsPerCpuSecond.toLocaleString('en-US')} rows per CPU second`,
      );
      const c = r.cpuPerRowUs;
      console.log(
        `    CPU per row: server ${c.server} µs (main thread ${c.serverMain}), PostgreSQL ${c.postgres}, client ${c.client}; ` +
          `cores busy ${((used.server + used.pg + used.client) / seconds).toFixed(2)}`,
      );
    }
    const peak = rss.stop();
    await server.stop();
    exported = {
      exportThreads: Number(opts['export-threads']),
      runs,
      medianRowsPerSecond: median(runs.map((r) => r.rowsPerSecond)),
      medianRowsPerCpuSecond: median(runs.map((r) => r.rowsPerCpuSecond)),
      peakRssMB: Math.round(peak / 1048576),
    };
    console.log(
      `  export all rows as CSV on ${exported.exportThreads} thread(s), median of ${EXPORT_RUNS}: ${exported.medianRowsPerSecond.toLocaleString('en-US')} rows/s, ` +
        `${exported.medianRowsPerCpuSecond.toLocaleString('en-US')} rows per CPU second; server peak RSS over all runs ${exported.peakRssMB} MB`,
    );
  }

  const file = writeResults(`queries-${backend}`, { backend, newestRequestId: total, runs: RUNS, queries: results, skipped, export: exported });
  console.log(`written to ${file}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
