/**
 * The daemon's security baseline against a real `sessctl serve` process:
 * tokens, limits, bad input, TLS, and logs free of secrets.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/lib/store/open.js';
import type { SessionStore } from '../../src/lib/store/types.js';
import { testEntry } from '../helpers/entries.js';
import { VECTORS, freePort, requireTool, runCli, tempDir } from '../helpers/env.js';
import { startServe, type ServeChild } from '../helpers/serve.js';

const TOKEN = 'sec-test-token-4f1c2e9a7b3d5e6f';
const VECTOR = '07-server-tls12-dhe-rsa-aes128gcm-alpn';
const facts = JSON.parse(readFileSync(path.join(VECTORS, `${VECTOR}.json`), 'utf8')) as { master_key_hex: string };

let tmp: ReturnType<typeof tempDir>;
let tokenFile: string;
let daemon: ServeChild;
let store: SessionStore;

async function call(pathname: string, init: RequestInit & { token?: string | null } = {}): Promise<{ status: number; json: unknown; text: string }> {
  const headers = new Headers(init.headers);
  const token = init.token === undefined ? TOKEN : init.token;
  if (token !== null) headers.set('authorization', `Bearer ${token}`);
  const res = await fetch(`${daemon.url}${pathname}`, { ...init, headers });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

const jsonError = { error: { message: expect.any(String), code: expect.any(String) } };

beforeAll(async () => {
  tmp = tempDir('sessctl-daemon-sec-');
  tokenFile = path.join(tmp.dir, 'token');
  writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  const port = await freePort();
  daemon = await startServe([
    '--listen', `127.0.0.1:${port}`,
    '--store', path.join(tmp.dir, 'sessions.db'),
    '--token-file', tokenFile,
    '--headers-timeout', '300',
    '--request-timeout', '1000',
    '--log-requests',
  ]);
  store = await openStore(daemon.url, { token: TOKEN });
});

afterAll(async () => {
  await store?.terminate();
  await daemon?.stop();
  tmp?.cleanup();
});

describe('sessctl serve: authentication', () => {
  it('answers 401 with a JSON error without a token, and with a wrong one', async () => {
    const none = await call('/v1/size', { token: null });
    expect(none.status).toBe(401);
    expect(none.json).toEqual(jsonError);
    const wrong = await call('/v1/size', { token: 'sec-test-token-4f1c2e9a7b3d5e6e' });
    expect(wrong.status).toBe(401);
    const shorter = await call('/v1/size', { token: TOKEN.slice(0, 8) });
    expect(shorter.status).toBe(401);
    const right = await call('/v1/size');
    expect(right.status).toBe(200);
    expect(right.json).toEqual({ size: expect.any(Number) });
  });

  it('protects every route but /healthz, /metrics included', async () => {
    for (const p of ['/v1/sessions', '/v1/counters', '/v1/keyring', '/v1/info', '/metrics', `/v1/sessions/${'ab'.repeat(32)}`]) {
      expect((await call(p, { token: null })).status, p).toBe(401);
    }
    const health = await call('/healthz', { token: null });
    expect(health.status).toBe(200);
    expect(health.json).toEqual({ status: 'ok' });
  });

  it('the client backend says the daemon refused the token', async () => {
    await expect(openStore(daemon.url, { token: 'not-it' })).rejects.toThrow(/refused the token/);
    await expect(openStore(daemon.url, {})).rejects.toThrow(/needs a token/);
  });
});

describe('sessctl serve: bad input', () => {
  it('answers 413 to a body above the limit, 400 to malformed ids and bodies, each with a JSON error', async () => {
    const key = 'ab'.repeat(32);
    const big = await call(`/v1/sessions/${key}`, { method: 'PUT', body: Buffer.alloc(20 * 1024, 1), headers: { 'sessctl-entry': '{}' } });
    expect(big.status).toBe(413);
    expect(big.json).toEqual(jsonError);

    for (const id of ['xyz', 'ABCD', 'abc', 'ab'.repeat(33), '%00']) {
      const bad = await call(`/v1/sessions/${id}`);
      expect(bad.status, id).toBe(400);
      expect(bad.json, id).toEqual(jsonError);
    }

    const entry = testEntry(1, { vector: VECTOR });
    const meta = JSON.stringify({ ...entry, der: undefined });
    const garbage = await call(`/v1/sessions/${entry.key}`, { method: 'PUT', body: Buffer.from('not a session at all'), headers: { 'sessctl-entry': meta } });
    expect(garbage.status).toBe(400);
    expect((garbage.json as { error: { message: string } }).error.message).toMatch(/SSL_SESSION/);
    const badMeta = await call(`/v1/sessions/${entry.key}`, { method: 'PUT', body: entry.der, headers: { 'sessctl-entry': '{"key":' } });
    expect(badMeta.status).toBe(400);
    const wrongKey = await call(`/v1/sessions/${'cd'.repeat(32)}`, { method: 'PUT', body: entry.der, headers: { 'sessctl-entry': meta } });
    expect(wrongKey.status).toBe(400);
    const badRole = await call(`/v1/sessions/${entry.key}`, { method: 'PUT', body: entry.der, headers: { 'sessctl-entry': JSON.stringify({ ...JSON.parse(meta), role: 'root' }) } });
    expect(badRole.status).toBe(400);
    const counters = await call('/v1/counters', { method: 'POST', body: '{"hits": 1.5}' });
    expect(counters.status).toBe(400);
    const notJson = await call('/v1/counters', { method: 'POST', body: 'hits=1' });
    expect(notJson.status).toBe(400);
    const cursor = await call('/v1/sessions?cursor=zz');
    expect(cursor.status).toBe(400);
    const limit = await call('/v1/sessions?limit=100000');
    expect(limit.status).toBe(400);
    // None of it reached the store.
    expect(await store.lookup(entry.key)).toBeUndefined();
    expect(await store.lookup(key)).toBeUndefined();
  });

  it('cuts off a client that sends its headers slowly', async () => {
    const { port } = new URL(daemon.url);
    const socket = net.connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString()));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write('GET /v1/size HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    // One header byte every 100 ms for up to 20 s: a server without a header deadline would wait it out.
    let sent = 0;
    const trickle = setInterval(() => {
      if (socket.writable && sent < 200) {
        socket.write('X');
        sent += 1;
      }
    }, 100);
    await closed;
    clearInterval(trickle);
    expect(sent).toBeLessThan(200);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });
});

describe('sessctl serve: refusing unsafe setups', () => {
  it('refuses a non-loopback address without TLS, with one line and a non-zero exit', async () => {
    const r = await runCli(['serve', '--listen', `0.0.0.0:${await freePort()}`, '--token-file', tokenFile]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/refusing to listen on 0\.0\.0\.0:\d+ without TLS/);
  });

  it('refuses to start without a token, and --no-auth off loopback', async () => {
    const noToken = await runCli(['serve', '--listen', `127.0.0.1:${await freePort()}`, '--store', 'memory:'], { env: { SESSCTL_TOKEN: undefined } });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/needs a token/);
    const noAuth = await runCli(['serve', '--listen', `0.0.0.0:${await freePort()}`, '--no-auth', '--store', 'memory:']);
    expect(noAuth.code).not.toBe(0);
    expect(noAuth.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('refuses plain http:// to a non-loopback daemon on the client side', async () => {
    await expect(openStore('http://192.0.2.1:7420', { token: TOKEN })).rejects.toThrow(/refusing plain http:\/\//);
  });
});

describe('sessctl serve: logs', () => {
  it('never show the token, a master key or DER, whatever happens', async () => {
    const entry = testEntry(5, { vector: VECTOR });
    await store.update(entry);
    expect((await store.lookup(entry.key))?.der.equals(entry.der)).toBe(true);
    await store.foldl((_e, n: number) => n + 1, 0);
    await call('/v1/size', { token: `${TOKEN}x` });
    await call(`/v1/sessions/${entry.key}`, { method: 'PUT', body: entry.der, headers: { 'sessctl-entry': 'nonsense' } });
    await store.writeKeyRing!(Buffer.from('ff'.repeat(48), 'hex'));
    const log = daemon.log();
    expect(log).toMatch(/"event":"request"/);
    expect(log).toMatch(/"event":"unauthorized"/);
    for (const secret of [TOKEN, facts.master_key_hex, facts.master_key_hex.toLowerCase(), entry.der.toString('base64'), entry.der.toString('hex'), entry.key, 'ff'.repeat(48)]) {
      expect(log.toLowerCase()).not.toContain(secret.toLowerCase());
    }
    for (const line of log.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
  });
});

describe.skipIf(!requireTool('openssl', 'openssl'))('sessctl serve over TLS', () => {
  let dir: string;
  let tls: ServeChild;

  beforeAll(async () => {
    dir = tmp.dir;
    const sh = (cmd: string) => execFileSync('sh', ['-c', cmd], { cwd: dir, stdio: 'pipe' });
    const ec = '-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes';
    sh(`openssl req -x509 ${ec} -subj /CN=test-ca -keyout ca.key -out ca.crt -days 2`);
    sh(`openssl req ${ec} -subj /CN=127.0.0.1 -keyout server.key -out server.csr`);
    writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
    sh('openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile san.ext');
    sh(`openssl req ${ec} -subj /CN=tls-server-a -keyout client.key -out client.csr`);
    sh('openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 2');
    tls = await startServe([
      '--listen', `127.0.0.1:${await freePort()}`,
      '--store', 'memory:',
      '--token-file', tokenFile,
      '--tls-cert', path.join(dir, 'server.crt'),
      '--tls-key', path.join(dir, 'server.key'),
      '--tls-ca', path.join(dir, 'ca.crt'),
    ]);
  });

  afterAll(async () => {
    await tls?.stop();
  });

  it('serves HTTPS, requires a client certificate under --tls-ca, and the client must trust its CA', async () => {
    expect(tls.url).toMatch(/^https:/);
    // No client certificate: the handshake is refused.
    await expect(openStore(tls.url, { token: TOKEN, ca: path.join(dir, 'ca.crt') })).rejects.toThrow(/sessctl daemon https/);
    // Not trusting the daemon's CA: a clear line pointing at --ca.
    await expect(openStore(tls.url, { token: TOKEN })).rejects.toThrow(/not trusted.*--ca/);
    // With a client certificate the daemon backend works.
    const client = await openStore(tls.url, { token: TOKEN, ca: path.join(dir, 'ca.crt'), cert: path.join(dir, 'client.crt'), key: path.join(dir, 'client.key') });
    try {
      const entry = testEntry(9, { vector: VECTOR });
      await client.update(entry);
      expect((await client.lookup(entry.key))?.der.equals(entry.der)).toBe(true);
      expect(await client.size()).toBe(1);
    } finally {
      await client.terminate();
    }
  });

  it('the CLI presents a client certificate with --client-cert and --client-key (or SESSCTL_CLIENT_CERT / _KEY)', async () => {
    const common = ['--store', tls.url, '--token-file', tokenFile, '--ca', path.join(dir, 'ca.crt'), '--json'];
    const withFlags = await runCli(['stats', ...common, '--client-cert', path.join(dir, 'client.crt'), '--client-key', path.join(dir, 'client.key')]);
    expect(withFlags.stderr).toBe('');
    expect(withFlags.code).toBe(0);
    expect(JSON.parse(withFlags.stdout)).toHaveProperty('total');
    const fromEnv = await runCli(['stats', ...common], { env: { SESSCTL_CLIENT_CERT: path.join(dir, 'client.crt'), SESSCTL_CLIENT_KEY: path.join(dir, 'client.key') } });
    expect(fromEnv.code).toBe(0);
    const without = await runCli(['stats', ...common.slice(0, -1)]);
    expect(without.code).toBe(1);
    expect(without.stderr.trim().split('\n')).toHaveLength(1);
    expect(without.stderr).toMatch(/^sessctl: sessctl daemon https:\/\/127\.0\.0\.1:\d+/);
    const halfPair = await runCli(['stats', ...common.slice(0, -1), '--client-cert', path.join(dir, 'client.crt')]);
    expect(halfPair.code).toBe(2);
    expect(halfPair.stderr).toMatch(/needs its key/);
  });
});
