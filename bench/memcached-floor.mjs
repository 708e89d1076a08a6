#!/usr/bin/env node
/**
 * bench/redis's floor for a memcached fold: what any client that reads every
 * session's value must have the servers do, with nothing decoded.
 *
 *   node bench/memcached-floor.mjs PORT [PORT...]
 *
 * On every server at once (127.0.0.1): `lru_crawler metadump all` on one
 * connection and, for each 500 keys, one write of `mg KEY v t` and
 * `mg sessctl:meta:KEY v` a key (what sessctl sends) closed by `mn`, one
 * batch in flight while the next is read, as sessctl's fold does. The replies
 * are not parsed: a batch is done when its reply ends in `MN`. Prints the
 * number of keys asked for on stderr.
 */
import net from 'node:net';

const BATCH = 500;
const ports = process.argv.slice(2).map(Number);

const connect = (port) =>
  new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(socket));
    socket.setNoDelay(true);
    socket.once('error', reject);
  });

async function server(port) {
  const [dump, get] = await Promise.all([connect(port), connect(port)]);
  let replied;
  let tail = Buffer.alloc(0);
  get.on('data', (chunk) => {
    tail = Buffer.concat([tail, chunk]).subarray(-4);
    if (tail.toString('latin1') === 'MN\r\n') replied();
  });
  let inFlight = Promise.resolve();
  let keys = [];
  let count = 0;
  const send = async () => {
    await inFlight;
    let text = '';
    for (const key of keys) text += `mg ${key} v t\r\nmg sessctl:meta:${key} v\r\n`;
    count += keys.length;
    keys = [];
    tail = Buffer.alloc(0);
    inFlight = new Promise((resolve) => (replied = resolve));
    get.write(Buffer.from(`${text}mn\r\n`, 'latin1'));
  };
  dump.write('lru_crawler metadump all\r\n');
  let rest = Buffer.alloc(0);
  reading: for await (const chunk of dump) {
    const buf = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
    let at = 0;
    let end;
    while ((end = buf.indexOf(10, at)) >= 0) {
      if (buf[at] !== 0x6b /* k */) break reading; // END
      keys.push(buf.toString('latin1', at + 4, buf.indexOf(32, at)).replace('%3A', ':'));
      at = end + 1;
      if (keys.length === BATCH) await send();
    }
    rest = buf.subarray(at);
  }
  if (keys.length > 0) await send();
  await inFlight;
  dump.destroy();
  get.destroy();
  return count;
}

const counts = await Promise.all(ports.map(server));
process.stderr.write(`${counts.reduce((a, b) => a + b, 0)} keys\n`);
