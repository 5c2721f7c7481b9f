/**
 * A webhook receiver for the `events` section, in a child process of its own (so it never
 * shares an event loop with Cairn's delivery worker): answers every POST 200 at once, counts
 * requests and distinct `webhook-id`s.
 *
 * Messages in: {type: 'count'}, {type: 'reset'}. Out: {type: 'ready', port}, {type: 'count', requests, unique}.
 */
import { createServer } from 'node:http';

let requests = 0;
let ids = new Set<string>();

const server = createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    requests++;
    const id = req.headers['webhook-id'];
    if (typeof id === 'string') ids.add(id);
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
});
server.keepAliveTimeout = 60_000;

process.on('message', (m: { type: string }) => {
  if (m.type === 'count') process.send?.({ type: 'count', requests, unique: ids.size });
  else if (m.type === 'reset') {
    requests = 0;
    ids = new Set();
    process.send?.({ type: 'count', requests, unique: 0 });
  }
});
process.on('disconnect', () => process.exit(0));

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.send?.({ type: 'ready', port: typeof address === 'object' && address ? address.port : 0 });
});
