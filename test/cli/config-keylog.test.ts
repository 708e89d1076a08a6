/**
 * Settings precedence (flag > environment > config file > default) through
 * real commands, and `get --keylog`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { runCli, tempDir, VECTORS as VECTOR_DIR } from '../helpers/env.js';
import { VECTORS } from '../session/vectors.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const pem = (i: number) => path.join(VECTOR_DIR, `${VECTORS[i]!.name}.pem`);
const id = (i: number) => VECTORS[i]!.truth.session_id_hex.toLowerCase();

describe('settings precedence', () => {
  const configHome = path.join(tmp.dir, 'config');
  const env = { XDG_CONFIG_HOME: configHome, XDG_STATE_HOME: path.join(tmp.dir, 'state'), SESSCTL_STORE: undefined, SESSCTL_CONFIG: undefined };
  mkdirSync(path.join(configHome, 'sessctl'), { recursive: true });
  writeFileSync(path.join(configHome, 'sessctl', 'config.json'), JSON.stringify({ store: 'from-config.db' }));
  const fromConfig = path.join(configHome, 'sessctl', 'from-config.db');
  const fromEnv = path.join(tmp.dir, 'from-env.db');
  const fromFlag = path.join(tmp.dir, 'from-flag.db');

  test('the config file beats the default; the environment beats the config file; the flag beats both', async () => {
    expect((await runCli(['insert', '--keep-expired', pem(0)], { env })).code).toBe(0);
    expect((await runCli(['insert', '--keep-expired', pem(1)], { env: { ...env, SESSCTL_STORE: fromEnv } })).code).toBe(0);
    expect((await runCli(['insert', '--keep-expired', pem(2), '--store', fromFlag], { env: { ...env, SESSCTL_STORE: fromEnv } })).code).toBe(0);
    const ids = async (store: string) => JSON.parse((await runCli(['list', '--json', '--store', store])).stdout).map((x: { id: string }) => x.id);
    expect(await ids(fromConfig)).toEqual([id(0)]);
    expect(await ids(fromEnv)).toEqual([id(1)]);
    expect(await ids(fromFlag)).toEqual([id(2)]);
  });

  test('sessctl config says which value came from where', async () => {
    const r = await runCli(['config', '--json'], { env: { ...env, SESSCTL_RING: '/etc/ring.json' } });
    expect(r.code, r.stderr).toBe(0);
    const c = JSON.parse(r.stdout);
    const by = (name: string) => c.settings.find((s: { name: string }) => s.name === name);
    expect(by('store')).toMatchObject({ value: fromConfig, source: 'config' });
    expect(by('ring')).toMatchObject({ value: '/etc/ring.json', source: 'env' });
    expect(by('ca')).toMatchObject({ value: null, source: 'unset' });
  });

  test('a broken config file is one clear error, not a silent default', async () => {
    const broken = path.join(tmp.dir, 'broken.json');
    writeFileSync(broken, '{"store": ');
    const r = await runCli(['list'], { env: { ...env, SESSCTL_CONFIG: broken } });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^sessctl: config file .*broken\.json is not valid JSON/);
    writeFileSync(broken, '{"stor": "x"}');
    const unknown = await runCli(['list'], { env: { ...env, SESSCTL_CONFIG: broken } });
    expect(unknown.stderr.trim()).toMatch(/unknown setting "stor"/);
  });
});

describe('get --keylog', () => {
  test('a TLS 1.2 session gives the Wireshark line with its session id and master key, and says it shows secrets', async () => {
    const v = VECTORS.find((x) => x.truth.protocol === 'TLSv1.2')!;
    const r = await runCli(['get', '--in', path.join(VECTOR_DIR, `${v.name}.pem`), '--keylog']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(`RSA Session-ID:${v.truth.session_id_hex.toLowerCase()} Master-Key:${v.truth.master_key_hex.toLowerCase()}`);
    expect(r.stderr).toMatch(/showing secrets/);
  });

  test('a TLS 1.3 session is refused with the reason, and nothing secret is printed', async () => {
    const v = VECTORS.find((x) => x.truth.protocol === 'TLSv1.3')!;
    const r = await runCli(['get', '--in', path.join(VECTOR_DIR, `${v.name}.pem`), '--keylog']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.toUpperCase()).not.toContain(v.truth.master_key_hex);
    expect(r.stderr).toMatch(/TLS 1\.3/);
  });
});
