import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { addSettingOptions, configFromOptions } from '../src/cli-settings.js';
import { ConfigError, configWith, loadConfig, SETTINGS, shownDefault, type Config, type SettingName } from '../src/config.js';
import { startServer } from './helpers/process.js';

interface Row {
  flag: string;
  variable: string;
  default: string;
}

const README = new URL('../../../README.md', import.meta.url);
const HEADER = '| flag | variable | default | meaning |';

/** The rows of the README's configuration table (the one under that exact header). */
function readmeRows(): Row[] {
  const lines = readFileSync(README, 'utf8').split('\n');
  const start = lines.indexOf(HEADER);
  assert.ok(start >= 0, `README.md has a table headed ${HEADER}`);
  const rows: Row[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const cells = line.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim());
    const code = (cell: string | undefined) => /^`([^`]+)`$/.exec(cell ?? '')?.[1];
    const flag = code(cells[0]);
    const variable = code(cells[1]);
    assert.ok(flag && variable, `a flag and a variable, each in backticks: ${line}`);
    rows.push({ flag, variable, default: cells[2] ?? '' });
  }
  assert.ok(rows.length > 0, 'the configuration table has rows');
  return rows;
}

// A valid value other than the default for each flag; a new setting needs one here.
const SAMPLES: Record<string, string> = {
  '--host': 'localhost',
  '--port': '9999',
  '--public-url': 'https://tally.example.com',
  '--data': '/srv/tally-data',
  '--database-url': 'postgres://tally@db.internal/tally',
  '--sqlite-synchronous': 'NORMAL',
  '--track-body-limit': '2048',
  '--log-body-limit': '4096',
  '--traces-body-limit': '8192',
  '--traces-max-spans': '64',
  '--queue-max-batch': '8',
  '--queue-max-pending': '100',
  '--log-level': 'warn',
  '--rate-limit-per-key': '0',
  '--auth-failures-per-minute': '5',
  '--request-timeout-ms': '5000',
  '--headers-timeout-ms': '2000',
  '--export-threads': '2',
  '--read-timeout-ms': '2500',
  '--exports-per-key': '1',
  '--exports-in-all': '8',
  '--reader-threads': '3',
  '--reads-per-workspace': '2',
  '--reads-waiting-per-workspace': '16',
  '--read-parallel-workers': '1',
  '--read-budget-ms': '5000',
  '--read-budget-window-ms': '30000',
  '--cors-origins': 'https://app.example.com',
  '--feedback-limit-per-address': '30',
  '--feedback-limit-per-token': '3',
  '--trust-proxy': '10.0.0.0/8',
  '--webhook-poll-ms': '250',
  '--webhook-backoff-ms': '500',
  '--webhook-timeout-ms': '3000',
  '--webhook-concurrency': '2',
  '--webhook-allowed-hosts': 'hooks.slack.com',
  '--alert-interval-ms': '30000',
};

/** Parses serve's flags the way `tally serve` does, with no environment. */
function parseServeFlags(args: string[]): Config {
  const cmd = addSettingOptions(new Command('serve')).exitOverride().configureOutput({ writeErr: () => {} });
  cmd.parse(args, { from: 'user' });
  return configFromOptions(cmd.opts(), {});
}

/** The settings whose value differs from the default. */
function changed(config: Config): string[] {
  const defaults = configWith();
  return (Object.keys(config) as (keyof Config)[]).filter((k) => JSON.stringify(config[k]) !== JSON.stringify(defaults[k]));
}

describe('configuration table of the README', () => {
  it('lists every setting with its flag, its variable and its default', () => {
    const rows = readmeRows();
    for (const name of Object.keys(SETTINGS) as SettingName[]) {
      const s = SETTINGS[name];
      const row = rows.find((r) => r.flag === s.flag);
      assert.ok(row, `README's configuration table has a row for ${s.flag}`);
      assert.equal(row.variable, s.env, `${s.flag}: variable`);
      const shown = shownDefault(name);
      assert.equal(row.default, shown === null ? '(none)' : `\`${shown}\``, `${s.flag}: default`);
    }
  });

  it('every row is a flag and a variable that serve reads into one setting', () => {
    for (const row of readmeRows()) {
      const sample = SAMPLES[row.flag];
      assert.ok(sample !== undefined, `a sample value for ${row.flag} in this test`);
      const byFlag = parseServeFlags([row.flag, sample]);
      const set = changed(byFlag);
      assert.equal(set.length, 1, `${row.flag} ${sample} changes one setting (changed: ${set.join(', ')})`);
      const byVariable = configFromOptions({}, { [row.variable]: sample });
      assert.deepEqual(byVariable, byFlag, `${row.variable}=${sample} sets what ${row.flag} sets`);
      // The flag wins over its variable.
      const both = addSettingOptions(new Command('serve')).exitOverride();
      both.parse([row.flag, sample], { from: 'user' });
      assert.deepEqual(configFromOptions(both.opts(), { [row.variable]: String(shownDefault(set[0] as SettingName) ?? '') }), byFlag, `${row.flag} wins over ${row.variable}`);
    }
  });

  it('tally serve starts with every flag of the table, and with every variable', async () => {
    const rows = readmeRows();
    const data = mkdtempSync(join(tmpdir(), 'tally-config-'));
    // Real values where the samples would not let a server start here.
    const real: Record<string, string | undefined> = { '--host': '127.0.0.1', '--port': '0', '--data': data, '--database-url': undefined };
    const value = (flag: string) => (flag in real ? real[flag] : SAMPLES[flag]);
    const preflight = async (url: string) =>
      fetch(`${url}/v1/requests/search`, { method: 'OPTIONS', headers: { origin: SAMPLES['--cors-origins']!, 'access-control-request-method': 'POST' } });
    try {
      const args = rows.flatMap((r) => (value(r.flag) === undefined ? [] : [r.flag, value(r.flag)!]));
      const byFlags = await startServer(args);
      try {
        assert.equal((await preflight(byFlags.url)).headers.get('access-control-allow-origin'), SAMPLES['--cors-origins']);
      } finally {
        byFlags.child.kill('SIGTERM');
        assert.equal(await byFlags.exited, 0);
      }
      const env = Object.fromEntries(rows.flatMap((r) => (value(r.flag) === undefined ? [] : [[r.variable, value(r.flag)!]])));
      // startServer passes --port 0 and --log-level; every other setting comes from the variables.
      const byVariables = await startServer([], env);
      try {
        assert.equal((await preflight(byVariables.url)).headers.get('access-control-allow-origin'), SAMPLES['--cors-origins']);
      } finally {
        byVariables.child.kill('SIGTERM');
        assert.equal(await byVariables.exited, 0);
      }
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  });
});

describe('loadConfig', () => {
  it('takes a flag over its variable over the default', () => {
    assert.equal(loadConfig({}, {}).queueMaxBatch, 256);
    assert.equal(loadConfig({}, { TALLY_QUEUE_MAX_BATCH: '32' }).queueMaxBatch, 32);
    assert.equal(loadConfig({ queueMaxBatch: '16' }, { TALLY_QUEUE_MAX_BATCH: '32' }).queueMaxBatch, 16);
  });

  it('refuses a bad setting with a message naming its flag and variable', () => {
    const refuses = (flags: Partial<Record<SettingName, unknown>>, env: NodeJS.ProcessEnv, label: RegExp) =>
      assert.throws(() => loadConfig(flags, env), (err: unknown) => err instanceof ConfigError && label.test(err.message));
    refuses({ queueMaxBatch: '0' }, {}, /^invalid setting --queue-max-batch \/ TALLY_QUEUE_MAX_BATCH: /);
    refuses({}, { TALLY_QUEUE_MAX_PENDING: 'many' }, /^invalid setting --queue-max-pending \/ TALLY_QUEUE_MAX_PENDING: .*"many"/);
    refuses({}, { TALLY_HEADERS_TIMEOUT_MS: '10' }, /--headers-timeout-ms/);
    refuses({}, { TALLY_LOG_LEVEL: 'loud' }, /--log-level \/ TALLY_LOG_LEVEL: must be one of fatal, error, warn, info, debug, silent \(got "loud"\)/);
    refuses({ sqliteSynchronous: 'OFF' }, {}, /--sqlite-synchronous \/ TALLY_SQLITE_SYNCHRONOUS: must be one of FULL, NORMAL/);
  });

  it('--trust-proxy takes addresses, CIDR ranges and named ranges, and refuses anything else', () => {
    assert.deepEqual(loadConfig({}, {}).trustProxy, []);
    assert.deepEqual(loadConfig({}, { TALLY_TRUST_PROXY: '10.0.0.1, 192.168.0.0/16,::1,fd00::/8,loopback' }).trustProxy, ['10.0.0.1', '192.168.0.0/16', '::1', 'fd00::/8', 'loopback']);
    for (const bad of ['true', '*', '10.0.0.0/33', '::/129', '10.0.0.0/8/8', 'proxy.internal', '10.0.0.256']) {
      assert.throws(
        () => loadConfig({ trustProxy: bad }, {}),
        (err: unknown) => err instanceof ConfigError && err.message.startsWith('invalid setting --trust-proxy / TALLY_TRUST_PROXY: ') && err.message.includes(JSON.stringify(bad)),
        bad,
      );
    }
  });
});
