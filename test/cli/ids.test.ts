/**
 * Session ids as people paste them: a unique prefix (as git takes a short
 * hash) and the shortened form the table shows, in get, remove and explain;
 * a prefix that fits several sessions names them and exits 2. Piped, list
 * prints whole ids. On a real cache file with the example sessions.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir, VECTORS as VECTOR_DIR } from '../helpers/env.js';
import { VECTORS } from '../session/vectors.js';

const tmp = tempDir('sessctl-ids-');
afterAll(() => tmp.cleanup());
const store = path.join(tmp.dir, 'sessions.db');
const pems = VECTORS.map((v) => path.join(VECTOR_DIR, `${v.name}.pem`));
const ids = VECTORS.map((v) => v.truth.session_id_hex.toLowerCase());
const server = '0aa8ff031964b74a068aa56043fce8458ae64dc7441bd5e7793452ae88c54d21'; // vector 07
const shown = (id: string): string => `${id.slice(0, 8)}…${id.slice(-4)}`;

/** A prefix of `id` that no other example id shares. */
function uniquePrefix(id: string): string {
  for (let n = 4; ; n += 1) if (ids.filter((x) => x.startsWith(id.slice(0, n))).length === 1) return id.slice(0, n);
}

beforeAll(async () => {
  const r = await runCli(['insert', '--keep-expired', '--store', store, ...pems]);
  expect(r.code, r.stderr).toBe(0);
  // Two sessions whose ids share the prefix "c0ffee".
  for (const id of ['c0ffee01', 'c0ffee02']) expect((await runCli(['insert', '--keep-expired', '--store', store, '--id', id, pems[0]!])).code).toBe(0);
});

describe('get, remove and explain take a unique prefix and the shortened form', () => {
  it('get by a prefix and by the form list shows', async () => {
    for (const typed of [uniquePrefix(server), shown(server), shown(server).replace('…', '...'), server.slice(0, 8).toUpperCase()]) {
      const r = await runCli(['get', typed, '--store', store, '--json']);
      expect(r.code, `${typed}: ${r.stderr}`).toBe(0);
      expect(JSON.parse(r.stdout).store.id).toBe(server);
    }
  });

  it('explain by the shortened form looks up the whole id', async () => {
    const r = await runCli(['explain', shown(server), '--store', store, '--json']);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout).evidence.lookup.key).toBe(server);
  });

  it('an ambiguous prefix lists the candidates and exits 2; one that fits nothing exits 3', async () => {
    for (const command of ['get', 'remove', 'explain']) {
      const r = await runCli([command, 'c0ffee', '--store', store]);
      expect(r.code, `${command}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/^sessctl: session id c0ffee is ambiguous in .*: c0ffee01, c0ffee02$/m);
      expect(r.stderr).toMatch(/hint: type more of the id/);
    }
    const none = await runCli(['get', 'c0ffee03', '--store', store]);
    expect(none.code).toBe(3);
    expect(none.stderr).toMatch(/^sessctl: no session c0ffee03 in /);
    const shortNone = await runCli(['get', 'abcdef12…9999', '--store', store]);
    expect(shortNone.code).toBe(3);
  });

  it('remove by prefix; --dry-run says "would be removed"', async () => {
    const own = path.join(tmp.dir, 'remove.db');
    expect((await runCli(['insert', '--keep-expired', '--store', own, ...pems])).code).toBe(0);
    const dry = await runCli(['remove', shown(server), uniquePrefix(ids[0]!), '--store', own, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`would remove ${server}`);
    expect(dry.stdout).toMatch(/^2 sessions would be removed$/m);
    const r = await runCli(['remove', uniquePrefix(server), '--store', own]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^1 session removed$/m);
    const left = (JSON.parse((await runCli(['list', '--store', own, '--json'])).stdout) as { id: string }[]).map((x) => x.id);
    expect(left).not.toContain(server);
    expect(left).toHaveLength(ids.length - 1);
  });

  it('text that is no id in any form is a usage error', async () => {
    const r = await runCli(['get', 'not-hex', '--store', store]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not a session id: "not-hex"/);
  });
});

describe('piped, list prints whole ids', () => {
  it('every id whole, nothing cut', async () => {
    const r = await runCli(['list', '--store', store]);
    expect(r.code, r.stderr).toBe(0);
    for (const id of ids) expect(r.stdout).toMatch(new RegExp(`^${id} `, 'm'));
    expect(r.stdout).not.toContain('…');
    expect(r.stdout).toContain('ECDHE-ECDSA-AES128-GCM-SHA256');
  });
});

describe('insert -q', () => {
  it('prints only the summary line', async () => {
    const own = path.join(tmp.dir, 'quiet.db');
    const r = await runCli(['insert', '-q', '--keep-expired', '--store', own, pems[0]!, pems[1]!]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`2 sessions inserted into ${own}\n`);
    const loud = await runCli(['insert', '--keep-expired', '--store', own, pems[0]!]);
    expect(loud.stdout).toMatch(/^inserted /m);
  });
});
