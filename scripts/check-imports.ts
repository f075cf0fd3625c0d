/**
 * `npm run check:imports`: fails when the modules of packages/server/src import each other in a
 * cycle, or import across the layers of DESIGN.md. dpdm reads the imports (type-only ones too: a
 * cycle of types still makes two modules that cannot be read one without the other); the layers
 * below say which imports are allowed. A module in a new top-level folder fails until its layer
 * is added here.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCircular, parseDependencyTree } from 'dpdm';

const SERVER = join(dirname(fileURLToPath(import.meta.url)), '../packages/server');

/**
 * What each layer (a folder of src/, or a module at its top) may import besides itself. Routes
 * call services and never the other way; the CLI's commands call services, never routes; the
 * store knows nothing of HTTP; the domain imports nothing.
 */
const LAYERS: Record<string, readonly string[]> = {
  domain: [],
  schemas: ['domain'],
  // The writer thread's messaging (threads.ts) sends the store's errors across threads.
  store: ['domain', 'threads.ts'],
  'threads.ts': ['domain', 'store'],
  'config.ts': ['domain'],
  'cli-settings.ts': ['config.ts'],
  // The flags `--help` lists, without the settings' schemas (their table is built into dist).
  'cli-flags.ts': ['cli-settings.ts', 'config.ts'],
  'metrics.ts': ['domain', 'store'],
  auth: ['domain', 'store'],
  ingest: ['domain', 'store'],
  search: ['domain', 'schemas', 'store'],
  // Review queues: how they fill (backfill, later matches) and what their agreement reads.
  review: ['domain', 'schemas', 'store', 'ingest', 'search'],
  export: ['domain', 'schemas', 'store', 'search', 'threads.ts'],
  // Outbox workers: webhooks and alerts read committed events and write only their own rows.
  events: ['domain', 'schemas', 'store'],
  routes: ['domain', 'schemas', 'store', 'auth', 'ingest', 'search', 'export', 'events', 'review', 'metrics.ts'],
  commands: ['domain', 'schemas', 'store', 'auth', 'config.ts', 'search', 'export', 'review'],
  'app.ts': ['domain', 'schemas', 'store', 'auth', 'ingest', 'search', 'export', 'events', 'review', 'routes', 'metrics.ts', 'config.ts'],
  'cli.ts': ['domain', 'store', 'auth', 'commands', 'config.ts', 'cli-settings.ts', 'cli-flags.ts', 'app.ts'],
};

/** The layer of `src/store/sqlite/connection.ts` is `store`; of `src/app.ts`, `app.ts`. */
const layerOf = (file: string): string => file.slice('src/'.length).split('/')[0]!;

const tree = await parseDependencyTree('src/**/*.ts', { cwd: SERVER, context: SERVER, tsconfig: join(SERVER, 'tsconfig.json'), transform: false, skipDynamicImports: false, onProgress: () => {} });
const problems: string[] = [];

for (const [file, deps] of Object.entries(tree)) {
  if (!file.startsWith('src/') || deps === null) continue;
  const from = layerOf(file);
  const allowed = LAYERS[from];
  if (!allowed) problems.push(`${file}: no layer "${from}" in scripts/check-imports.ts (add one, with what it may import)`);
  for (const dep of deps) {
    // An import that cannot be resolved would hide its edge from the checks below.
    if (dep.id === null) {
      if (dep.request.startsWith('.')) problems.push(`${file}: cannot resolve "${dep.request}"`);
      continue;
    }
    if (!dep.id.startsWith('src/')) continue;
    const to = layerOf(dep.id);
    if (allowed && to !== from && !allowed.includes(to)) problems.push(`${file} imports ${dep.id}: ${from} may not import ${to}`);
  }
}

for (const cycle of parseCircular(tree, false)) problems.push(`import cycle: ${[...cycle, cycle[0]].join(' -> ')}`);

if (problems.length > 0) {
  console.error(`packages/server: ${problems.length} import problem${problems.length === 1 ? '' : 's'}\n${problems.map((p) => `  ${p}`).join('\n')}`);
  process.exit(1);
}
console.log(`packages/server: ${Object.keys(tree).filter((f) => f.startsWith('src/')).length} modules, no import cycle, every import within its layer`);
