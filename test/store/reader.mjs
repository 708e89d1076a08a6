// Test worker: runs list- and stats-like foldl loops over a cache file until
// stdin closes, then prints a JSON summary. Any error exits non-zero.
// Usage: node reader.mjs FILE
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { openStore } = await import(path.join(root, 'dist/lib/store/open.js'));

const store = await openStore(process.argv[2]);
let stop = false;
process.stdin.on('end', () => { stop = true; });
process.stdin.on('close', () => { stop = true; });
process.stdin.resume();

let loops = 0;
let maxSeen = 0;
while (!stop) {
  // "list": every key, each once.
  const keys = await store.foldl((e, acc) => { acc.add(e.key); return acc; }, new Set());
  // "stats": sizes and protocols, constant memory.
  const stats = await store.foldl((e, acc) => { acc.n += 1; acc.bytes += e.der.length; return acc; }, { n: 0, bytes: 0 });
  await store.size();
  await store.counters();
  if (keys.size < maxSeen) throw new Error(`a fold saw ${keys.size} entries after one saw ${maxSeen}`);
  maxSeen = keys.size;
  if (stats.n < keys.size) throw new Error('stats fold saw fewer entries than the list fold before it');
  loops += 1;
  await new Promise((r) => setImmediate(r));
}
await store.terminate();
process.stdout.write(`${JSON.stringify({ loops, maxSeen })}\n`);
