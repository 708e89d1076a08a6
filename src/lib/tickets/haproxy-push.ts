/**
 * `rotate-keys --haproxy-socket`: bring a running HAProxy's in-memory ticket
 * keys to the ring's, over its admin socket (haproxy-socket.ts). HAProxy's
 * `set ssl tls-key` changes memory only; the file is written by the haproxy
 * output and read at the next restart.
 */
import { SessctlError } from '../errors.js';
import { haproxyKeyLine } from './formats/haproxy.js';
import { findTlsKeyRef, setTlsKey, showTlsKeys } from './haproxy-socket.js';
import { currentKey, nextKey, previousKeys, type KeyRing } from './ring.js';

export interface HaproxyPush {
  socket: string;
  /** The tls-ticket-keys file HAProxy names the keys by. */
  ref: string;
  /** Key names pushed, in order. */
  pushed: string[];
  /** Key names HAProxy holds afterwards, oldest first. */
  keys: string[];
}

/**
 * Bring HAProxy's in-memory ring to [previous, current, next] of `ring`. When
 * its newest key is the new current key (it was in sync before this
 * rotation), one `set ssl tls-key` with the new next key does it; otherwise
 * push all three keys, oldest first. Then read back `show tls-keys`.
 * `file` is the haproxy output's path, when there is one.
 */
export async function pushToHaproxy(socket: string, ring: KeyRing, now: number, file: string | undefined): Promise<HaproxyPush> {
  const ref = await findTlsKeyRef(socket, file);
  const before = await showTlsKeys(socket, ref);
  const current = currentKey(ring);
  const next = nextKey(ring);
  const names = (keys: Buffer[]): string[] => keys.map((k) => k.subarray(0, 16).toString('hex'));
  const held = names(before);
  if (held[held.length - 2] === current.name.toString('hex') && held[held.length - 1] === next.name.toString('hex')) {
    return { socket, ref, pushed: [], keys: held };
  }
  const inSync = held[held.length - 1] === current.name.toString('hex');
  const previous = previousKeys(ring, now)[0];
  const push = inSync ? [next] : [...(previous ? [previous] : []), current, next];
  for (const key of push) await setTlsKey(socket, ref, haproxyKeyLine(key));
  const after = names(await showTlsKeys(socket, ref));
  if (after[after.length - 2] !== current.name.toString('hex') || after[after.length - 1] !== next.name.toString('hex')) {
    throw new SessctlError(`HAProxy ${ref} does not hold the ring's current and next keys after the push`);
  }
  return { socket, ref, pushed: push.map((k) => k.name.toString('hex')), keys: after };
}
