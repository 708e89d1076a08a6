import { readFile } from 'node:fs/promises';
import { Args, Flags } from '../lib/cli/oclif.js';
import { BaseCommand } from '../lib/cli/base.js';
import { parseDuration, parseDurationMs } from '../lib/cli/format.js';
import { NotFoundError, SessctlError, usageError } from '../lib/errors.js';
import { parseTarget, STARTTLS_PROTOCOLS, type StartTlsProtocol } from '../lib/probe/connection.js';
import { probe } from '../lib/probe/run.js';
import { prometheusText } from '../lib/probe/prometheus.js';
import { probeText } from '../lib/probe/text.js';
import type { ProbeReport } from '../lib/probe/types.js';
import { writeFileAtomic } from '../lib/tickets/atomic.js';
import type { KeyRing } from '../lib/tickets/ring.js';

/** Exit codes of probe beyond the common ones, as explain's. */
export const EXIT_BROKEN = 4;
export const EXIT_CANNOT_TELL = 5;

/** --reuse-after at most a day: the probe is a foreground command, and says how long it waits. */
const MAX_REUSE_AFTER = 86_400;
const MAX_CONNECTIONS = 1000;

export default class Probe extends BaseCommand {
  static summary = 'Watch live servers (or a fleet behind a load balancer) resume, and say where resumption breaks.';
  static description = `Connects to each TARGET (HOST:PORT, [IPv6]:PORT) several times with OpenSSL through Node's tls, offers each
connection a session from an earlier one, and records the peer, protocol, cipher, what was offered (ticket or session ID) and
from which connection, whether the server resumed it, and the tickets it issued: key name (the first 16 bytes of an
OpenSSL-format ticket), lifetime hint, length. The first line is the verdict; the evidence follows.

Tickets are grouped by key name: one group means every backend shares the ticket key; several mean split keys (behind a load
balancer the groups are the backends). Session IDs are offered without the ticket extension (TLS 1.2), to show whether the
server keeps a session cache and whether it is shared. Several targets: each target's ticket and session ID is offered to
every other. --ring names each key's state in the operator's ring (current, previous, next, retired, unknown). Two --sni:
a session made under one name is offered under the other (a server that resumes it is a security finding).
--reuse-after waits, then offers the sessions again. --starttls probes mail servers.

The certificate is verified (against --ca, or Node's roots); --insecure probes a server that does not verify, and says so.

--json prints {verdict: "resumes" | "broken" | "cannot-tell", message, targets, connections: [{index, phase, target, peer,
sni, protocol, cipher, offered: null | {kind: "ticket" | "session-id", from, keyName, madeFor}, resumed, ticketKeyNames,
tickets: [{keyName (null when format is "opaque"), format, lifetimeHint, length}], ticketReissued, sessionId, verified,
why}], keyGroups: [{keyName, connections, targets, ring, notHeldBy, lifetimeHints, offered, resumed}], ticket: {offered, resumed}, sessionId: {offered, resumed},
matrix: [{from, to, ticket, sessionId}], crossName: [{target, from, to, kind, resumed}], findings: [{code, breaks, message}],
ring, reuseAfter}. --prometheus FILE writes the figures for node_exporter's textfile collector (atomically, mode 0644).

Exit codes: 0 clients resume, 1 a target cannot be reached or the handshake fails, 2 usage error, 3 no ring at --ring,
${EXIT_BROKEN} resumption is broken somewhere (split keys or caches, nothing resumes although tickets or session IDs are issued, a key
the ring does not call current, a session resumed under another name), ${EXIT_CANNOT_TELL} cannot tell (nothing issued to resume with).`;

  static examples = [
    '<%= config.bin %> probe www.example.org:443',
    '<%= config.bin %> probe lb.internal:443 --connections 12 --ring /etc/sessctl/ring.json',
    '<%= config.bin %> probe 10.0.0.11:443 10.0.0.12:443 10.0.0.13:443 --sni www.example.org --json',
    '<%= config.bin %> probe shop.example.org:443 --sni shop.example.org --sni admin.example.org',
    '<%= config.bin %> probe mail.example.org:25 --starttls smtp',
  ];

  static strict = false;

  static args = {
    target: Args.string({ description: 'HOST:PORT to probe (IPv6 in brackets); several for the cross-target matrix', required: true, ignoreStdin: true }),
  };

  static flags = {
    sni: Flags.string({ description: 'server name to send (default: the host when it is a name); twice: check cross-name resumption', helpValue: 'NAME', multiple: true }),
    connections: Flags.integer({ description: 'connections per target and check (half get sessions, half offer them)', default: 6, min: 2, max: MAX_CONNECTIONS }),
    tls: Flags.string({ description: 'TLS version to use (default: whatever the server picks)', options: ['1.2', '1.3', 'both'] }),
    timeout: Flags.string({ description: 'deadline for each connection (e.g. 500ms, 2.5s, 1m; at most 1d)', default: '5s', helpValue: 'DURATION' }),
    ca: Flags.string({ description: "CA certificate(s) (PEM) to verify the targets' certificates with", helpValue: 'FILE' }),
    insecure: Flags.boolean({ description: 'probe even when the certificate does not verify (the output says so)' }),
    ring: Flags.string({ description: 'the ticket-key ring (rotate-keys): a file, or a store URL holding it [env: SESSCTL_RING]', helpValue: 'FILE|URL' }),
    'token-file': Flags.string({ description: 'bearer token file for a daemon --ring URL', helpValue: 'FILE' }),
    'reuse-after': Flags.string({ description: 'wait this long, then offer the sessions again (at most 1d)', helpValue: 'DURATION' }),
    starttls: Flags.string({ description: 'speak this mail protocol before the TLS handshake', options: [...STARTTLS_PROTOCOLS] }),
    prometheus: Flags.string({ description: "also write the figures in Prometheus' text format to FILE, atomically", helpValue: 'FILE' }),
  };

  async run(): Promise<ProbeReport> {
    const { argv, flags } = await this.parse(Probe);
    const targets = (argv as string[]).map(parseTarget);
    const timeoutMs = parseDurationMs(flags.timeout, '--timeout');
    if (timeoutMs <= 0) throw usageError('--timeout must be more than 0');
    if (timeoutMs > MAX_REUSE_AFTER * 1000) throw usageError(`--timeout ${flags.timeout} is more than a day`);
    const reuseAfter = flags['reuse-after'] === undefined ? undefined : parseDuration(flags['reuse-after'], '--reuse-after');
    if (reuseAfter !== undefined && reuseAfter > MAX_REUSE_AFTER) throw usageError(`--reuse-after ${flags['reuse-after']} is more than a day`);
    const snis = flags.sni ?? [];
    for (const name of snis) if (!/^[A-Za-z0-9.-]+$/.test(name)) throw usageError(`--sni "${name}" is not a host name`);
    if (new Set(snis.map((s) => s.toLowerCase())).size !== snis.length) throw usageError('--sni: the same name twice');
    const ca = flags.ca === undefined ? undefined : await readCa(flags.ca);

    const report = await probe({
      targets,
      snis,
      connections: flags.connections,
      ...(flags.tls === undefined ? {} : { tls: flags.tls as '1.2' | '1.3' | 'both' }),
      timeoutMs,
      ...(ca === undefined ? {} : { ca }),
      insecure: flags.insecure,
      ...(flags.starttls === undefined ? {} : { starttls: flags.starttls as StartTlsProtocol }),
      ...(reuseAfter === undefined ? {} : { reuseAfter }),
      ...(await this.ring(flags.ring, flags['token-file'])),
      onNotice: (line) => process.stderr.write(`sessctl: ${line}\n`),
    });
    if (flags.prometheus !== undefined) await writeFileAtomic(flags.prometheus, Buffer.from(prometheusText(report, Date.now())), 0o644);
    this.out(probeText(report));
    if (report.verdict === 'broken') process.exitCode = EXIT_BROKEN;
    if (report.verdict === 'cannot-tell') process.exitCode = EXIT_CANNOT_TELL;
    return report;
  }

  /** --ring: a ring file (rotate-keys --ring), or a store URL holding one (rotate-keys --store). */
  private async ring(flag: string | undefined, tokenFile: string | undefined): Promise<{ ring?: { name: string; ring: KeyRing } }> {
    const where = this.setting('ring', flag);
    if (where === undefined) {
      if (tokenFile !== undefined) throw usageError('--token-file is for a --ring URL (a daemon): give --ring');
      return {};
    }
    // Loaded only when asked: the rotation code (formats, locks, sockets) is not needed otherwise.
    const { fileRing, storeRing } = await import('../lib/tickets/ring-storage.js');
    const isUrl = /^[a-z][a-z0-9+.-]*:/i.test(where);
    if (tokenFile !== undefined && !isUrl) throw usageError('--token-file is for a --ring URL (a daemon); the ring here is a file');
    const storage = isUrl
      ? storeRing(await this.openStore({ store: where, ...(tokenFile === undefined ? {} : { 'token-file': tokenFile }) }))
      : fileRing(where, { onWarning: (m) => this.warnLine(m) });
    const ring = await storage.read();
    if (ring === undefined) throw new NotFoundError(`no ticket-key ring at ${where}`);
    return { ring: { name: where, ring } };
  }
}

async function readCa(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new SessctlError(`--ca ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}
