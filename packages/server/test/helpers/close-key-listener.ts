/**
 * Run as its own process by key-cache.test.ts: listens for key changes on the PostgreSQL given as
 * argument, then closes the listener with nothing else left to run, and says whether close() ended.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { KeyChangeListener } from '../../src/store/postgres/key-change-listener.js';

const listener = new KeyChangeListener(process.argv[2]!);
const deadline = Date.now() + 10_000;
while (listener.token() === null) {
  if (Date.now() > deadline) throw new Error('never listening');
  await sleep(20);
}
await listener.close();
console.log('closed');
