/**
 * The session commands end to end on a real cache file: insert, list, get,
 * remove, flush, stats, the default store location and the exit codes.
 */
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli, tempDir, VECTORS as VECTOR_DIR } from '../helpers/env.js';
import { VECTORS } from '../session/vectors.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const pems = VECTORS.map((v) => path.join(VECTOR_DIR, `${v.name}.pem`));
const ids = VECTORS.map((v) => v.truth.session_id_hex.toLowerCase());

/** A store of its own per test, so the tests stay independent. */
let n = 0;
function freshStore(): string {
  n += 1;
  return path.join(tmp.dir, `store-${n}`, 'sessions.db');
}

async function cli(args: string[], input?: string | Buffer) {
  return runCli(args, input === undefined ? {} : { input });
}

describe('insert and list', () => {
  const store = freshStore();
  beforeAll(async () => {
    const r = await cli(['insert', '--keep-expired', '--store', store, ...pems]);
    expect(r.code, r.stderr).toBe(0);
  });

  test('every example session is listed with its summary', async () => {
    const r = await cli(['list', '--store', store, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as { id: string; protocol: string; cipher: string; sni: string | null; alpn: string | null; size: number; role: string }[];
    expect(rows.map((x) => x.id).sort()).toEqual([...ids].sort());
    for (const v of VECTORS) {
      const row = rows.find((x) => x.id === v.truth.session_id_hex.toLowerCase())!;
      expect(row.protocol).toBe(v.truth.protocol);
      expect(row.cipher).toBe(v.truth.cipher.openssl_name);
      expect(row.sni).toBe(v.truth.sni);
      expect(row.alpn).toBe(v.truth.alpn);
      expect(row.size).toBe(v.truth.extra.der_length);
      expect(row.role).toBe(v.truth.role);
    }
  });

  test('the table shows every session (its width on a terminal: test/cli/table-tmux.test.ts)', async () => {
    const r = await cli(['list', '--store', store]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1 + VECTORS.length);
    expect(r.stdout).toContain('login.corp.test');
    const wide = await cli(['list', '--store', store, '--wide']);
    for (const id of ids) expect(wide.stdout).toContain(id);
  });

  test('filters: --sni, --protocol, --cipher (any spelling), --limit, --sort', async () => {
    const sni = JSON.parse((await cli(['list', '--store', store, '--json', '--sni', 'LOGIN.corp.test'])).stdout);
    expect(sni.map((x: { sni: string }) => x.sni)).toEqual(['login.corp.test']);
    const tls13 = JSON.parse((await cli(['list', '--store', store, '--json', '--protocol', '1.3'])).stdout);
    expect(tls13).toHaveLength(VECTORS.filter((v) => v.truth.protocol === 'TLSv1.3').length);
    const iana = JSON.parse((await cli(['list', '--store', store, '--json', '--cipher', 'TLS_AES_128_CCM_SHA256'])).stdout);
    const hex = JSON.parse((await cli(['list', '--store', store, '--json', '--cipher', '1304'])).stdout);
    expect(iana.length).toBe(VECTORS.filter((v) => v.truth.cipher.id_hex === '1304').length);
    expect(hex.map((x: { id: string }) => x.id)).toEqual(iana.map((x: { id: string }) => x.id));
    const bySize = JSON.parse((await cli(['list', '--store', store, '--json', '--sort', 'size', '--limit', '3'])).stdout);
    const sizes = VECTORS.map((v) => v.truth.extra.der_length).sort((a, b) => a - b);
    expect(bySize.map((x: { size: number }) => x.size)).toEqual(sizes.slice(0, 3));
    const biggest = JSON.parse((await cli(['list', '--store', store, '--json', '--sort', 'size', '--reverse', '--limit', '1'])).stdout);
    expect(biggest[0].size).toBe(sizes.at(-1));
    const limited = JSON.parse((await cli(['list', '--store', store, '--json', '--limit', '2'])).stdout);
    expect(limited).toHaveLength(2);
  });

  test('a bad filter is a usage error', async () => {
    const r = await cli(['list', '--store', store, '--cipher', 'NOT-A-SUITE']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    const p = await cli(['list', '--store', store, '--protocol', 'SSLv9']);
    expect(p.code).toBe(2);
  });

  test('get ID shows the session; the master key only with --show-secrets', async () => {
    const v = VECTORS[0]!;
    const r = await cli(['get', ids[0]!, '--store', store]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(v.truth.cipher.openssl_name);
    expect(r.stdout.toUpperCase()).not.toContain(v.truth.master_key_hex);
    const s = await cli(['get', ids[0]!.toUpperCase(), '--store', store, '--show-secrets', '--json']);
    expect(s.code, s.stderr).toBe(0);
    expect(JSON.parse(s.stdout).masterKey.toUpperCase()).toBe(v.truth.master_key_hex);
    expect(s.stderr).toMatch(/secret/);
  });

  test('get --out pem and der export what was inserted, byte for byte', async () => {
    const v = VECTORS[2]!;
    const der = await runCliRaw(['get', ids[2]!, '--store', store, '--out', 'der']);
    expect(Buffer.compare(der, v.der)).toBe(0);
    const pem = await cli(['get', ids[2]!, '--store', store, '--out', 'pem']);
    expect(pem.stdout).toBe(v.pem.toString('utf8'));
  });

  test('get of a missing id exits 3; a malformed id exits 2', async () => {
    const missing = await cli(['get', 'ab'.repeat(32), '--store', store]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/^sessctl: no session abab/);
    const bad = await cli(['get', 'not-hex', '--store', store]);
    expect(bad.code).toBe(2);
  });

  test('stats counts by protocol, cipher and SNI, and the counters', async () => {
    const r = await cli(['stats', '--store', store, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.total).toBe(VECTORS.length);
    expect(s.live + s.expired).toBe(VECTORS.length);
    expect(s.bytes).toBe(VECTORS.reduce((a, v) => a + v.der.length, 0));
    expect(s.byProtocol['TLSv1.3']).toBe(VECTORS.filter((v) => v.truth.protocol === 'TLSv1.3').length);
    expect(s.bySni.find((x: { sni: string }) => x.sni === 'login.corp.test').count).toBe(1);
    expect(s.counters.inserts).toBe(VECTORS.length);
    const human = await cli(['stats', '--store', store]);
    expect(human.stdout).toMatch(/Sessions\s+8 /);
    expect(human.stdout).toMatch(/cache_full\s+0/);
  });
});

/** stdout as bytes (runCli decodes as UTF-8, which would mangle DER). */
async function runCliRaw(args: string[]): Promise<Buffer> {
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(process.execPath, ['bin/run.js', ...args], { env: { ...process.env, NO_COLOR: '1' } });
  expect(r.status, r.stderr.toString()).toBe(0);
  return r.stdout;
}

describe('insert validates everything before writing anything', () => {
  test('one bad file among good ones: exit 1, nothing inserted', async () => {
    const store = freshStore();
    const bad = path.join(tmp.dir, 'bad.pem');
    writeFileSync(bad, VECTORS[1]!.pem.toString('utf8').replace(/[A-Za-z]{8}\n/, '!!!!!!!!\n'));
    const r = await cli(['insert', '--keep-expired', '--store', store, pems[0]!, bad, pems[2]!]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('bad.pem');
    // Nothing was written: not even the cache file was created, and listing it says so.
    expect(existsSync(store)).toBe(false);
    const list = await cli(['list', '--store', store]);
    expect(list.code).toBe(1);
    expect(list.stderr.trim()).toBe(`sessctl: cannot open session cache ${store}: no such file`);
  });

  test('stdin, --id, --timeout; an existing entry is replaced', async () => {
    const store = freshStore();
    const id = 'c0ffee'.repeat(4);
    const r = await cli(['insert', '--keep-expired', '--store', store, '--id', id, '--timeout', '60', '-'], VECTORS[0]!.pem);
    expect(r.code, r.stderr).toBe(0);
    const again = await cli(['insert', '--keep-expired', '--store', store, '--id', id, '--timeout', '120', '-'], VECTORS[0]!.pem);
    expect(again.code, again.stderr).toBe(0);
    const rows = JSON.parse((await cli(['list', '--store', store, '--json'])).stdout);
    expect(rows).toHaveLength(1);
    expect(rows[0].id).toBe(id);
    expect(Date.parse(rows[0].expires) / 1000).toBe(VECTORS[0]!.truth.time + 120);
  });

  test('--id with several sessions is a usage error', async () => {
    const r = await cli(['insert', '--keep-expired', '--store', freshStore(), '--id', 'aa', pems[0]!, pems[1]!]);
    expect(r.code).toBe(2);
  });
});

describe('remove and flush', () => {
  test('remove one id; a missing id exits 3 but the others go', async () => {
    const store = freshStore();
    await cli(['insert', '--keep-expired', '--store', store, ...pems]);
    const one = await cli(['remove', ids[0]!, '--store', store]);
    expect(one.code, one.stderr).toBe(0);
    const r = await cli(['remove', ids[1]!, 'ab'.repeat(32), '--store', store, '--yes']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('abab');
    const left = JSON.parse((await cli(['list', '--store', store, '--json'])).stdout).map((x: { id: string }) => x.id);
    expect(left.sort()).toEqual(ids.slice(2).sort());
  });

  test('removing several needs --yes when not on a terminal; --dry-run removes nothing', async () => {
    const store = freshStore();
    await cli(['insert', '--keep-expired', '--store', store, ...pems]);
    const refused = await cli(['remove', ids[0]!, ids[1]!, '--store', store]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--yes/);
    const dry = await cli(['remove', '--sni', 'login.corp.test', '--store', store, '--dry-run', '--json']);
    expect(JSON.parse(dry.stdout).removed).toEqual([ids[0]]);
    expect(JSON.parse((await cli(['list', '--store', store, '--json'])).stdout)).toHaveLength(VECTORS.length);
    const yes = await cli(['remove', ids[0]!, ids[1]!, '--store', store, '--yes']);
    expect(yes.code, yes.stderr).toBe(0);
    expect(JSON.parse((await cli(['list', '--store', store, '--json'])).stdout)).toHaveLength(VECTORS.length - 2);
  });

  test('flush removes only expired sessions; --older-than; --all needs --yes', async () => {
    const store = freshStore();
    // Two live sessions (timeout far in the future) and two expired ones (timeout 1 s, long past).
    await cli(['insert', '--store', store, '--timeout', String(10 * 365 * 86400), pems[0]!, pems[1]!]);
    await cli(['insert', '--keep-expired', '--store', store, '--timeout', '1', pems[2]!, pems[3]!]);
    const flush = await cli(['flush', '--store', store, '--json']);
    expect(flush.code, flush.stderr).toBe(0);
    expect(JSON.parse(flush.stdout)).toMatchObject({ removed: 2, remaining: 2 });
    const old = await cli(['flush', '--store', store, '--older-than', '1s', '--dry-run', '--json']);
    expect(JSON.parse(old.stdout)).toMatchObject({ removed: 2, dryRun: true });
    const refused = await cli(['flush', '--all', '--store', store]);
    expect(refused.code).toBe(2);
    const all = await cli(['flush', '--all', '--yes', '--store', store]);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toMatch(/removed 2 sessions/);
    const stats = JSON.parse((await cli(['stats', '--store', store, '--json'])).stdout);
    expect(stats.total).toBe(0);
    expect(stats.counters.removals).toBe(4);
  });

  test('a bad duration is a usage error', async () => {
    const r = await cli(['flush', '--older-than', 'soon', '--store', freshStore()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not a duration/);
  });
});

describe('where the store is', () => {
  test('$SESSCTL_STORE, else $XDG_STATE_HOME/sessctl/sessions.db created 0600 in a 0700 directory', async () => {
    const xdg = path.join(tmp.dir, 'xdg');
    const r = await runCli(['insert', '--keep-expired', pems[0]!], { env: { XDG_STATE_HOME: xdg, SESSCTL_STORE: undefined } });
    expect(r.code, r.stderr).toBe(0);
    const file = path.join(xdg, 'sessctl', 'sessions.db');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    const viaEnv = path.join(tmp.dir, 'env-store.db');
    await runCli(['insert', '--keep-expired', pems[1]!], { env: { XDG_STATE_HOME: xdg, SESSCTL_STORE: viaEnv } });
    const list = await runCli(['list', '--json'], { env: { SESSCTL_STORE: viaEnv } });
    expect(JSON.parse(list.stdout).map((x: { id: string }) => x.id)).toEqual([ids[1]]);
  });

  test('a cache file readable by others gets a warning; one that is not SQLite an error', async () => {
    const store = freshStore();
    await cli(['insert', '--keep-expired', '--store', store, pems[0]!]);
    chmodSync(store, 0o644);
    const r = await cli(['list', '--store', store]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: .*readable/);
    const notDb = path.join(tmp.dir, 'not-a-db');
    writeFileSync(notDb, 'hello, this is not sqlite'.repeat(100));
    const bad = await cli(['list', '--store', notDb]);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n').filter((l) => !l.includes('warning'))).toEqual([
      `sessctl: cannot open session cache ${notDb}: file is not a database`,
    ]);
    expect(readFileSync(notDb, 'utf8')).toBe('hello, this is not sqlite'.repeat(100));
  });

  test('an unknown store scheme is a usage error', async () => {
    const r = await cli(['list', '--store', 'gopher://x']);
    expect(r.code).toBe(2);
  });
});

describe('usage errors', () => {
  test('an unknown flag: what is wrong, then what to type, exit 2', async () => {
    const r = await cli(['list', '--frobnicate']);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe('sessctl: list: unknown flag --frobnicate');
    expect(lines[1]).toMatch(/^ {2}hint: usage: sessctl list \[FLAGS\]/);
  });
  test('--json errors are JSON', async () => {
    const store = freshStore();
    await cli(['insert', '--keep-expired', '--store', store, pems[0]!]);
    const r = await cli(['get', 'ab'.repeat(32), '--store', store, '--json']);
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout).error.exit).toBe(3);
  });
});

describe('output to a reader that goes away', () => {
  test('`sessctl list | head -1` stops quietly, as cat does (exit 141, nothing on stderr)', async () => {
    const { FileStore } = await import('../../src/lib/store/file.js');
    const { testEntry } = await import('../helpers/entries.js');
    const file = freshStore();
    const store = await FileStore.open(file);
    await store.updateMany(Array.from({ length: 3000 }, (_, i) => testEntry(i)));
    await store.terminate();
    const { spawnSync } = await import('node:child_process');
    for (const json of [[], ['--json']]) {
      const r = spawnSync('bash', ['-c', `set -o pipefail; node bin/run.js list --store '${file}' ${json.join(' ')} | head -1 >/dev/null`], {
        env: { ...process.env, NO_COLOR: '1' },
        encoding: 'utf8',
      });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(141);
    }
  });
});
