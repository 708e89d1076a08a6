/**
 * `sessctl list` as a table. Columns: ID PROTO CIPHER SNI EXPIRES SIZE, plus
 * ROLE and CONTEXT (the session-id context) when the sessions of the first
 * chunk are not all of one role or context: what tells apart the sessions of
 * two servers sharing a cache; --wide: every column.
 */
import { summarizeSession } from '../session/summary.js';
import { asciiIfPrintable } from '../session/bytes.js';
import type { Entry } from '../store/types.js';
import type { ColumnSpec } from './columns.js';
import { formatExpiry, shortTime } from './format.js';

export interface SessionColumns {
  specs: ColumnSpec[];
  row: (e: Entry) => string[];
}

const ID: ColumnSpec = { head: 'ID', min: 13, cut: 'middle', cutFirst: true };

/** The session-id context as text when printable, hex:... otherwise, - when empty. */
function contextCell(der: Buffer): string {
  if (der.length === 0) return '?';
  const context = summarizeSession(der).sessionIdContext;
  if (context === undefined || context.length === 0) return '-';
  return asciiIfPrintable(context) ?? `hex:${context.toString('hex')}`;
}

/** The columns for `first` (the first chunk of sessions, with their DER), wide or not, at time `now`. */
export function sessionColumns(first: Entry[], options: { wide: boolean; now: number }): SessionColumns {
  const { now } = options;
  if (options.wide) {
    return {
      specs: [ID, { head: 'ROLE' }, { head: 'PROTOCOL' }, { head: 'CIPHER' }, { head: 'SNI' }, { head: 'ALPN' }, { head: 'CONTEXT' }, { head: 'CREATED' }, { head: 'EXPIRES' }, { head: 'SIZE' }],
      row: (e) => [e.key, e.role, e.protocol, e.cipher, e.sni ?? '-', e.alpn ?? '-', contextCell(e.der), shortTime(e.createdAt), formatExpiry(e.expiresAt, now), String(e.size)],
    };
  }
  const differ = (value: (e: Entry) => string): boolean => first.length > 0 && first.some((e) => value(e) !== value(first[0]!));
  const roles = differ((e) => e.role);
  const contexts = differ((e) => contextCell(e.der));
  const expires = (e: Entry): string => (e.expiresAt > now ? formatExpiry(e.expiresAt, now) : 'expired');
  const specs: ColumnSpec[] = [
    ID,
    ...(roles ? [{ head: 'ROLE' }] : []),
    ...(contexts ? [{ head: 'CONTEXT', min: 6, cut: 'end' as const }] : []),
    { head: 'PROTO' },
    { head: 'CIPHER', min: 12, cut: 'end' },
    { head: 'SNI', min: 6, cut: 'end' },
    { head: 'EXPIRES' },
    { head: 'SIZE' },
  ];
  return {
    specs,
    row: (e) => [
      e.key,
      ...(roles ? [e.role] : []),
      ...(contexts ? [contextCell(e.der)] : []),
      e.protocol,
      e.cipher,
      e.sni ?? '-',
      expires(e),
      String(e.size),
    ],
  };
}
