/**
 * The commands through the daemon backend, as an operator types them:
 * `--store http://127.0.0.1:PORT --token-file F` against a real `sessctl serve`.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, freePort, runCli, tempDir } from '../helpers/env.js';
import { startServe, type ServeChild } from '../helpers/serve.js';

const TOKEN = 'cli-test-token-5d2e8f0a';
const SESSIONS = path.join(ROOT, 'examples/sessions');
const ALPN_SESSION = '0aa8ff031964b74a068aa56043fce8458ae64dc7441bd5e7793452ae88c54d21';
const SNI_SESSION = 'f59379243e20337d14a6faa62341acd7f42016e59f6d940a45b9defe2f4187c8';

let tmp: ReturnType<typeof tempDir>;
let daemon: ServeChild;
let via: string[];

beforeAll(async () => {
  tmp = tempDir('sessctl-daemon-cli-');
  const tokenFile = path.join(tmp.dir, 'token');
  writeFileSync(tokenFile, TOKEN, { mode: 0o600 });
  daemon = await startServe(['--listen', `127.0.0.1:${await freePort()}`, '--store', path.join(tmp.dir, 'sessions.db'), '--token-file', tokenFile]);
  via = ['--store', daemon.url, '--token-file', tokenFile];
});

afterAll(async () => {
  await daemon?.stop();
  tmp?.cleanup();
});

describe('commands through the daemon', () => {
  it('insert, list, get, stats, remove, flush', async () => {
    const insert = await runCli(['insert', '--keep-expired', path.join(SESSIONS, '01-client-tls12-ecdhe-rsa-aes256gcm-sni-ticket.pem'), path.join(SESSIONS, '07-server-tls12-dhe-rsa-aes128gcm-alpn.pem'), ...via]);
    expect(insert.stderr).toBe('');
    expect(insert.code).toBe(0);

    const list = await runCli(['list', '--json', ...via]);
    expect(list.code).toBe(0);
    const ids = (JSON.parse(list.stdout) as { id: string }[]).map((e) => e.id).sort();
    expect(ids).toEqual([ALPN_SESSION, SNI_SESSION]);

    const get = await runCli(['get', ALPN_SESSION, '--json', ...via]);
    expect(get.code).toBe(0);
    expect(get.stdout).toContain('xmpp-client');

    const stats = await runCli(['stats', '--json', ...via]);
    expect(stats.code).toBe(0);
    const s = JSON.parse(stats.stdout) as { total: number; counters: { inserts: number } };
    expect(s.total).toBe(2);
    expect(s.counters.inserts).toBe(2);

    const remove = await runCli(['remove', SNI_SESSION, '--yes', ...via]);
    expect(remove.code).toBe(0);
    const missing = await runCli(['get', SNI_SESSION, ...via]);
    expect(missing.code).toBe(3);

    const flush = await runCli(['flush', '--all', '--yes', '--json', ...via]);
    expect(flush.code).toBe(0);
    expect(JSON.parse(flush.stdout)).toMatchObject({ removed: 1 });
    const empty = await runCli(['list', '--json', ...via]);
    expect(JSON.parse(empty.stdout)).toEqual([]);
  });

  it('fails with one line on a wrong token or a daemon that is not there', async () => {
    const wrongFile = path.join(tmp.dir, 'wrong');
    writeFileSync(wrongFile, 'nope', { mode: 0o600 });
    const wrong = await runCli(['list', '--store', daemon.url, '--token-file', wrongFile]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toBe(`sessctl: the daemon ${daemon.url} refused the token\n`);

    const twoLines = path.join(tmp.dir, 'two-lines');
    writeFileSync(twoLines, `${TOKEN}\nsecond line\n`, { mode: 0o600 });
    const broken = await runCli(['list', '--store', daemon.url, '--token-file', twoLines]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toBe(`sessctl: token file ${twoLines} holds a line break or another control character: a token is one line\n`);

    const port = await freePort();
    const gone = await runCli(['stats', '--store', `http://127.0.0.1:${port}`], { env: { SESSCTL_TOKEN: TOKEN } });
    expect(gone.code).toBe(1);
    expect(gone.stderr).toBe(`sessctl: sessctl daemon http://127.0.0.1:${port} is not answering (connection refused)\n`);
  });
});
