/** The explanation for people: the verdict line first, then the reasons, the evidence and the notes. */
import { formatDuration } from '../time.js';
import { contextLabel } from './messages.js';
import type { Explanation, Moment } from './types.js';

const VERDICT_WORDS: Record<Explanation['verdict'], string> = {
  resumes: 'resumes',
  'will-not-resume': 'will not resume',
  undetermined: 'cannot tell',
};

function when(m: Moment | null): string {
  if (m === null) return 'no expiry';
  return m.fromNow > 0 ? `${m.at} (in ${formatDuration(m.fromNow)})` : `${m.at} (${formatDuration(-m.fromNow)} ago)`;
}

function shortHex(hex: string): string {
  return hex.length <= 24 ? hex : `${hex.slice(0, 16)}…${hex.slice(-8)}`;
}

/** The width evidence labels take ("  Client holds : "): continuation lines start there. */
const LABEL_WIDTH = 17;

/**
 * Break `line` at spaces so that no piece is wider than `width` (a word longer
 * than that stays whole: hex ids and URLs are not cut); pieces after the
 * first are indented by `indent` spaces.
 */
export function wrapLine(line: string, width: number, indent: number): string[] {
  if (line.length <= width) return [line];
  const out: string[] = [];
  const pad = ' '.repeat(indent);
  const lead = /^ */.exec(line)![0];
  const words = line.slice(lead.length).split(' ');
  let current = `${lead}${words[0] ?? ''}`;
  for (const word of words.slice(1)) {
    if (current.length + 1 + word.length > width && current.trim() !== '') {
      out.push(current);
      current = `${pad}${word}`;
    } else {
      current = `${current} ${word}`;
    }
  }
  out.push(current);
  return out;
}

/** How each kind of line continues when wrapped: under its text, not under its label. */
function continuation(line: string): number {
  if (/^ {2}also: /.test(line)) return 8;
  if (/^ {2}- /.test(line)) return 4;
  if (/^ {2}\S[^:]*: /.test(line) || /^ {17}/.test(line)) return LABEL_WIDTH;
  return 2;
}

export interface TextOptions {
  /** Wrap lines at word boundaries to this many columns (the terminal's); default: no wrapping. */
  width?: number;
  /** The store was not named (no --store, environment or config file): the verdict line says it looked in the default one. */
  defaultStore?: boolean;
}

export function explanationText(e: Explanation, options: TextOptions = {}): string {
  const lines = explanationLines(e, options);
  const width = options.width;
  if (width === undefined || !Number.isFinite(width) || width <= 0) return lines.join('\n');
  return lines.flatMap((l) => wrapLine(l, width, continuation(l))).join('\n');
}

function explanationLines(e: Explanation, options: TextOptions): string[] {
  const where = options.defaultStore === true && e.evidence.server.store !== null ? ` (looked in the default store ${e.evidence.server.store})` : '';
  const lines = [`${VERDICT_WORDS[e.verdict]}${where}: ${e.reasons[0]?.message ?? ''}`];
  if (e.reasons.length > 1) for (const r of e.reasons.slice(1)) lines.push(`  also: ${r.message}`);
  const ev = e.evidence;
  lines.push('', 'Evidence:');
  if (ev.held) {
    const h = ev.held;
    lines.push(`  Client holds : ${h.protocol} ${h.cipher}, session id ${h.sessionId === '' ? '(empty)' : shortHex(h.sessionId)}${h.sni ? `, SNI ${h.sni}` : ''}`);
    lines.push(`  Its lifetime : ${h.created ?? '?'} to ${when(h.expires)}`);
  }
  const offered = {
    ticket: 'a session ticket',
    'stateful-ticket': `a stateful TLS 1.3 ticket, looked up as ${shortHex(ev.offer.key ?? '')}`,
    'session-id': `its session ID, looked up as ${shortHex(ev.offer.key ?? '')}`,
    nothing: 'nothing',
  }[ev.offer.kind];
  lines.push(`  Offered as   : ${offered}`);
  lines.push(`  Server       : store ${ev.server.store ?? '(not given)'}, ring ${ev.server.ring ?? '(not given)'}, session-id context ${ev.server.sessionIdContext ? contextLabel(ev.server.sessionIdContext) : '(not given)'}`);
  if (ev.lookup) {
    const l = ev.lookup;
    if (!l.entry) lines.push(`  In the store : ${l.found ? 'an entry that cannot be read' : 'not found'}`);
    else {
      const en = l.entry;
      lines.push(`  In the store : ${en.role} session, ${en.protocol} ${en.cipher}${en.sni ? `, SNI ${en.sni}` : ''}, created ${en.created}`);
      lines.push(`                 expires ${when(en.expires)}, session-id context ${contextLabel(en.sessionIdContext)}`);
      if (en.masterKeyMatches !== null) lines.push(`                 master secret ${en.masterKeyMatches ? "matches the client's" : "DIFFERS from the client's"}`);
    }
  }
  if (ev.ticket) {
    const t = ev.ticket;
    const key = t.key === null ? '' : t.key.known ? `, ${t.key.state} key in the ring${t.key.decryptsUntil ? ` (decrypts until ${t.key.decryptsUntil})` : ''}` : ', not in the ring';
    lines.push(`  Ticket       : ${t.length} bytes, ${t.format === 'openssl' ? "OpenSSL's format" : 'opaque'}, key ${t.keyName ?? '(none)'}${key}${t.mac ? `, HMAC ${t.mac}` : ''}`);
    if (t.inside) {
      const i = t.inside;
      lines.push(`  Inside       : ${i.protocol} ${i.cipher}${i.sni ? `, SNI ${i.sni}` : ''}, created ${i.created ?? '?'}, expires ${when(i.expires)}`);
      lines.push(`                 session-id context ${contextLabel(i.sessionIdContext)}, master secret ${i.masterKeyMatches ? "matches the client's" : "DIFFERS from the client's"}`);
    }
  }
  lines.push(`  Now          : ${ev.now}`);
  if (e.notes.length > 0) {
    lines.push('', 'Notes:');
    for (const n of e.notes) lines.push(`  - ${n.message}`);
  }
  return lines;
}
