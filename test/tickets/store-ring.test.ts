/** The ring kept in a store (capabilities.keyRing) so a fleet shares it. */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/lib/store/open.js';
import { nodeTicketKeys } from '../../src/lib/tickets/formats/node.js';
import { currentKey, decodeRing, nextKey } from '../../src/lib/tickets/ring.js';
import { parseOutput } from '../../src/lib/tickets/formats/index.js';
import { rotateKeys } from '../../src/lib/tickets/rotate.js';
import { storeRing } from '../../src/lib/tickets/ring-storage.js';
import { runCli, tempDir } from '../helpers/env.js';

const tmp = tempDir('sessctl-store-ring-');
afterAll(() => tmp.cleanup());
const T0 = 1_800_000_000;

describe('ring in a store', () => {
  it('rotates a ring kept in memory: and reads it back as bytes', async () => {
    const store = await openStore('memory:');
    const ring = storeRing(store);
    expect((await rotateKeys({ ring, now: T0, outputs: [] })).status).toBe('created');
    const first = decodeRing((await store.readKeyRing!())!, 'memory');
    const report = await rotateKeys({ ring, now: T0 + 3600, outputs: [], ifOlderThan: 7200 });
    expect(report.status).toBe('not-due');
    expect(report.dueAt).toBe(T0 + 7200);
    await rotateKeys({ ring, now: T0 + 7200, outputs: [] });
    const second = decodeRing((await store.readKeyRing!())!, 'memory');
    expect(currentKey(second).name).toEqual(nextKey(first).name);
    expect(nodeTicketKeys(second)).toHaveLength(48);
    await store.terminate();
  });

  it('two hosts rotating one shared ring at once: one rotation commits, both hosts end up with its keys', async () => {
    const store = await openStore(path.join(tmp.dir, 'race.db'));
    const setup = await rotateKeys({ ring: storeRing(store), now: T0, outputs: [] });
    expect(setup.status).toBe('created');
    const before = decodeRing((await store.readKeyRing!())!, 'race.db');
    const hosts = ['a', 'b'].map((h) => path.join(tmp.dir, `race-${h}.key`));
    // Each host has its own view of the store; the pause between output writes
    // lets both read the ring before either commits.
    const reports = await Promise.all(
      hosts.map((file) => rotateKeys({ ring: storeRing(store), now: T0 + 7200, ifOlderThan: 3600, outputs: [parseOutput(`node:${file}`)], pauseBetweenWritesMs: 200 })),
    );
    const after = decodeRing((await store.readKeyRing!())!, 'race.db');
    // One rotation, not two: the new current key is the old next key.
    expect(currentKey(after).name).toEqual(nextKey(before).name);
    expect(reports.filter((r) => r.rotatedElsewhere === true)).toHaveLength(1);
    for (const [i, r] of reports.entries()) {
      expect(r.status).toBe('rotated');
      expect(r.keys.find((k) => k.state === 'next')!.name).toBe(nextKey(after).name.toString('hex'));
      expect(readFileSync(hosts[i]!)).toEqual(nodeTicketKeys(after));
    }
    await store.terminate();
  });

  it('CLI: --store keeps the ring in the cache file; --push copies a file ring into a store', async () => {
    const db = path.join(tmp.dir, 'cache.db');
    const made = await runCli(['rotate-keys', '--store', db, '--write', `node:${path.join(tmp.dir, 'node.key')}`], { cwd: tmp.dir });
    expect(made.stderr).toBe('');
    expect(made.code).toBe(0);
    const store = await openStore(db);
    const ring = decodeRing((await store.readKeyRing!())!, db);
    expect(readFileSync(path.join(tmp.dir, 'node.key'))).toEqual(nodeTicketKeys(ring));
    await store.terminate();

    const pushed = await runCli(['rotate-keys', '--ring', 'ring.json', '--push', db, '--json'], { cwd: tmp.dir });
    expect(pushed.code).toBe(0);
    expect(JSON.parse(pushed.stdout).pushed).toHaveLength(1);
    const again = await openStore(db);
    expect((await again.readKeyRing!())!).toEqual(readFileSync(path.join(tmp.dir, 'ring.json')));
    await again.terminate();
  });
});

describe('--push to a store that holds a newer ring', () => {
  it('is left as it is (a later rotation pushed there first); an older ring, or bytes that are no ring, are replaced', async () => {
    const primary = await openStore('memory:');
    const target = await openStore('memory:');
    await rotateKeys({ ring: storeRing(primary), now: T0, outputs: [] });
    // Another host's later rotation already reached the target.
    await rotateKeys({ ring: storeRing(target), now: T0 + 10_000, outputs: [] });
    const newer = await target.readKeyRing!();

    const late = await rotateKeys({ ring: storeRing(primary), now: T0 + 5_000, outputs: [], push: [storeRing(target)] });
    expect(late.pushSkipped).toEqual([target.url]);
    expect(late.pushed).toBeUndefined();
    expect(late.failures).toEqual([]);
    expect(await target.readKeyRing!()).toEqual(newer);

    const later = await rotateKeys({ ring: storeRing(primary), now: T0 + 20_000, outputs: [], push: [storeRing(target)] });
    expect(later.pushed).toEqual([target.url]);
    expect(await target.readKeyRing!()).toEqual(await primary.readKeyRing!());

    await target.writeKeyRing!(Buffer.from('not a ring'));
    const overGarbage = await rotateKeys({ ring: storeRing(primary), now: T0 + 30_000, outputs: [], push: [storeRing(target)] });
    expect(overGarbage.pushed).toEqual([target.url]);
    expect(await target.readKeyRing!()).toEqual(await primary.readKeyRing!());
    await primary.terminate();
    await target.terminate();
  });
});

describe('ring pushed to the daemon', () => {
  it('rotate-keys --push https://daemon: the daemon holds the ring; a rotation replaces it', async () => {
    const { startServe } = await import('../helpers/serve.js');
    const tokenFile = path.join(tmp.dir, 'token');
    writeFileSync(tokenFile, 'push-test-token-0123456789\n', { mode: 0o600 });
    const daemon = await startServe(['--listen', '127.0.0.1:0', '--store', path.join(tmp.dir, 'daemon.db'), '--token-file', tokenFile]);
    try {
      const push = ['rotate-keys', '--ring', 'pushed.json', '--push', daemon.url, '--token-file', tokenFile, '--json'];
      const first = await runCli(push, { cwd: tmp.dir });
      expect(first.code, first.stderr).toBe(0);
      const store = await openStore(daemon.url, { token: 'push-test-token-0123456789' });
      try {
        const held = async () => decodeRing((await store.readKeyRing!())!, daemon.url);
        const ringFile = () => decodeRing(readFileSync(path.join(tmp.dir, 'pushed.json')), 'pushed.json');
        expect(nodeTicketKeys(await held())).toEqual(nodeTicketKeys(ringFile()));
        const before = currentKey(await held()).name;
        const second = await runCli(push, { cwd: tmp.dir });
        expect(second.code, second.stderr).toBe(0);
        expect(currentKey(await held()).name).toEqual(currentKey(ringFile()).name);
        expect(currentKey(await held()).name).not.toEqual(before);
      } finally {
        await store.terminate();
      }
      expect(daemon.log()).not.toContain('push-test-token');
    } finally {
      await daemon.stop();
    }
  });
});
