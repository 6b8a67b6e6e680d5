/**
 * The API that `executor-overhead.ts` calls, in a child process of its own (why: see there). A node:http
 * server answering `GET /2/people/@me/@self` with a fixed 80-byte JSON when the request carries exactly
 * the expected `Authorization` header and no `access_token` parameter, and 400 otherwise, so a broken run
 * cannot look fast. `GET /_stats` answers the requests served and this process's CPU time so far.
 *
 * Run: node <tsNodeArgs> executor-overhead-server.ts '<expected Authorization value>'
 * Prints `{"port":N}` on stdout once listening; exits when its stdin closes (the parent is gone).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const expected = process.argv[2];
if (expected === undefined) throw new RangeError('usage: executor-overhead-server.ts <expected Authorization value>');

const body = JSON.stringify({ entry: { id: 'bench-user', displayName: 'Bench', thumbnailUrl: 'https://x/t.png' } });
const length = Buffer.byteLength(body);
let served = 0;
let connections = 0;

const server = createServer((req, res) => {
  if (req.url === '/_stats') {
    const cpu = process.cpuUsage();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ served, connections, cpuUs: cpu.user + cpu.system }));
    return;
  }
  if (req.headers.authorization !== expected || req.url !== '/2/people/@me/@self') {
    res.writeHead(400).end();
    return;
  }
  served++;
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': length });
  res.end(body);
});
server.on('connection', () => connections++);
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.stdin.on('end', () => process.exit(0)).resume();
