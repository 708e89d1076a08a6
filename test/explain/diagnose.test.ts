/**
 * The diagnosis, pure, on real sessions: the server-side session Node's
 * newSession handed out (vector 07, session-id context "login-portal"), real
 * client sessions from openssl s_client (01, 04, 06), and tickets sealed in
 * OpenSSL's format (key name | IV | AES-128-CBC | HMAC-SHA256) around the
 * real server session DER with the ring's keys. Time is passed in.
 */
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { diagnose, explanationText, offerOf, parseSessionIdContext } from '../../src/lib/explain/index.js';
import { decodeSession } from '../../src/lib/session/codec.js';
import type { Session } from '../../src/lib/session/types.js';
import { entryFromDer } from '../../src/lib/store/entry.js';
import { createRing, currentKey, rotateRing, type KeyRing, type TicketKey } from '../../src/lib/tickets/ring.js';
import { VECTORS } from '../helpers/env.js';

const vector = (name: string): Buffer => readFileSync(path.join(VECTORS, `${name}.der`));
const serverDer = vector('07-server-tls12-dhe-rsa-aes128gcm-alpn');
const server = decodeSession(serverDer);
const serverId = server.sessionId.toString('hex');
const T = server.time!; // the session's creation; timeout 7200
const context = Buffer.from('login-portal');
const STORE = 'file:/var/lib/sessctl/sessions.db';

/** The server's copy in a store, as Node's newSession stored it. */
const storedEntry = (der = serverDer, options: { key?: string; role?: 'server' | 'client' } = {}) =>
  entryFromDer(der, { key: options.key ?? serverId, role: options.role ?? 'server', now: T });

/** A ticket as OpenSSL makes one: name | iv | AES-CBC(der) | HMAC-SHA256 over the rest. */
function sealTicket(der: Buffer, key: TicketKey): Buffer {
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-128-cbc', key.aesKey, iv);
  const body = Buffer.concat([key.name, iv, cipher.update(der), cipher.final()]);
  return Buffer.concat([body, createHmac('sha256', key.hmacKey).update(body).digest()]);
}

/** The client's side of the server session: a real s_client session holding `ticket` and the shared master secret. */
const clientHolding = (ticket: Buffer): Session => ({
  ...decodeSession(vector('01-client-tls12-ecdhe-rsa-aes256gcm-sni-ticket')),
  masterKey: server.masterKey,
  ticket,
  time: T,
  timeout: 7200,
});

const codes = (findings: { code: string }[]): string[] => findings.map((f) => f.code);

describe('session offered by session ID (the server cache)', () => {
  it('resumable: a live server session with the server\'s context', () => {
    const e = diagnose({ held: server, store: { url: STORE, entry: storedEntry() }, sessionIdContext: context, now: T + 60 });
    expect(e.verdict).toBe('resumes');
    expect(codes(e.reasons)).toEqual(['live-in-store']);
    expect(e.evidence.offer).toEqual({ kind: 'session-id', key: serverId });
    expect(e.evidence.lookup).toMatchObject({ key: serverId, found: true, entry: { role: 'server', expired: false, masterKeyMatches: true, sessionIdContext: { ascii: 'login-portal' } } });
    expect(explanationText(e).split('\n')[0]).toMatch(/^resumes: .* holds the server session/);
  });

  it('expired: says since when (the session\'s time + timeout)', () => {
    const e = diagnose({ held: server, store: { url: STORE, entry: storedEntry() }, sessionIdContext: context, now: T + 7200 + 90 });
    expect(e.verdict).toBe('will-not-resume');
    // The client's copy (same time and timeout) expired with it: that comes first.
    expect(codes(e.reasons)).toEqual(['client-expired', 'expired']);
    expect(e.reasons[1]!.message).toContain(new Date((T + 7200) * 1000).toISOString().replace('.000Z', 'Z'));
    expect(e.reasons[1]!.message).toContain('1m 30s ago');
    expect(e.evidence.lookup?.entry?.expires.fromNow).toBe(-90);
  });

  it("the client's own session expired and the server no longer has it: the expiry is the headline, with since when", () => {
    const client = decodeSession(vector('02-client-tls12-ecdhe-ecdsa-aes128gcm-sessionid-alpn'));
    const expiredAt = client.time! + client.timeout!;
    const e = diagnose({ held: client, store: { url: STORE, entry: undefined }, now: expiredAt + 3 * 3600 });
    expect(e.verdict).toBe('will-not-resume');
    expect(codes(e.reasons)).toEqual(['client-expired', 'not-in-store']);
    const headline = explanationText(e).split('\n')[0]!;
    expect(headline).toContain(`the client's session expired at ${new Date(expiredAt * 1000).toISOString().replace('.000Z', 'Z')} (3h ago)`);
    // Still live: the server's copy decides, and nothing is said about an expiry.
    const live = diagnose({ held: client, store: { url: STORE, entry: undefined }, now: expiredAt - 1 });
    expect(codes(live.reasons)).toEqual(['not-in-store']);
  });

  it('expired in the store before the session says so (insert --timeout): the earlier time wins', () => {
    const entry = entryFromDer(serverDer, { key: serverId, role: 'server', now: T, timeout: 60 });
    expect(diagnose({ held: server, store: { url: STORE, entry }, now: T + 61 }).reasons[0]!.code).toBe('expired');
  });

  it('unknown id: not in the store', () => {
    const e = diagnose({ id: serverId, store: { url: STORE, entry: undefined }, now: T });
    expect(e.verdict).toBe('will-not-resume');
    expect(codes(e.reasons)).toEqual(['not-in-store']);
    expect(e.evidence.lookup).toEqual({ key: serverId, found: false, entry: null });
  });

  it('context mismatch: the stored session was made under another session-id context', () => {
    const e = diagnose({ held: server, store: { url: STORE, entry: storedEntry() }, sessionIdContext: parseSessionIdContext('cdn-origin'), now: T + 60 });
    expect(e.verdict).toBe('will-not-resume');
    expect(codes(e.reasons)).toEqual(['context-mismatch']);
    expect(e.reasons[0]!.message).toContain('"login-portal"');
    expect(e.reasons[0]!.message).toContain('"cdn-origin"');
  });

  it('no context given: resumes, with a note that the context was not checked', () => {
    const e = diagnose({ held: server, store: { url: STORE, entry: storedEntry() }, now: T + 60 });
    expect(e.verdict).toBe('resumes');
    expect(codes(e.notes)).toContain('context-not-checked');
  });

  it('several findings at once are all reported', () => {
    const e = diagnose({ held: server, store: { url: STORE, entry: storedEntry() }, sessionIdContext: Buffer.from('x'), now: T + 9000 });
    expect(codes(e.reasons)).toEqual(['client-expired', 'expired', 'context-mismatch']);
  });

  it('another session under the same id (different master secret) will not resume; a client entry is not a server session', () => {
    const other = vector('08-server-tls12-ecdhe-ecdsa-aes128sha256-clientauth');
    expect(codes(diagnose({ held: server, store: { url: STORE, entry: storedEntry(other) }, now: T }).reasons)).toContain('master-key-mismatch');
    expect(codes(diagnose({ held: server, store: { url: STORE, entry: storedEntry(serverDer, { role: 'client' }) }, now: T }).reasons)).toEqual(['not-a-server-session']);
  });

  it('no store known: cannot tell', () => {
    const e = diagnose({ held: server, now: T });
    expect(e.verdict).toBe('undetermined');
    expect(codes(e.reasons)).toEqual(['no-store']);
  });
});

describe('session offered by ticket (the ring)', () => {
  const at = (ring: KeyRing) => ({ name: 'ring.json', ring });

  it('ticket under the current key: resumes; the ticket\'s inside is the server session', () => {
    const ring = createRing(T);
    const held = clientHolding(sealTicket(serverDer, currentKey(ring)));
    const e = diagnose({ held, ring: at(ring), sessionIdContext: context, store: { url: STORE, entry: undefined }, now: T + 60 });
    expect(e.verdict).toBe('resumes');
    expect(codes(e.reasons)).toEqual(['ticket-key-live']);
    expect(e.reasons[0]!.message).toContain(`the current key ${currentKey(ring).name.toString('hex')}`);
    expect(e.evidence.offer.kind).toBe('ticket');
    expect(e.evidence.lookup).toBeNull(); // a ticket is never looked up in the cache
    expect(codes(e.notes)).toContain('ticket-skips-store');
    expect(e.evidence.ticket).toMatchObject({ format: 'openssl', key: { known: true, state: 'current' }, mac: 'valid', inside: { masterKeyMatches: true, sessionIdContext: { ascii: 'login-portal' } } });
    expect(JSON.stringify(e)).not.toContain(server.masterKey.toString('hex'));
  });

  it('ticket under the previous key inside its window: resumes, and the server renews the ticket', () => {
    const ring = createRing(T, { keep: 3600 });
    const held = clientHolding(sealTicket(serverDer, currentKey(ring)));
    const rotated = rotateRing(ring, T + 60);
    const e = diagnose({ held, ring: at(rotated), now: T + 120 });
    expect(e.verdict).toBe('resumes');
    expect(e.evidence.ticket?.key?.state).toBe('previous');
    expect(codes(e.notes)).toContain('ticket-renewed');
  });

  it('ticket under a retired key (its decrypt window is over): will not resume, says since when', () => {
    const ring = createRing(T, { keep: 600 });
    const held = clientHolding(sealTicket(serverDer, currentKey(ring)));
    const rotated = rotateRing(ring, T + 60);
    const e = diagnose({ held, ring: at(rotated), now: T + 60 + 600 + 5 });
    expect(e.verdict).toBe('will-not-resume');
    expect(codes(e.reasons)).toEqual(['ticket-key-retired']);
    expect(e.reasons[0]!.message).toContain('(5s ago)');
    expect(codes(e.notes)).toContain('retired-key-still-held');
  });

  it('ticket under a key the ring does not hold: will not resume', () => {
    const held = clientHolding(sealTicket(serverDer, currentKey(createRing(T))));
    const e = diagnose({ held, ring: at(createRing(T)), now: T + 60 });
    expect(codes(e.reasons)).toEqual(['ticket-key-unknown']);
    expect(e.evidence.ticket?.key).toEqual({ known: false, state: null, decryptsUntil: null });
  });

  it('a tampered ticket fails its HMAC', () => {
    const ring = createRing(T);
    const ticket = sealTicket(serverDer, currentKey(ring));
    ticket[40]! ^= 1;
    expect(codes(diagnose({ held: clientHolding(ticket), ring: at(ring), now: T }).reasons)).toEqual(['ticket-mac-invalid']);
  });

  it('the session inside the ticket expired, or has another context', () => {
    const ring = createRing(T);
    const held = clientHolding(sealTicket(serverDer, currentKey(ring)));
    expect(codes(diagnose({ held, ring: at(ring), now: T + 7200 }).reasons)).toEqual(['client-expired', 'expired']);
    const mismatch = diagnose({ held, ring: at(ring), sessionIdContext: parseSessionIdContext('hex:00ff'), now: T });
    expect(codes(mismatch.reasons)).toEqual(['context-mismatch']);
    expect(mismatch.reasons[0]!.message).toContain('hex:00ff');
  });

  it('no ring: cannot tell, but the evidence names the ticket\'s key', () => {
    const client = decodeSession(vector('01-client-tls12-ecdhe-rsa-aes256gcm-sni-ticket'));
    const e = diagnose({ held: client, now: client.time! });
    expect(e.verdict).toBe('undetermined');
    expect(codes(e.reasons)).toEqual(['no-ring']);
    expect(e.evidence.ticket?.keyName).toBe(client.ticket!.subarray(0, 16).toString('hex'));
  });
});

describe('TLS 1.3', () => {
  it('a stateless ticket is offered as a ticket; past its lifetime the client no longer offers it', () => {
    const s = decodeSession(vector('04-client-tls13-aes128ccm-p384-sni'));
    expect(offerOf(s, undefined)).toEqual({ kind: 'ticket' });
    const e = diagnose({ held: s, ring: { name: 'r', ring: createRing(s.time!) }, now: s.time! + s.timeout! + 1 });
    expect(codes(e.reasons)).toEqual(['client-expired', 'ticket-key-unknown']);
  });

  it('a 32-byte ticket is stateful: looked up in the server cache under its hex', () => {
    const s = decodeSession(vector('06-client-tls13-aes128ccm-rsa3072-clientauth-earlydata'));
    const key = s.ticket!.toString('hex');
    expect(offerOf(s, undefined)).toEqual({ kind: 'stateful-ticket', key });
    const e = diagnose({ held: s, store: { url: STORE, entry: undefined }, now: s.time! });
    expect(codes(e.reasons)).toEqual(['not-in-store']);
    expect(codes(e.notes)).toContain('tls13-stateful-ticket');
    expect(e.evidence.lookup?.key).toBe(key);
  });

  it('a TLS 1.3 session without a ticket has nothing to offer', () => {
    const s = { ...decodeSession(vector('05-client-tls13-aes128ccm8-ed448-alpn')), ticket: undefined };
    expect(codes(diagnose({ held: s, now: s.time! }).reasons)).toEqual(['nothing-to-offer']);
  });
});

describe('parseSessionIdContext', () => {
  it('text, hex:, and the 32-byte limit', () => {
    expect(parseSessionIdContext('demo')).toEqual(Buffer.from('demo'));
    expect(parseSessionIdContext('hex:6c6f')).toEqual(Buffer.from('lo'));
    expect(parseSessionIdContext('')).toEqual(Buffer.alloc(0));
    expect(() => parseSessionIdContext('hex:xyz')).toThrow(/not hex/);
    expect(() => parseSessionIdContext('x'.repeat(33))).toThrow(/at most 32/);
  });
});
