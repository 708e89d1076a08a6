/**
 * Apache Traffic Server (Debian's trafficserver, 9.2) given its ticket keys
 * by `rotate-keys --write ats:FILE` (docs/TICKET-KEYS.md): tickets are under
 * the ring's current key and resume, under TLS 1.2 and 1.3; after a rotation
 * and `traffic_ctl config reload` a ticket from before still resumes and new
 * tickets are under the new current key; `--check` agrees with the server,
 * and what it says about a file changed by hand is what Traffic Server does
 * with that file.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentKey, decodeRing, previousKeys, type KeyRing } from '../../src/lib/tickets/ring.js';
import { requireTool, runCli, tempDir } from '../helpers/env.js';
import { makeCertificate, waitFor } from '../helpers/servers.js';
import { startTrafficServer, type TrafficServer } from '../helpers/trafficserver.js';
import { handshake, ticketKeyName } from './tls-probe.js';

const hasAts =
  requireTool('traffic_manager', 'trafficserver') && requireTool('traffic_server', 'trafficserver') && requireTool('traffic_ctl', 'trafficserver') && requireTool('openssl', 'openssl');

type Tls = '1.2' | '1.3';
const VERSIONS: Tls[] = ['1.2', '1.3'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!hasAts)('Traffic Server ticket_key.filename written by rotate-keys --write ats:FILE', () => {
  const tmp = tempDir('sessctl-ats-');
  const dir = tmp.dir;
  const p = (name: string): string => path.join(dir, name);
  const keyFile = p('tickets.key');
  const output = 'ats:tickets.key';
  let ats: TrafficServer;
  /** When a reload was last seen to take effect (Traffic Server's load time is before it). */
  let lastLoadSeen = 0;

  const ring = (): KeyRing => decodeRing(readFileSync(p('ring.json')), 'ring.json');
  const hex = (b: Buffer): string => b.toString('hex');
  const short = (b: Buffer): string => hex(b).slice(0, 8);
  /** The key name of a fresh ticket (saved to `file`), or undefined while Traffic Server is not answering. */
  const freshTicketKey = (file: string, tls: Tls = '1.2'): string | undefined => {
    try {
      handshake(ats.port, { sessOut: p(file), tls });
      return ticketKeyName(p(file));
    } catch {
      return undefined;
    }
  };
  const check = (extra: string[] = []) => runCli(['rotate-keys', '--ring', 'ring.json', '--check', '--write', output, ...extra], { cwd: dir });
  const probe = (): string[] => ['--probe', `127.0.0.1:${ats.port}`];
  /**
   * Traffic Server 9.2 reads the file again only when its mtime (whole
   * seconds) is later than its last load (iocore/net/SSLConfig.cc,
   * `SSLTicketParams::LoadTicket`): write only once the clock has passed
   * the second in which the last reload was seen to take effect.
   */
  const afterLastLoad = async (): Promise<void> => {
    const wait = (Math.floor(lastLoadSeen / 1000) + 1) * 1000 - Date.now();
    if (wait > 0) await sleep(wait + 20);
  };
  /** `traffic_ctl config reload`, then wait until `applied` (traffic_server applies it a few seconds later). */
  const reloadUntil = async (what: string, applied: () => boolean): Promise<void> => {
    ats.reload();
    await waitFor(what, applied, 30_000);
    lastLoadSeen = Date.now();
  };

  beforeAll(async () => {
    const created = await runCli(['rotate-keys', '--ring', 'ring.json', '--keep', '1h', '--write', output], { cwd: dir });
    if (created.code !== 0) throw new Error(`rotate-keys failed: ${created.stderr}`);
    const { cert, key } = makeCertificate(dir);
    ats = await startTrafficServer(dir, { cert, key, ticketKeyFile: keyFile });
    lastLoadSeen = Date.now();
  }, 60_000);
  afterAll(async () => {
    await ats?.stop();
    tmp.cleanup();
  });

  it('issues tickets under the ring\'s current key that resume, TLS 1.2 and 1.3; --check finds no drift', async () => {
    const current = hex(currentKey(ring()).name);
    for (const tls of VERSIONS) {
      expect(freshTicketKey(`first-${tls}.pem`, tls), `TLS ${tls}`).toBe(current);
      expect(handshake(ats.port, { sessIn: p(`first-${tls}.pem`), tls }), `TLS ${tls}`).toBe('Reused');
    }
    const r = await check(probe());
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`consistent: ${output}, 127.0.0.1:${ats.port} hold the ring ring.json\n`);
    expect(r.code).toBe(0);
  }, 60_000);

  it('after rotate-keys and traffic_ctl config reload: tickets from before resume, new ones are under the new current key', async () => {
    const first = hex(currentKey(ring()).name);
    await afterLastLoad();
    const rotated = await runCli(['rotate-keys', '--ring', 'ring.json', '--keep', '1h', '--write', output], { cwd: dir });
    expect(rotated.stderr).toBe('');
    expect(rotated.code).toBe(0);
    const second = hex(currentKey(ring()).name);
    expect(second).not.toBe(first);
    expect(previousKeys(ring(), Math.floor(Date.now() / 1000)).map((k) => hex(k.name))).toContain(first);

    // The file is the ring's; Traffic Server has not read it yet: only the probe drifts.
    const early = await check(probe());
    expect(early.stdout).toMatch(new RegExp(`^127\\.0\\.0\\.1:${ats.port}: encrypts under the ring's previous key ${first.slice(0, 8)}: not reloaded since the rotation at [^\\n]+\\n$`));
    expect(early.code).toBe(4);

    await reloadUntil('Traffic Server to encrypt under the new current key', () => freshTicketKey('second-1.2.pem') === second);
    for (const tls of VERSIONS) {
      expect(handshake(ats.port, { sessIn: p(`first-${tls}.pem`), tls }), `TLS ${tls} ticket from before the rotation`).toBe('Reused');
      expect(freshTicketKey(`second-${tls}.pem`, tls), `TLS ${tls}`).toBe(second);
      expect(handshake(ats.port, { sessIn: p(`second-${tls}.pem`), tls }), `TLS ${tls}`).toBe('Reused');
    }
    const r = await check(probe());
    expect(r.stdout).toBe(`consistent: ${output}, 127.0.0.1:${ats.port} hold the ring ring.json\n`);
    expect(r.code).toBe(0);
  }, 120_000);

  it('a second rotation with --exec "traffic_ctl config reload": both older keys still decrypt', async () => {
    const [first, second] = [hex(previousKeys(ring(), Math.floor(Date.now() / 1000))[0]!.name), hex(currentKey(ring()).name)];
    await afterLastLoad();
    const rotated = await runCli(['rotate-keys', '--ring', 'ring.json', '--keep', '1h', '--write', output, '--exec', ats.reloadCommand], { cwd: dir });
    expect(rotated.stderr).toBe('');
    expect(rotated.code).toBe(0);
    const third = hex(currentKey(ring()).name);
    expect([first, second]).not.toContain(third);
    await waitFor('Traffic Server to encrypt under the third key', () => freshTicketKey('third-1.2.pem') === third, 30_000);
    lastLoadSeen = Date.now();
    // The file holds current, next and both previous keys: 4 x 48 bytes.
    expect(readFileSync(keyFile)).toHaveLength(4 * 48);
    for (const tls of VERSIONS) {
      expect(handshake(ats.port, { sessIn: p(`first-${tls}.pem`), tls }), `TLS ${tls} ticket under the first key`).toBe('Reused');
      expect(handshake(ats.port, { sessIn: p(`second-${tls}.pem`), tls }), `TLS ${tls} ticket under the second key`).toBe('Reused');
    }
    expect((await check(probe())).code).toBe(0);
  }, 120_000);

  it('a secret edited by hand: --check names it, and Traffic Server indeed no longer resumes tickets under that key', async () => {
    const original = readFileSync(keyFile);
    const name = original.subarray(0, 16);
    expect(hex(name)).toBe(hex(currentKey(ring()).name));
    expect(freshTicketKey('before-edit.pem')).toBe(hex(name));
    expect(handshake(ats.port, { sessIn: p('before-edit.pem') })).toBe('Reused');

    await afterLastLoad();
    const edited = Buffer.from(original);
    edited[16] ^= 0xff; // the first byte of key 1's HMAC secret (name16 | hmac16 | aes16)
    writeFileSync(keyFile, edited);
    const r = await check();
    expect(r.stdout).toBe(`${output}: key 1 holds key ${short(name)} (it encrypts) with other secret bytes than the ring's: edited by hand?\n`);
    expect(r.code).toBe(4);

    // Same key name, other HMAC secret: the ticket's MAC no longer verifies, a full handshake.
    await reloadUntil('Traffic Server to read the edited file', () => handshake(ats.port, { sessIn: p('before-edit.pem') }) === 'New');
    expect(handshake(ats.port, { sessIn: p('first-1.2.pem') })).toBe('Reused'); // the other keys are intact
  }, 120_000);

  it('a file that is not N x 48 bytes: --check says what Traffic Server reads of it, and it does', async () => {
    // 53 bytes: one key not in the ring, then 5 bytes more. Traffic Server reads the key and ignores the rest.
    await afterLastLoad();
    const stranger = randomBytes(48);
    writeFileSync(keyFile, Buffer.concat([stranger, randomBytes(5)]));
    const odd = await check();
    expect(odd.stdout).toBe(`${output}: 53 bytes, not a multiple of 48: Traffic Server reads 1 key from it and ignores the last 5 bytes\n`);
    expect(odd.code).toBe(4);
    await reloadUntil('Traffic Server to encrypt under the key of the 53-byte file', () => freshTicketKey('stranger.pem') === hex(stranger.subarray(0, 16)));
    expect(handshake(ats.port, { sessIn: p('stranger.pem') })).toBe('Reused');

    // 20 bytes: refused; Traffic Server keeps the keys it had.
    await afterLastLoad();
    writeFileSync(keyFile, randomBytes(20));
    const short20 = await check();
    expect(short20.stdout).toBe(`${output}: 20 bytes: Traffic Server refuses a key file shorter than 48 bytes and keeps the keys it had\n`);
    expect(short20.code).toBe(4);
    await reloadUntil('Traffic Server to refuse the 20-byte file', () => /SSL session ticket key is too short/.test(ats.diags()));
    expect(freshTicketKey('after-short.pem')).toBe(hex(stranger.subarray(0, 16)));
    expect(handshake(ats.port, { sessIn: p('stranger.pem') })).toBe('Reused');
  }, 120_000);
});
