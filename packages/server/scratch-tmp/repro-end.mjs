import pg from 'pg';
const c = new pg.Client({ connectionString: 'postgres://root@127.0.0.1:5432/test' });
await c.connect();
await c.query('LISTEN x');
c.connection.stream.unref();
let done = false;
process.on('exit', () => { if (!done) console.log('EXIT BEFORE END'); });
await c.end();
done = true;
