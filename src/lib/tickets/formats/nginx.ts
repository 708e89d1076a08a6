/**
 * nginx `ssl_session_ticket_key FILE;` (src/event/ngx_event_openssl.c,
 * ngx_ssl_session_ticket_keys): one raw file per directive, 48 or 80 bytes;
 * as many directives as wanted; the first one's key encrypts, every one
 * decrypts (ngx_ssl_session_ticket_key_callback looks the ticket's key name
 * up in all of them).
 *
 *   48 bytes: name16 | aes16 | hmac16
 *   80 bytes: name16 | hmac32 | aes32
 *
 * Two layouts of DIR, both with nginx.conf fixed for good:
 *
 * `nginx:DIR`, three slots, the layout the README has always shown:
 *
 *   ssl_session_ticket_key DIR/current.key;    # first: encrypts
 *   ssl_session_ticket_key DIR/previous.key;
 *   ssl_session_ticket_key DIR/next.key;
 *
 *   previous.key holds the newest previous key (the current key again while
 *   there is none). A decrypt window holding more previous keys than that
 *   cannot be loaded by this nginx.conf: the older keys are dropped from
 *   this output and named (the ring records them as not held by it).
 *   Files previous-2.key... that older sessctl versions wrote are removed:
 *   this nginx.conf never loaded them.
 *
 * `nginx-include:DIR`, the layout that holds any window: the same slot files
 * plus previous-2.key, previous-3.key... as the window needs, and
 * DIR/ticket-keys.conf, one directive per file (current first), for
 *
 *   include DIR/ticket-keys.conf;
 *
 * The include file is written after the key files it names; slots no longer
 * named are removed after it.
 */
import path from 'node:path';
import { SessctlError } from '../../errors.js';
import { currentKey, nextKey, previousKeys, type KeyRing, type TicketKey } from '../ring.js';
import { nameAesHmac, nameHmacAes, readNameAesHmac, readNameHmacAes } from './layout.js';
import type { LoadedKey, OutputFile, ReadFile, RenderContext } from './types.js';

export const NGINX_INCLUDE_FILE = 'ticket-keys.conf';

export function nginxKeyBytes(key: Pick<TicketKey, 'name' | 'aesKey' | 'hmacKey'>): Buffer {
  return key.aesKey.length === 16 ? nameAesHmac(key as TicketKey) : nameHmacAes(key as TicketKey);
}

/** One key file as nginx reads it (48 or 80 bytes, else nginx refuses to start). */
export function readNginxKey(bytes: Buffer, where: string): Omit<LoadedKey, 'encrypts' | 'where'> {
  const parts = bytes.length === 48 ? readNameAesHmac(bytes) : bytes.length === 80 ? readNameHmacAes(bytes) : undefined;
  if (!parts) throw new SessctlError(`${where} is ${bytes.length} bytes: nginx takes 48 or 80`);
  return parts;
}

/** Slot file names in directive order: current, previous, previous-2..., next. */
export function nginxSlotNames(previousSlots: number): string[] {
  const previous = Array.from({ length: previousSlots }, (_, i) => (i === 0 ? 'previous.key' : `previous-${i + 1}.key`));
  return ['current.key', ...previous, 'next.key'];
}

/** The slot number of a previous-N.key file name (previous.key is 1), or undefined. */
export function previousSlotNumber(fileName: string): number | undefined {
  if (fileName === 'previous.key') return 1;
  const m = /^previous-([1-9][0-9]{0,2})\.key$/.exec(fileName);
  return m ? Number(m[1]) : undefined;
}

/** The three-slot layout's keys: current, the newest previous (or current again), next. */
function threeSlotKeys(ring: KeyRing, now: number): TicketKey[] {
  const current = currentKey(ring);
  return [current, previousKeys(ring, now)[0] ?? current, nextKey(ring)];
}

/** `nginx:DIR`: current.key, previous.key, next.key. */
export function nginxFiles(ring: KeyRing, now: number): OutputFile[] {
  const keys = threeSlotKeys(ring, now);
  return nginxSlotNames(1).map((name, i) => ({ name, data: nginxKeyBytes(keys[i]!) }));
}

export function nginxHolds(ring: KeyRing, now: number): TicketKey[] {
  return threeSlotKeys(ring, now);
}

/** `nginx-include:DIR`: a slot per key of the window, then ticket-keys.conf naming them. */
export function nginxIncludeFiles(ring: KeyRing, context: RenderContext): OutputFile[] {
  const previous = previousKeys(ring, context.now);
  const names = nginxSlotNames(previous.length);
  const keys = [currentKey(ring), ...previous, nextKey(ring)];
  const files = names.map((name, i) => ({ name, data: nginxKeyBytes(keys[i]!) }));
  return [...files, { name: NGINX_INCLUDE_FILE, data: Buffer.from(nginxIncludeText(context.path, names)) }];
}

export function nginxIncludeHolds(ring: KeyRing, now: number): TicketKey[] {
  return [currentKey(ring), ...previousKeys(ring, now), nextKey(ring)];
}

function nginxIncludeText(dir: string, names: string[]): string {
  const lines = names.map((name) => `ssl_session_ticket_key ${path.join(path.resolve(dir), name)};`);
  return `# Written by sessctl rotate-keys: the first key encrypts, every key decrypts.\n${lines.join('\n')}\n`;
}

/** Files of DIR that the three-slot layout owns (and removes when it no longer writes them). */
export function ownedByNginx(fileName: string): boolean {
  return previousSlotNumber(fileName) !== undefined || fileName === 'current.key' || fileName === 'next.key';
}

export function ownedByNginxInclude(fileName: string): boolean {
  return ownedByNginx(fileName) || fileName === NGINX_INCLUDE_FILE;
}

/** What nginx loads from the three slots: current.key first. */
export async function loadNginx(read: ReadFile): Promise<LoadedKey[]> {
  const loaded: LoadedKey[] = [];
  for (const [i, name] of nginxSlotNames(1).entries()) loaded.push({ ...readNginxKey(await read(name), name), encrypts: i === 0, where: name });
  return loaded;
}

/** What nginx loads through ticket-keys.conf: every file it names, the first encrypting. */
export async function loadNginxInclude(read: ReadFile): Promise<LoadedKey[]> {
  const text = (await read(NGINX_INCLUDE_FILE)).toString('utf8');
  const files: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const m = /^ssl_session_ticket_key\s+(\S+);$/.exec(line);
    if (!m) throw new SessctlError(`${NGINX_INCLUDE_FILE}: not an ssl_session_ticket_key directive: ${line}`);
    files.push(m[1]!);
  }
  if (files.length === 0) throw new SessctlError(`${NGINX_INCLUDE_FILE} names no key file`);
  const loaded: LoadedKey[] = [];
  for (const [i, file] of files.entries()) loaded.push({ ...readNginxKey(await read(file), file), encrypts: i === 0, where: path.basename(file) });
  return loaded;
}

/** The nginx.conf lines for a three-slot directory. */
export function nginxDirectives(dir: string): string[] {
  return nginxSlotNames(1).map((name) => `ssl_session_ticket_key ${dir.replace(/\/$/, '')}/${name};`);
}
