'use strict';
/**
 * Loaded into a `tally serve` process with `--require` (through NODE_OPTIONS) when
 * TALLY_COMMIT_SPY_DIR is set: durability.test.ts uses it to see what kill -9 cannot, the setting
 * each COMMIT runs under and whether an answer waits for its COMMIT. CommonJS on purpose: a
 * `--require` preload also runs in worker threads (an `--import` one does not), and SQLite's
 * writer thread is where the COMMITs to watch happen.
 *
 * A PostgreSQL statement that runs outside BEGIN ... COMMIT and commits on its own (a batch of
 * logged requests: store/postgres/request-run.ts) is a COMMIT here: it is the one statement that
 * takes the write-order lock without a BEGIN before it.
 *
 * For every COMMIT it appends one JSON line to `<dir>/commits.log`: the engine, the thread, and
 * the connection's own setting read just before the COMMIT (SQLite `PRAGMA synchronous`,
 * PostgreSQL `synchronous_commit`). While `<dir>/hold` exists, a COMMIT of the writer (SQLite's
 * writer thread; any PostgreSQL client) waits before running, after appending a line to
 * `<dir>/held`: the test can then check that no answer goes out while its COMMIT has not returned.
 */
const { appendFileSync, existsSync } = require('node:fs');
const { join } = require('node:path');
const { isMainThread, threadId } = require('node:worker_threads');

const dir = process.env.TALLY_COMMIT_SPY_DIR;
if (dir) {
  const log = (entry) => appendFileSync(join(dir, 'commits.log'), `${JSON.stringify({ ...entry, thread: isMainThread ? 'main' : `worker ${threadId}` })}\n`);
  const holdFile = join(dir, 'hold');
  const isCommit = (text) => typeof text === 'string' && /^\s*(commit|end)\b/i.test(text);
  const commitsAlone = (text) => typeof text === 'string' && /pg_advisory_xact_lock/.test(text) && !/^\s*begin\b/i.test(text);

  const SQLite = require('better-sqlite3');
  const pause = new Int32Array(new SharedArrayBuffer(4));
  /** Runs before a SQLite COMMIT on `conn`: logs its setting, then waits out a hold (writer thread only). */
  const beforeSqliteCommit = (conn) => {
    log({ engine: 'sqlite', synchronous: conn.pragma('synchronous', { simple: true }) });
    if (isMainThread || !existsSync(holdFile)) return;
    appendFileSync(join(dir, 'held'), 'sqlite\n');
    while (existsSync(holdFile)) Atomics.wait(pause, 0, 0, 5);
  };
  const prepare = SQLite.prototype.prepare;
  SQLite.prototype.prepare = function (source, ...rest) {
    const stmt = prepare.call(this, source, ...rest);
    if (!isCommit(source)) return stmt;
    const conn = this;
    const run = stmt.run;
    stmt.run = function (...args) {
      beforeSqliteCommit(conn);
      return run.apply(this, args);
    };
    return stmt;
  };
  const exec = SQLite.prototype.exec;
  SQLite.prototype.exec = function (source) {
    if (typeof source === 'string' && /\bcommit\s*;?\s*$/i.test(source)) beforeSqliteCommit(this);
    return exec.call(this, source);
  };

  const pg = require('pg');
  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function (config, values, callback) {
    const text = typeof config === 'string' ? config : config && config.text;
    if (!(isCommit(text) || commitsAlone(text)) || typeof values === 'function' || typeof callback === 'function') return query.call(this, config, values, callback);
    return (async () => {
      const setting = await query.call(this, 'show synchronous_commit');
      log({ engine: 'postgres', synchronous_commit: setting.rows[0].synchronous_commit });
      if (existsSync(holdFile)) {
        appendFileSync(join(dir, 'held'), 'postgres\n');
        while (existsSync(holdFile)) await new Promise((r) => setTimeout(r, 5));
      }
      return query.call(this, config, values);
    })();
  };
}
