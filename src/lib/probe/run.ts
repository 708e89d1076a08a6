/**
 * The probe's plan: which connections to make, in which order, offering
 * which session. Connections to one target are made one after another
 * (an offer needs the session of an earlier connection); every connection
 * has its own deadline (connection.ts).
 *
 * Per target, per TLS version asked for:
 *   tickets:     the first half of the connections offer nothing; the tickets
 *                they get are grouped by key name (a group per backend key).
 *                The second half offer tickets of the groups in turn, two
 *                offers per group (floor(k/2) mod groups): behind a round-robin
 *                balancer consecutive connections alternate backends, and
 *                two in a row from one group land on two different backends
 *                whatever the parity, so both "same key" and "other key"
 *                landings are seen.
 *   session-ids: the same with no ticket extension (TLS 1.2), the sources
 *                being the first half's session IDs.
 * Then, with several targets, the matrix (each target's ticket and session
 * ID offered to every other target); with several --sni, cross-name offers;
 * with --reuse-after, the sessions offered again after the wait.
 *
 * A TLS 1.3 ticket is offered at most once when another is at hand (RFC 8446
 * appendix C.4: clients should not reuse a ticket); least used first, then newest.
 */
import { SessctlError } from '../errors.js';
import { diagnose } from '../explain/diagnose.js';
import { decodeSession } from '../session/codec.js';
import type { KeyRing } from '../tickets/ring.js';
import { isoTime } from '../time.js';
import { analyse } from './analyse.js';
import { connectOnce, defaultSni, ticketOf, type ConnectOptions, type ProbeConnection, type ProbeTarget, type StartTlsProtocol, type TlsVersion } from './connection.js';
import type { ConnectionRecord, CrossNameResult, MatrixCell, ProbePhase, ProbeReport } from './types.js';

export interface ProbeOptions {
  targets: ProbeTarget[];
  /** --sni: none (the host when it is a name), one for every connection, or several for the cross-name check (the first is used otherwise). */
  snis: string[];
  /** Connections per target and phase (at least 2). */
  connections: number;
  /** undefined: what the server picks; 'both': the ticket checks once under each. */
  tls?: TlsVersion | 'both';
  timeoutMs: number;
  ca?: Buffer;
  insecure?: boolean;
  starttls?: StartTlsProtocol;
  /** Offer the sessions again after this many seconds. */
  reuseAfter?: number;
  ring?: { name: string; ring: KeyRing };
  /** Unix seconds (tests pass their own clock). */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** A line for the person waiting (the --reuse-after wait). */
  onNotice?: (line: string) => void;
}

/** A session the probe holds: from which connection, under which ticket key. */
interface Held {
  from: number;
  der: Buffer;
  kind: 'ticket' | 'session-id';
  /** Ticket key name (OpenSSL format) or null. */
  keyName: string | null;
  sni: string | null;
  protocol: string;
  uses: number;
}

/** Sessions to offer, grouped: by ticket key name, or per connection when there is none. */
type Sources = Map<string, Held[]>;

const sleepMs = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function probe(options: ProbeOptions): Promise<ProbeReport> {
  if (options.connections < 2) throw new SessctlError('--connections must be at least 2: one to get a session, one to offer it', { exit: 2 });
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const startedAt = isoTime(now());
  const records: ConnectionRecord[] = [];
  const crossName: CrossNameResult[] = [];
  const matrix: MatrixCell[] = [];
  /** Targets that refused TLS 1.2: no session-ID check there. */
  const sessionIdsRefused = new Set<string>();

  const connect = async (target: ProbeTarget, phase: ProbePhase, how: { tls?: TlsVersion; tickets: boolean; sni?: string | undefined; offer?: Held }): Promise<{ record: ConnectionRecord; held: Held[] }> => {
    const sni = how.sni ?? options.snis[0] ?? defaultSni(target);
    const connectOptions: ConnectOptions = {
      host: target.host,
      port: target.port,
      timeoutMs: options.timeoutMs,
      tickets: how.tickets,
      ...(sni === undefined ? {} : { sni }),
      ...(how.tls === undefined ? {} : { tls: how.tls }),
      ...(options.ca === undefined ? {} : { ca: options.ca }),
      ...(options.insecure ? { insecure: true } : {}),
      ...(options.starttls === undefined ? {} : { starttls: options.starttls }),
      ...(how.offer === undefined ? {} : { offer: how.offer.der }),
    };
    if (how.offer) how.offer.uses++;
    const c: ProbeConnection = await connectOnce(connectOptions);
    const index = records.length;
    const record: ConnectionRecord = {
      index,
      phase,
      target: target.label,
      peer: c.peer,
      sni: c.sni,
      protocol: c.protocol,
      cipher: c.cipher,
      offered: how.offer
        ? { kind: how.offer.kind, from: how.offer.from, keyName: how.offer.keyName, madeFor: how.offer.sni !== c.sni ? how.offer.sni : null }
        : null,
      resumed: c.resumed,
      ticketKeyNames: c.tickets.flatMap((t) => (t.keyName === null ? [] : [t.keyName])),
      tickets: c.tickets.map((t) => ({ ...t })),
      ticketReissued: c.resumed && c.tickets.length > 0,
      sessionId: !how.tickets && c.sessionId !== '' ? c.sessionId : null,
      verified: c.verified,
      why: how.offer && !c.resumed ? whyNotResumed(how.offer, options.ring, now()) : null,
    };
    records.push(record);
    const held: Held[] = [];
    for (const der of c.sessions) {
      let ticket;
      try {
        ticket = ticketOf(der).ticket;
      } catch {
        ticket = undefined;
      }
      if (how.tickets && ticket === undefined) continue;
      held.push({
        from: index,
        der,
        kind: how.tickets ? 'ticket' : 'session-id',
        keyName: ticket?.format === 'openssl' ? ticket.keyName : null,
        sni: c.sni,
        protocol: c.protocol,
        uses: 0,
      });
    }
    return { record, held };
  };

  /** The two halves of one phase; returns the sources it found, for the matrix and --reuse-after. */
  const phase = async (target: ProbeTarget, name: 'tickets' | 'session-ids', tls: TlsVersion | undefined): Promise<Sources> => {
    const tickets = name === 'tickets';
    const fresh = Math.ceil(options.connections / 2);
    const sources: Sources = new Map();
    for (let i = 0; i < fresh; i++) {
      const { held } = await connect(target, name, { tickets, ...(tls === undefined ? {} : { tls }) });
      for (const h of held) {
        const key = h.keyName ?? `connection ${h.from}`;
        sources.set(key, [...(sources.get(key) ?? []), h]);
      }
    }
    const groups = [...sources.values()];
    if (groups.length === 0) return sources;
    for (let k = 0; k < options.connections - fresh; k++) {
      const offer = pick(groups[Math.floor(k / 2) % groups.length]!);
      const { held } = await connect(target, name, { tickets, offer, ...(tls === undefined ? {} : { tls }) });
      // New tickets (a renewal, or a full handshake's) join their group: a later offer may use them.
      for (const h of held) {
        const key = h.keyName ?? `connection ${h.from}`;
        const group = sources.get(key);
        if (group) group.push(h);
      }
    }
    return sources;
  };

  const versions: (TlsVersion | undefined)[] = options.tls === 'both' ? ['1.2', '1.3'] : [options.tls];
  const perTarget: { target: ProbeTarget; tickets: Sources; sessionIds: Sources; tls: TlsVersion | undefined }[] = [];
  for (const target of options.targets) {
    let tickets: Sources = new Map();
    for (const v of versions) {
      const found = await phase(target, 'tickets', v);
      if (tickets.size === 0) tickets = found;
    }
    let sessionIds: Sources = new Map();
    if (options.tls !== '1.3') {
      try {
        sessionIds = await phase(target, 'session-ids', '1.2');
      } catch (err) {
        // A TLS 1.3-only server refuses TLS 1.2: no session-ID resumption to check (reported, not an error).
        if (!(err instanceof SessctlError) || !/protocol version|unsupported protocol|no protocols available|wrong version number/i.test(err.message)) throw err;
        sessionIdsRefused.add(target.label);
      }
    }
    perTarget.push({ target, tickets, sessionIds, tls: versions[0] });
  }

  if (options.targets.length >= 2) {
    for (const from of perTarget) {
      for (const to of perTarget) {
        if (from === to) continue;
        const cell: MatrixCell = { from: from.target.label, to: to.target.label, ticket: null, sessionId: null };
        const ticket = firstHeld(from.tickets);
        if (ticket) cell.ticket = (await connect(to.target, 'matrix', { tickets: true, offer: ticket, ...(from.tls === undefined ? {} : { tls: from.tls }) })).record.resumed;
        const id = firstHeld(from.sessionIds);
        if (id) cell.sessionId = (await connect(to.target, 'matrix', { tickets: false, offer: id, tls: '1.2' })).record.resumed;
        matrix.push(cell);
      }
    }
  }

  if (options.snis.length >= 2) {
    for (const { target, tls } of perTarget) {
      for (const kind of ['ticket', 'session-id'] as const) {
        if (kind === 'session-id' && (options.tls === '1.3' || sessionIdsRefused.has(target.label))) continue;
        const tickets = kind === 'ticket';
        const version = tickets ? tls : '1.2';
        const made = new Map<string, Held | undefined>();
        for (const sni of options.snis) {
          const { held } = await connect(target, 'cross-name', { tickets, sni, ...(version === undefined ? {} : { tls: version }) });
          made.set(sni, held.at(-1));
        }
        for (const from of options.snis) {
          for (const to of options.snis) {
            const offer = made.get(from);
            if (from === to || offer === undefined) continue;
            const { record } = await connect(target, 'cross-name', { tickets, sni: to, offer, ...(version === undefined ? {} : { tls: version }) });
            crossName.push({ target: target.label, from, to, kind, resumed: record.resumed });
          }
        }
      }
    }
  }

  if (options.reuseAfter !== undefined && options.reuseAfter > 0) {
    options.onNotice?.(`waiting ${options.reuseAfter} s before offering the sessions again (--reuse-after)`);
    await (options.sleep ?? sleepMs)(options.reuseAfter * 1000);
    for (const { target, tickets, sessionIds, tls } of perTarget) {
      for (const group of tickets.values()) await connect(target, 'later', { tickets: true, offer: pick(group), ...(tls === undefined ? {} : { tls }) });
      for (const group of sessionIds.values()) await connect(target, 'later', { tickets: false, offer: pick(group), tls: '1.2' });
    }
  }

  return analyse({
    targets: options.targets.map((t) => t.label),
    startedAt,
    records,
    matrix,
    crossName,
    ring: options.ring,
    now: now(),
    reuseAfter: options.reuseAfter ?? null,
    sessionIdsRefused: [...sessionIdsRefused],
    tls: options.tls,
  });
}

/** The session to offer from a group: least used, then newest. */
function pick(group: Held[]): Held {
  let best = group[0]!;
  for (const h of group) if (h.uses < best.uses || (h.uses === best.uses && h.from >= best.from)) best = h;
  return best;
}

function firstHeld(sources: Sources): Held | undefined {
  const first = sources.values().next();
  return first.done ? undefined : pick(first.value);
}

/**
 * Why the server did not resume an offered ticket, in explain's words (the
 * same diagnosis as `sessctl explain --ring`); null without a ring or for
 * session IDs (the server's cache is not something the probe can read).
 */
function whyNotResumed(offer: Held, ring: ProbeOptions['ring'], now: number): string | null {
  if (ring === undefined || offer.kind !== 'ticket') return null;
  let held;
  try {
    held = decodeSession(offer.der);
  } catch {
    return null;
  }
  const e = diagnose({ held, ring, now });
  const reason = e.reasons[0]?.message;
  if (reason === undefined) return null;
  return e.verdict === 'resumes' ? `the ring would resume it (${reason}), so this server does not use the ring's keys` : reason;
}
