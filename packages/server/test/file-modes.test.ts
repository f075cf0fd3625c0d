import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openStore } from '../src/store/open-store.js';
import { backupSqlite, holdInUseLock, restoreSqlite } from '../src/store/sqlite/sqlite-backup.js';
import { BACKENDS } from './helpers/backends.js';

const modeOf = (file: string) => statSync(file).mode & 0o777;
const octal = (mode: number) => mode.toString(8).padStart(3, '0');

if (BACKENDS.includes('sqlite')) {
  describe('data files are readable by their owner only [sqlite]', () => {
    // 022 is the common default (files 0644, readable by every local user); 000 leaves what the code asks as it is.
    for (const umask of [0o022, 0o000]) {
      it(`creates the store, its WAL and shared memory, its lock files, backups and restores with 0600 under umask ${octal(umask)}`, async () => {
        const root = mkdtempSync(join(tmpdir(), 'tally-modes-'));
        const previous = process.umask(umask);
        try {
          const dataDir = join(root, 'data');
          const store = await openStore({ dataDir });
          const release = holdInUseLock(join(dataDir, 'tally.db'));
          try {
            const ws = await store.workspaces.create('modes');
            assert.ok(ws.id > 0);
            const files = readdirSync(dataDir);
            for (const f of ['tally.db', 'tally.db-wal', 'tally.db-shm']) assert.ok(files.includes(f), `${f} exists: ${files.join(', ')}`);
            for (const f of files) assert.equal(octal(modeOf(join(dataDir, f))), '600', f);
            assert.equal(octal(modeOf(dataDir)), '700', 'the data folder Tally made');
            const backup = join(root, 'backup.db');
            await backupSqlite(join(dataDir, 'tally.db'), backup);
            assert.equal(octal(modeOf(backup)), '600', 'the backup');
          } finally {
            release();
            await store.close();
          }
          const restoredDir = join(root, 'restored');
          await restoreSqlite(join(root, 'backup.db'), join(restoredDir, 'tally.db'));
          for (const f of readdirSync(restoredDir)) assert.equal(octal(modeOf(join(restoredDir, f))), '600', `restored ${f}`);
        } finally {
          process.umask(previous);
          rmSync(root, { recursive: true, force: true });
        }
      });
    }
  });
}
