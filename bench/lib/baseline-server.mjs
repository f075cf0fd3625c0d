// The baseline: the fastest a Node.js service can answer the same call. It reads the whole body,
// parses it as JSON and answers a small JSON object, as Tally does, and nothing else.
import { createServer } from 'node:http';

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let status = 200;
    let body;
    try {
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
      body = req.url === '/log-request' ? '{"id":1,"request_id":1}' : '{"success":true,"message":"score tracked"}';
      if (req.url === '/log-request') status = 201;
    } catch {
      status = 400;
      body = '{"success":false,"message":"body: is not valid JSON"}';
    }
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.listen(0, '127.0.0.1', () => {
  console.log(`Baseline listening on http://127.0.0.1:${server.address().port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
