/**
 * From the probe's connections to its answer, pure: key groups, tallies,
 * findings, and one verdict line.
 *
 *   broken:      something resumes in one place and not in another (split
 *                ticket keys, split session caches, a target's sessions not
 *                resuming on another), nothing resumes although the server
 *                issues tickets or session IDs, a backend encrypting under a
 *                key the ring calls previous/retired or does not hold, or
 *                one that some output's servers were not given, a
 *                session that stops resuming after --reuse-after, or a
 *                session resumed under another server name;
 *   resumes:     every ticket resumes wherever it is offered, or (no tickets)
 *                every session ID does; a missing session-ID cache next to
 *                working tickets is a fact, not a failure;
 *   cannot-tell: nothing was issued to offer.
 */
import { findKey, keyState, type KeyRing } from '../tickets/ring.js';
import type { TlsVersion } from './connection.js';
import type { ConnectionRecord, CrossNameResult, FindingCode, KeyGroup, MatrixCell, ProbeFinding, ProbeReport, RingState, Tally } from './types.js';

export interface AnalysisInput {
  targets: string[];
  startedAt: string;
  records: ConnectionRecord[];
  matrix: MatrixCell[];
  crossName: CrossNameResult[];
  ring: { name: string; ring: KeyRing } | undefined;
  /** Unix seconds. */
  now: number;
  reuseAfter: number | null;
  /** Targets that refused TLS 1.2 (no session-ID check). */
  sessionIdsRefused: string[];
  tls: TlsVersion | 'both' | undefined;
}

/** Which breaking finding makes the verdict line when there are several. */
const PRIORITY: FindingCode[] = [
  'cross-name-resumed',
  'split-ticket-keys',
  'ring-previous',
  'ring-not-held',
  'ring-retired',
  'ring-unknown',
  'ticket-resumes-somewhere',
  'split-session-cache',
  'tickets-never-resume',
  'session-ids-never-resume',
  'expired-later',
];

/** A key name in a sentence: its first 8 hex digits, as rotate-keys prints them. */
export const shortKey = (hex: string): string => `${hex.slice(0, 8)}…`;

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Offers that make the resumption rate: not the deliberate wrong-name offers, nor those after --reuse-after (their own finding). */
const counted = (r: ConnectionRecord): boolean => r.phase !== 'cross-name' && r.phase !== 'later';

function tally(records: ConnectionRecord[], kind: 'ticket' | 'session-id'): Tally {
  const offered = records.filter((r) => r.offered?.kind === kind && counted(r));
  return { offered: offered.length, resumed: offered.filter((r) => r.resumed).length };
}

/** The key's state in the ring, and the outputs not given it (as `get --ring` says it: only for a key still in the window). */
function ringState(ring: KeyRing, keyName: string, now: number): { ring: RingState; notHeldBy: string[] | null } {
  const key = findKey(ring, Buffer.from(keyName, 'hex'));
  if (key === undefined) return { ring: 'unknown', notHeldBy: null };
  const state = keyState(ring, key, now);
  return { ring: state, notHeldBy: state !== 'retired' && key.notHeldBy?.length ? key.notHeldBy : null };
}

export function keyGroups(records: ConnectionRecord[], ring: KeyRing | undefined, now: number): KeyGroup[] {
  const groups = new Map<string, KeyGroup>();
  for (const r of records) {
    for (const name of new Set(r.tickets.flatMap((t) => (t.keyName === null ? [] : [t.keyName])))) {
      let g = groups.get(name);
      if (!g) {
        g = { keyName: name, connections: 0, targets: [], ...(ring === undefined ? { ring: null, notHeldBy: null } : ringState(ring, name, now)), lifetimeHints: [], offered: 0, resumed: 0 };
        groups.set(name, g);
      }
      g.connections++;
      if (!g.targets.includes(r.target)) g.targets.push(r.target);
      for (const t of r.tickets) if (t.keyName === name && !g.lifetimeHints.includes(t.lifetimeHint)) g.lifetimeHints.push(t.lifetimeHint);
    }
  }
  for (const r of records) {
    if (r.offered?.kind !== 'ticket' || r.offered.keyName === null || !counted(r)) continue;
    const g = groups.get(r.offered.keyName);
    if (!g) continue;
    g.offered++;
    if (r.resumed) g.resumed++;
  }
  return [...groups.values()];
}

export function analyse(input: AnalysisInput): ProbeReport {
  const { records, ring, now } = input;
  const groups = keyGroups(records, ring?.ring, now);
  const ticket = tally(records, 'ticket');
  const sessionId = tally(records, 'session-id');
  const findings: ProbeFinding[] = [];
  const add = (code: FindingCode, breaks: boolean, message: string): void => {
    findings.push({ code, breaks, message });
  };
  const main = records.filter((r) => r.phase === 'tickets' || r.phase === 'session-ids');
  const offers = (kind: 'ticket' | 'session-id', phase: string) => records.filter((r) => r.offered?.kind === kind && r.phase === phase);

  // Cross-name resumption: a security finding, first because it was asked for.
  for (const c of input.crossName.filter((x) => x.resumed)) {
    add('cross-name-resumed', true, `${c.target} resumed a session made for ${c.from} under the name ${c.to} (by ${c.kind}): sessions meant for one virtual host resume on another`);
  }

  // Tickets.
  if (groups.length > 1) {
    const where = groups.map((g) => `${shortKey(g.keyName)} on ${plural(g.connections, 'connection')}${input.targets.length > 1 ? ` (${g.targets.join(', ')})` : ''}`).join(', ');
    const who = new Set(groups.flatMap((g) => g.targets)).size === 1 ? `the backends of ${groups[0]!.targets[0]}` : 'the targets';
    if (ticket.resumed < ticket.offered || ticket.offered === 0) {
      add(
        'split-ticket-keys',
        true,
        `${who} encrypt tickets under ${groups.length} different keys (${where}): a client resumes only where its ticket was issued (${ticket.resumed} of ${ticket.offered} ticket offers resumed)`,
      );
    } else {
      // Every offer resumed across the groups: each server decrypts the others' key (a pre-distributed
      // next key, a kept previous one), as during a rotation that not every server has reloaded yet.
      add(
        'split-ticket-keys',
        false,
        `${who} encrypt tickets under ${groups.length} different keys (${where}), but every ticket resumed wherever it was offered: each holds the other keys for decryption (a rotation some servers have not reloaded yet)`,
      );
    }
  }
  if (ring !== undefined) {
    for (const g of groups) {
      const targets = g.targets.join(', ');
      if (g.notHeldBy) {
        add(
          'ring-not-held',
          true,
          `${targets} still encrypts tickets under ${shortKey(g.keyName)}, the ${g.ring} key of the ring ${ring.name}, which the servers of ${g.notHeldBy.join(', ')} were not given (fewer key slots than the decrypt window): it was not reloaded after the last rotations, and servers that were give its tickets full handshakes`,
        );
      } else if (g.ring === 'previous') add('ring-previous', true, `${targets} still encrypts tickets under ${shortKey(g.keyName)}, the previous key of the ring ${ring.name}: it was not reloaded after the last rotation`);
      else if (g.ring === 'retired') add('ring-retired', true, `${targets} encrypts tickets under ${shortKey(g.keyName)}, a retired key of the ring ${ring.name}: it missed at least two rotations, and its tickets resume nowhere else`);
      else if (g.ring === 'unknown') add('ring-unknown', true, `${targets} encrypts tickets under ${shortKey(g.keyName)}, a key that is not in the ring ${ring.name}: its key file is not the ring's, or is loaded but ignored`);
      else if (g.ring === 'next') add('ring-next', false, `${targets} already encrypts under ${shortKey(g.keyName)}, the ring's next key: servers still on the current key decrypt it, but it was rotated ahead of the ring`);
      const longest = Math.max(...g.lifetimeHints);
      if (longest > ring.ring.keep) {
        add(
          'lifetime-beyond-window',
          false,
          `tickets under ${shortKey(g.keyName)} promise up to ${longest} s (lifetime hint) but the ring keeps a key only ${ring.ring.keep} s after it stops encrypting: a ticket issued just before a rotation stops resuming early`,
        );
      }
    }
  }
  const mainTickets = offers('ticket', 'tickets');
  const mixedGroups = groups.filter((g) => g.offered > 0 && g.resumed > 0 && g.resumed < g.offered);
  if (groups.length <= 1 && mixedGroups.length > 0) {
    const g = mixedGroups[0]!;
    add('ticket-resumes-somewhere', true, `tickets under ${shortKey(g.keyName)} resumed on ${g.resumed} of ${g.offered} connections: a backend that issues them does not accept them everywhere`);
  } else if (groups.length === 0) {
    const resumed = mainTickets.filter((r) => r.resumed).length;
    if (resumed > 0 && resumed < mainTickets.length) add('ticket-resumes-somewhere', true, `tickets resumed on ${resumed} of ${mainTickets.length} connections: they resume in one place and not another`);
  }
  for (const cell of input.matrix.filter((m) => m.ticket === false)) {
    if (!findings.some((f) => f.code === 'split-ticket-keys')) {
      add('ticket-resumes-somewhere', true, `a ticket from ${cell.from} does not resume on ${cell.to}: the two do not share ticket keys`);
    }
  }
  if (ticket.offered > 0 && ticket.resumed === 0 && groups.length <= 1) {
    const issuers = [...new Set(records.filter((r) => r.tickets.length > 0).map((r) => r.target))];
    const stateful = records.some((r) => r.tickets.some((t) => t.format === 'opaque' && t.length === 32));
    add(
      'tickets-never-resume',
      true,
      `${issuers.join(', ')} issue${issuers.length === 1 ? 's' : ''} tickets but resumed none of the ${ticket.offered} offered${stateful ? ' (32-byte TLS 1.3 stateful tickets: handles into a session cache that does not keep them)' : ''}`,
    );
  }

  // Session IDs.
  const mainIds = offers('session-id', 'session-ids');
  for (const target of input.targets) {
    const mine = mainIds.filter((r) => r.target === target);
    const resumed = mine.filter((r) => r.resumed).length;
    const issued = records.some((r) => r.target === target && r.phase === 'session-ids' && r.sessionId !== null);
    const ranIds = records.some((r) => r.target === target && r.phase === 'session-ids');
    if (resumed > 0 && resumed < mine.length) {
      add('split-session-cache', true, `session IDs from ${target} resumed on ${resumed} of ${mine.length} connections: its session cache is not shared (one per backend or per process)`);
    } else if (mine.length > 0 && resumed === 0) {
      const ticketsWork = groups.some((g) => g.targets.includes(target) && g.resumed > 0) || records.some((r) => r.target === target && r.offered?.kind === 'ticket' && r.resumed);
      const message = `${target} gives session IDs but resumed none of ${mine.length} offered without a ticket: no session cache, or one per process (nginx's "ssl_session_cache none")`;
      add(ticketsWork ? 'no-session-cache' : 'session-ids-never-resume', !ticketsWork, message);
    } else if (ranIds && !issued) {
      add('no-session-cache', false, `${target} gives no session ID to a client without tickets: it keeps no session cache`);
    }
  }
  for (const cell of input.matrix.filter((m) => m.sessionId === false)) {
    const fromResumes = mainIds.some((r) => r.target === cell.from && r.resumed);
    if (fromResumes) add('split-session-cache', true, `a session ID from ${cell.from} does not resume on ${cell.to}: the two do not share a session cache`);
  }
  for (const target of input.sessionIdsRefused) add('no-tls12', false, `${target} refuses TLS 1.2: no session-ID resumption to check (TLS 1.3 resumes only by ticket)`);

  // Later.
  const later = records.filter((r) => r.phase === 'later');
  const laterMissed = later.filter((r) => !r.resumed);
  if (laterMissed.length > 0) {
    add(
      'expired-later',
      true,
      `after ${input.reuseAfter ?? 0} s, ${laterMissed.length} of ${later.length} sessions offered again did not resume (${laterMissed.map((r) => `${r.offered!.kind}${r.offered!.keyName ? ` ${shortKey(r.offered!.keyName)}` : ''} on ${r.target}`).join(', ')})`,
    );
  }

  const unverified = [...new Set(records.filter((r) => !r.verified).map((r) => r.target))];
  if (unverified.length > 0) add('not-verified', false, `the certificate of ${unverified.join(', ')} was not verified (--insecure)`);

  const issuedAnything = records.some((r) => r.tickets.length > 0 || r.sessionId !== null);
  if (!issuedAnything && main.length > 0) {
    add('issues-nothing', false, `${input.targets.join(', ')} issued neither tickets nor session IDs: there is nothing to resume with`);
  }

  const breaking = findings.filter((f) => f.breaks).sort((a, b) => PRIORITY.indexOf(a.code) - PRIORITY.indexOf(b.code));
  let verdict: ProbeReport['verdict'];
  let message: string;
  if (breaking.length > 0) {
    verdict = 'broken';
    message = breaking[0]!.message;
  } else if (ticket.resumed > 0 || sessionId.resumed > 0) {
    verdict = 'resumes';
    message = resumesLine(groups, ticket, sessionId, input.targets);
  } else {
    verdict = 'cannot-tell';
    message = findings.find((f) => f.code === 'issues-nothing')?.message ?? 'no session was offered, so resumption could not be checked';
  }

  return {
    verdict,
    message,
    targets: input.targets,
    startedAt: input.startedAt,
    connections: records,
    keyGroups: groups,
    ticket,
    sessionId,
    matrix: input.matrix,
    crossName: input.crossName,
    findings,
    ring: ring?.name ?? null,
    reuseAfter: input.reuseAfter,
  };
}

function resumesLine(groups: KeyGroup[], ticket: Tally, sessionId: Tally, targets: string[]): string {
  const who = targets.join(', ');
  if (ticket.resumed > 0) {
    const key = groups.length === 1 ? ` under one key (${shortKey(groups[0]!.keyName)})` : '';
    const ids = sessionId.offered === 0 ? '' : sessionId.resumed === sessionId.offered ? `; session IDs resumed too (${sessionId.resumed} of ${sessionId.offered})` : '';
    return `clients resume on ${who}: every ticket resumed wherever it was offered${key}, ${ticket.resumed} of ${ticket.offered}${ids}`;
  }
  return `clients resume on ${who} by session ID (${sessionId.resumed} of ${sessionId.offered}); no tickets were issued`;
}
