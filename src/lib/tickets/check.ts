/**
 * `rotate-keys --check`: is what the servers use the ring? Read-only: reads
 * back every output as its server reads it (formats/*.ts `load`), asks a
 * running HAProxy for the keys it holds in memory (`show tls-keys`), and
 * connects to servers (`--probe`) to see which key the tickets they issue
 * are under. Each difference is one drift, in one line, naming the output
 * and what a person has to do about it.
 *
 * Compared: every key an output holds must be the ring's (same name and the
 * same secret bytes: a key from another ring or edited by hand is named);
 * the key the server encrypts with must be the ring's current key; every key
 * of the ring the output should hold must be there; no retired key may be.
 * Which file holds which decrypting key does not matter to the servers and
 * is not compared.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { NotFoundError, SessctlError } from '../errors.js';
import { connectOnce, defaultSni, type ProbeTarget, type StartTlsProtocol } from '../probe/connection.js';
import { describeIoError } from './atomic.js';
import { FORMATS, outputLabel, type LoadedKey, type OutputSpec, type ReadFile, type RenderContext } from './formats/index.js';
import { loadHaproxyKeys } from './formats/haproxy.js';
import { findTlsKeyRef, showTlsKeys } from './haproxy-socket.js';
import type { RingStorage } from './ring-storage.js';
import { currentKey, decryptsUntil, findKey, keyState, type KeyRing, type TicketKey } from './ring.js';

/** How long one --probe connection may take. */
const PROBE_TIMEOUT_MS = 10_000;

export interface CheckOptions {
  ring: RingStorage;
  now: number;
  outputs: OutputSpec[];
  /** HAProxy's admin socket: compare the keys it holds in memory. */
  haproxySocket?: string;
  /** Servers to connect to: their new tickets must be under the ring's current key. */
  probes?: ProbeTarget[];
  probeTimeoutMs?: number;
  /** Speak this mail protocol before each probe's handshake (the probe library's STARTTLS). */
  starttls?: StartTlsProtocol;
  /** --if-older-than, as the rotation runs it (lighttpd's key file carries an expiry computed from it). */
  rotationPeriod?: number;
}

export type DriftCode =
  | 'unreadable'
  | 'foreign-key'
  | 'altered-key'
  | 'stale-encrypting-key'
  | 'no-encrypting-key'
  | 'missing-key'
  | 'retired-key'
  | 'pending'
  | 'unreachable'
  | 'no-ticket';

export interface Drift {
  /** What drifted: an output (`nginx:/etc/nginx/tickets`), a HAProxy socket, a probe target, a host with pending steps. */
  target: string;
  code: DriftCode;
  /** One line, starting with the target. */
  message: string;
}

export interface CheckReport {
  ring: string;
  /** Nothing drifted. */
  consistent: boolean;
  /** What was compared with the ring. */
  checked: string[];
  drifts: Drift[];
}

const short = (name: Buffer | string): string => (typeof name === 'string' ? name : name.toString('hex')).slice(0, 8);
const isoTime = (t: number): string => new Date(t * 1000).toISOString().replace('.000Z', 'Z');

export async function checkRing(options: CheckOptions): Promise<CheckReport> {
  const ring = await options.ring.read();
  if (!ring) throw new NotFoundError(`no ticket-key ring at ${options.ring.name}: nothing to check against`);
  const { now } = options;
  const drifts: Drift[] = [];
  const checked: string[] = [];

  for (const p of ring.pending ?? []) {
    drifts.push({ target: p.host, code: 'pending', message: `${p.host}: the steps of the rotation are pending since ${isoTime(p.since)} (${p.reason}): its servers may not have the ring's keys` });
  }

  for (const o of options.outputs) {
    const label = outputLabel(o);
    checked.push(label);
    const context: RenderContext = { now, path: o.path, ...(options.rotationPeriod === undefined ? {} : { rotationPeriod: options.rotationPeriod }) };
    let actual: LoadedKey[];
    try {
      actual = await o.format.load(diskReader(o), context);
    } catch (err) {
      if (!(err instanceof SessctlError)) throw err;
      drifts.push({ target: label, code: 'unreadable', message: `${label}: ${err.message}` });
      continue;
    }
    drifts.push(...compare(label, actual, await expectedKeys(ring, o, context), ring, now));
  }

  if (options.haproxySocket) {
    const socket = options.haproxySocket;
    const file = options.outputs.find((o) => o.format.name === 'haproxy')?.path;
    let label = `HAProxy ${socket}`;
    try {
      const ref = await findTlsKeyRef(socket, file);
      label = `HAProxy ${socket} (${ref})`;
      checked.push(label);
      const actual = loadHaproxyKeys(await showTlsKeys(socket, ref), (i) => `runtime key ${i + 1}`);
      const expected = await expectedKeys(ring, { format: FORMATS.haproxy, path: ref }, { now, path: ref });
      drifts.push(...compare(label, actual, expected, ring, now));
    } catch (err) {
      if (!(err instanceof SessctlError)) throw err;
      drifts.push({ target: label, code: 'unreachable', message: `${label}: cannot read its keys: ${err.message}` });
    }
  }

  for (const target of options.probes ?? []) {
    checked.push(target.label);
    drifts.push(...(await probe(target, ring, now, options.probeTimeoutMs ?? PROBE_TIMEOUT_MS, options.starttls)));
  }

  return { ring: options.ring.name, consistent: drifts.length === 0, checked, drifts };
}

/** Reads an output's files from disk; a missing or unreadable file is a SessctlError naming it. */
function diskReader(o: OutputSpec): ReadFile {
  return async (name) => {
    const file = name === '' ? o.path : path.isAbsolute(name) ? name : path.join(o.path, name);
    try {
      return await fs.readFile(file);
    } catch (err) {
      throw new SessctlError(`${file}: ${describeIoError(err)}`);
    }
  };
}

/** What the output would hold if it were written from the ring now: its own files, loaded the same way. */
async function expectedKeys(ring: KeyRing, o: OutputSpec, context: RenderContext): Promise<LoadedKey[]> {
  const files = o.format.render(ring, context);
  return o.format.load(async (name) => {
    const found = files.find((f) => f.name === name || (f.name !== '' && path.join(path.resolve(o.path), f.name) === name));
    if (!found) throw new SessctlError(`${name} is not a file of the ${o.format.name} layout`);
    return found.data;
  }, context);
}

function sameSecrets(loaded: LoadedKey, key: TicketKey): boolean {
  // h2o writes the HMAC key as 64 bytes, zeros after the ring's: the same key for HMAC (RFC 2104).
  const hmac = loaded.hmacKey;
  const padding = hmac.subarray(key.hmacKey.length);
  return loaded.aesKey.equals(key.aesKey) && hmac.subarray(0, key.hmacKey.length).equals(key.hmacKey) && padding.every((b) => b === 0);
}

function describeRingKey(ring: KeyRing, key: TicketKey, now: number): string {
  const state = keyState(ring, key, now);
  if (state === 'previous' || state === 'retired') return `the ring's ${state} key ${short(key.name)}: not rotated since ${isoTime(key.demotedAt ?? key.createdAt)}`;
  if (state === 'next') return `the ring's next key ${short(key.name)}: ahead of the ring (rotated by another ring's run?)`;
  return `the ring's current key ${short(key.name)}`;
}

/** A key the ring keeps for its window but outputs with fewer slots no longer hold (rotate's notHeldBy): what that means for its tickets. */
function notHeldNote(key: TicketKey): string {
  if (!key.notHeldBy?.length) return '';
  return `, which the servers of ${key.notHeldBy.join(', ')} are no longer given (fewer key slots than the decrypt window): servers that were reloaded give its tickets full handshakes`;
}

/** The drifts between what a server holds (`actual`) and what the ring says it should (`expected`). */
function compare(label: string, actual: LoadedKey[], expected: LoadedKey[], ring: KeyRing, now: number): Drift[] {
  const drifts: Drift[] = [];
  const add = (code: DriftCode, message: string): void => {
    drifts.push({ target: label, code, message: `${label}: ${message}` });
  };
  const reported = new Set<string>();
  for (const k of actual) {
    const hex = k.name.toString('hex');
    if (reported.has(hex)) continue;
    reported.add(hex);
    const key = findKey(ring, k.name);
    const role = k.encrypts ? ' (it encrypts)' : '';
    if (!key) add('foreign-key', `${k.where} holds key ${short(hex)}${role}, which is not in the ring: another ring's key?`);
    else if (!sameSecrets(k, key)) add('altered-key', `${k.where} holds key ${short(hex)}${role} with other secret bytes than the ring's: edited by hand?`);
    else if (keyState(ring, key, now) === 'retired') add('retired-key', `${k.where} holds the ring's retired key ${short(hex)}: its decrypt window ended at ${isoTime(decryptsUntil(ring, key)!)}`);
  }
  const encrypting = actual.find((k) => k.encrypts);
  const wanted = expected.find((k) => k.encrypts);
  if (!encrypting) {
    add('no-encrypting-key', 'no key encrypts (the servers issue no ticket, or one under a throw-away key)');
  } else if (wanted && !encrypting.name.equals(wanted.name)) {
    const key = findKey(ring, encrypting.name);
    if (key) add('stale-encrypting-key', `encrypts with ${encrypting.where}, ${describeRingKey(ring, key, now)}`);
  }
  const held = new Set(actual.map((k) => k.name.toString('hex')));
  for (const k of expected) {
    const hex = k.name.toString('hex');
    if (held.has(hex)) continue;
    const key = findKey(ring, k.name)!;
    held.add(hex);
    add('missing-key', `lacks the ring's ${keyState(ring, key, now)} key ${short(hex)}`);
  }
  return drifts;
}

/** One connection: the ticket the server issues must be under the ring's current key. */
async function probe(target: ProbeTarget, ring: KeyRing, now: number, timeoutMs: number, starttls: StartTlsProtocol | undefined): Promise<Drift[]> {
  const drift = (code: DriftCode, message: string): Drift[] => [{ target: target.label, code, message: `${target.label}: ${message}` }];
  let tickets;
  try {
    const sni = defaultSni(target);
    // Only the key name of the ticket matters here, not who the server is: the certificate is not verified.
    const c = await connectOnce({ host: target.host, port: target.port, ...(sni === undefined ? {} : { sni }), timeoutMs, insecure: true, ...(starttls === undefined ? {} : { starttls }) });
    tickets = c.tickets;
  } catch (err) {
    if (!(err instanceof SessctlError)) throw err;
    return drift('unreachable', `cannot probe: ${err.message.replace(`${target.label}: `, '')}`);
  }
  if (tickets.length === 0) return drift('no-ticket', 'issued no session ticket');
  const current = currentKey(ring).name.toString('hex');
  const names = [...new Set(tickets.flatMap((t) => (t.keyName === null ? [] : [t.keyName])))];
  const out: Drift[] = [];
  // A ticket not in OpenSSL's format names no key (e.g. a 32-byte TLS 1.3 stateful ticket): not under the ring either.
  const opaque = tickets.find((t) => t.keyName === null);
  if (opaque) out.push(...drift('foreign-key', `issues ${opaque.length}-byte tickets not in OpenSSL's format: they name no key of the ring`));
  for (const name of names) {
    if (name === current) continue;
    const key = findKey(ring, Buffer.from(name, 'hex'));
    if (!key) out.push(...drift('foreign-key', `encrypts under key ${short(name)}, which is not in the ring: another ring's key?`));
    else out.push(...drift('stale-encrypting-key', `encrypts under ${describeRingKey(ring, key, now).replace('not rotated since', 'not reloaded since the rotation at')}${notHeldNote(key)}`));
  }
  return out;
}
