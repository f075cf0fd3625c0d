import pg from 'pg';

export const KEY_CHANGE_CHANNEL = 'tally_api_keys';
const RECONNECT_MS = 1000;

/**
 * Listens for API key changes announced by any Tally process on the same PostgreSQL (NOTIFY in the
 * revoking transaction). `token()` moves with every announcement and with every reconnection
 * (announcements may have been missed while disconnected), and is null while not listening, so
 * nothing is served from memory then. Connects on first use.
 */
export class KeyChangeListener {
  private client: pg.Client | null = null;
  private listening = false;
  private counter = 0;
  private closed = false;
  private retry: NodeJS.Timeout | null = null;

  constructor(private readonly connectionString: string) {}

  token(): number | null {
    if (!this.client && !this.retry && !this.closed) this.connect();
    return this.listening ? this.counter : null;
  }

  private connect(): void {
    const client = new pg.Client({ connectionString: this.connectionString, connectionTimeoutMillis: 3000 });
    this.client = client;
    const lost = () => {
      if (this.client !== client) return;
      this.listening = false;
      this.client = null;
      this.counter++;
      client.end().catch(() => {});
      if (!this.closed) this.retry = setTimeout(() => ((this.retry = null), this.connect()), RECONNECT_MS).unref();
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', () => this.counter++);
    client
      .connect()
      .then(() => client.query(`LISTEN ${KEY_CHANGE_CHANNEL}`))
      .then(() => {
        if (this.client !== client) return;
        this.counter++;
        this.listening = true;
      }, lost);
    // The listener must never keep the process alive by itself. pg has no public unref, so this
    // reaches its socket through `connection.stream` (not public API: a pg upgrade may need a look).
    socketOf(client)?.unref?.();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    const client = this.client;
    this.client = null;
    this.listening = false;
    if (!client) return;
    // Ending waits for the server to close the connection; an unreferenced socket would let the
    // process's event loop finish first, leaving close() pending forever when nothing else runs.
    socketOf(client)?.ref?.();
    await client.end().catch(() => {});
  }
}

function socketOf(client: pg.Client): { ref?(): void; unref?(): void } | undefined {
  return (client as unknown as { connection?: { stream?: { ref?(): void; unref?(): void } } }).connection?.stream;
}
