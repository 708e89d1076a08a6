import { Flags } from '../lib/cli/oclif.js';
import { BaseCommand, type StoreFlagValues } from '../lib/cli/base.js';
import { formatDuration, parseDuration, parseDurationMs, shortId, shortTime } from '../lib/cli/format.js';
import { renderTable } from '../lib/cli/table.js';
import { usageError } from '../lib/errors.js';
import { nowSeconds } from '../lib/store/types.js';
import { parseTarget } from '../lib/probe/target.js';
import { STARTTLS_PROTOCOLS, type StartTlsProtocol } from '../lib/probe/starttls.js';
import { checkRing, type CheckReport } from '../lib/tickets/check.js';
import { parseOutput } from '../lib/tickets/formats/index.js';
import type { KeySize, KeyView } from '../lib/tickets/ring.js';
import { fileRing, storeRing, type RingStorage } from '../lib/tickets/ring-storage.js';
import { listRing, rotateKeys, type RingListing, type RotateReport } from '../lib/tickets/rotate.js';

/** Exit code when --if-older-than finds the current key too young: nothing was changed. */
export const EXIT_NOT_DUE = 10;
/** Exit code of --check when something differs from the ring. */
export const EXIT_DRIFTED = 4;

export default class RotateKeys extends BaseCommand {
  static summary = 'Rotate session-ticket keys and write them for nginx, HAProxy, lighttpd, h2o, Traffic Server, Apache and Node.';
  static description = `Keeps a ring of session-ticket keys (STEKs) in a 0600 file (--ring FILE) or in a store (--store URL):
a next key, distributed to every server before it encrypts; the current key, which encrypts; and previous keys,
kept for decryption for the --keep window (default 12h; at least your servers' ticket lifetime).
Each run rotates (next becomes current), then writes every --write output atomically (0600), then the ring,
then pushes to HAProxy and runs --exec. The first run creates the ring. Safe from cron: a lock keeps rotations
from interleaving, --if-older-than does nothing until a rotation is due, one summary line.
A failed --push, HAProxy push or --exec is remembered in the ring: the next run on this host redoes the writes
and those steps even when no rotation is due, says so, and exits 1 until they succeed.
Formats: nginx-include:DIR (a key file per key of the decrypt window and DIR/ticket-keys.conf naming them:
"include DIR/ticket-keys.conf;" holds any window), nginx:DIR (the three files current.key, previous.key, next.key;
keys of a longer window are dropped and named), haproxy:FILE (tls-ticket-keys), lighttpd:FILE (ssl.stek-file,
80-byte keys), h2o:FILE (ticket-file), ats:FILE, apache:FILE (SSLSessionTicketKeyFile), node:FILE (setTicketKeys), raw:FILE.
--check changes nothing: it reads every --write output back as its server does, asks HAProxy (--haproxy-socket)
for the keys it holds, connects to every --probe HOST:PORT (--starttls smtp|imap|pop3 for mail servers, --probe-timeout
each), and prints one line per drift from the ring.
Secret key bytes are never printed, except by --list --show-secrets.
Exit codes: 0 rotated (or ring created, or pending steps redone; --check: consistent), ${EXIT_NOT_DUE} not due (nothing changed),
1 failed (steps stay pending), 2 usage error, 3 no ring (--list, --check), ${EXIT_DRIFTED} --check found drift.`;

  static examples = [
    '<%= config.bin %> rotate-keys --ring /etc/sessctl/ring.json --write nginx-include:/etc/nginx/tickets --exec "nginx -s reload"',
    '<%= config.bin %> rotate-keys --ring /etc/sessctl/ring.json --if-older-than 12h --write haproxy:/etc/haproxy/tls.keys --haproxy-socket /run/haproxy/admin.sock',
    '<%= config.bin %> rotate-keys --ring /etc/sessctl/ring.json --list',
    '<%= config.bin %> rotate-keys --ring /etc/sessctl/ring.json --check --write nginx-include:/etc/nginx/tickets --probe 127.0.0.1:443',
  ];

  static flags = {
    ...BaseCommand.storeFlags,
    store: Flags.string({ description: 'keep the ring in this store (daemon https://..., redis://..., a cache file) instead of --ring FILE', helpValue: 'URL', exclusive: ['ring'] }),
    ring: Flags.string({ description: 'the ring file (JSON, 0600, created by the first rotation)', helpValue: 'FILE' }),
    write: Flags.string({
      description: 'write the keys as FORMAT:PATH (nginx-include, nginx, haproxy, lighttpd, h2o, ats, apache, node, raw); repeatable',
      helpValue: 'FORMAT:PATH',
      multiple: true,
    }),
    size: Flags.string({ description: 'key size of a new ring: 48 (AES-128) or 80 (AES-256; nginx, haproxy, raw only)', options: ['48', '80'] }),
    keep: Flags.string({ description: 'decrypt window: keep a previous key this long after it stops encrypting (default 12h)', helpValue: 'DURATION' }),
    'if-older-than': Flags.string({ description: 'rotate only when the current key has encrypted this long; else exit 10', helpValue: 'DURATION' }),
    exec: Flags.string({ description: 'run this shell command after every write succeeded (e.g. "nginx -s reload")', helpValue: 'CMD' }),
    'exec-timeout': Flags.string({ description: 'kill --exec (and what it started) after this long; the run then fails (default 60s)', helpValue: 'DURATION' }),
    'haproxy-socket': Flags.string({ description: "push the new key to a running HAProxy through its admin stats socket", helpValue: 'PATH' }),
    push: Flags.string({ description: 'also write the rotated ring to this store (a sessctl daemon that Node servers take keys from), unless it holds a newer ring; repeatable', helpValue: 'URL', multiple: true }),
    'dry-run': Flags.boolean({ description: 'say what would happen, change nothing' }),
    list: Flags.boolean({ description: "list the ring's keys: names, states, ages (no rotation)" }),
    check: Flags.boolean({
      description: 'change nothing: compare every --write output, HAProxy (--haproxy-socket) and every --probe server with the ring; exit 4 on drift',
      exclusive: ['list', 'dry-run', 'exec', 'push'],
    }),
    probe: Flags.string({
      description: 'with --check: connect to HOST:PORT and check its new tickets are under the ring\'s current key; repeatable',
      helpValue: 'HOST:PORT',
      multiple: true,
      dependsOn: ['check'],
    }),
    'probe-timeout': Flags.string({ description: 'with --probe: deadline for each connection (default 10s; e.g. 500ms, 2.5s; at most 1d)', helpValue: 'DURATION', dependsOn: ['probe'] }),
    starttls: Flags.string({ description: 'with --probe: speak this mail protocol before the TLS handshake (as probe --starttls)', options: [...STARTTLS_PROTOCOLS], dependsOn: ['probe'] }),
    'show-secrets': Flags.boolean({ description: 'with --list: include the secret AES and HMAC keys', dependsOn: ['list'] }),
    wide: Flags.boolean({ description: 'with --list: whole key names and times, whatever the terminal width', dependsOn: ['list'] }),
  };

  async run(): Promise<RotateReport | RingListing | CheckReport> {
    const { flags } = await this.parse(RotateKeys);
    const ring = await this.ringStorage(flags);
    const now = nowSeconds();
    if (flags.check) {
      if (!flags.write?.length && !flags['haproxy-socket'] && !flags.probe?.length) {
        throw usageError('--check compares servers with the ring: give the --write outputs, --haproxy-socket or --probe HOST:PORT');
      }
      const ifOlderThan = flags['if-older-than'] === undefined ? undefined : parseDuration(flags['if-older-than'], '--if-older-than');
      const probeTimeoutMs = flags['probe-timeout'] === undefined ? undefined : parseDurationMs(flags['probe-timeout'], '--probe-timeout');
      if (probeTimeoutMs === 0) throw usageError('--probe-timeout must be more than 0');
      if (probeTimeoutMs !== undefined && probeTimeoutMs > 86_400_000) throw usageError(`--probe-timeout ${flags['probe-timeout']} is more than a day`);
      const report = await checkRing({
        ring,
        now,
        outputs: (flags.write ?? []).map(parseOutput),
        ...(flags['haproxy-socket'] === undefined ? {} : { haproxySocket: flags['haproxy-socket'] }),
        probes: (flags.probe ?? []).map(parseTarget),
        ...(probeTimeoutMs === undefined ? {} : { probeTimeoutMs }),
        ...(flags.starttls === undefined ? {} : { starttls: flags.starttls as StartTlsProtocol }),
        ...(ifOlderThan === undefined ? {} : { rotationPeriod: ifOlderThan }),
      });
      this.out(report.consistent ? `consistent: ${report.checked.join(', ')} hold${report.checked.length === 1 ? 's' : ''} the ring ${report.ring}` : report.drifts.map((d) => d.message).join('\n'));
      if (!report.consistent) process.exitCode = EXIT_DRIFTED;
      return report;
    }
    if (flags.list) {
      if (flags['show-secrets']) this.warnLine('showing secret ticket keys (--show-secrets)');
      const listing = await listRing(ring, now, { showSecrets: flags['show-secrets'] });
      this.out(renderListing(listing, now, flags.wide));
      return listing;
    }
    const keep = flags.keep === undefined ? undefined : parseDuration(flags.keep, '--keep');
    if (keep === 0) throw usageError('--keep must be longer than 0s: previous keys must decrypt tickets issued under them');
    const ifOlderThan = flags['if-older-than'] === undefined ? undefined : parseDuration(flags['if-older-than'], '--if-older-than');
    const execTimeout = flags['exec-timeout'] === undefined ? undefined : parseDuration(flags['exec-timeout'], '--exec-timeout');
    if (execTimeout === 0) throw usageError('--exec-timeout must be longer than 0s');
    const push: RingStorage[] = [];
    for (const url of flags.push ?? []) push.push(storeRing(await this.openStore({ ...flags, store: url }, { create: true })));

    const result = await rotateKeys({
      ring,
      now,
      outputs: (flags.write ?? []).map(parseOutput),
      ...(flags.size === undefined ? {} : { size: Number(flags.size) as KeySize }),
      ...(keep === undefined ? {} : { keep }),
      ...(ifOlderThan === undefined ? {} : { ifOlderThan }),
      ...(flags.exec === undefined ? {} : { exec: flags.exec }),
      ...(execTimeout === undefined ? {} : { execTimeoutMs: execTimeout * 1000 }),
      ...(flags['haproxy-socket'] === undefined ? {} : { haproxySocket: flags['haproxy-socket'] }),
      ...(push.length === 0 ? {} : { push }),
      dryRun: flags['dry-run'],
    });
    this.out(summaryLine(result, now));
    for (const failure of result.failures) process.stderr.write(`sessctl: ${failure}\n`);
    if (result.failures.length > 0) process.exitCode = 1;
    else if (result.status === 'not-due') process.exitCode = EXIT_NOT_DUE;
    return result;
  }

  private async ringStorage(flags: StoreFlagValues & { ring?: string }): Promise<RingStorage> {
    if (flags.store !== undefined) return storeRing(await this.openStore(flags, { create: true }));
    const ring = this.setting('ring', flags.ring);
    if (ring !== undefined) return fileRing(ring, { onWarning: (m) => this.warnLine(m) });
    throw usageError('say where the ring lives: --ring FILE, --store URL, $SESSCTL_RING or "ring" in the config file');
  }
}

const short = (name: string): string => name.slice(0, 8);

/** One line for cron mail; no secrets (key names are in every ticket in the clear). */
function summaryLine(r: RotateReport, now: number): string {
  const current = r.keys.find((k) => k.state === 'current')!;
  const next = r.keys.find((k) => k.state === 'next')!;
  if (r.status === 'not-due') {
    return `not due: current key ${short(current.name)} has encrypted for ${formatDuration(r.currentAge)}, next rotation in ${formatDuration((r.dueAt ?? now) - now)} (ring ${r.ring})`;
  }
  const previous = r.keys.filter((k) => k.state === 'previous').length;
  const parts: string[] = [];
  if (r.status === 'retried') {
    parts.push(`${r.dryRun ? 'would redo' : 'redid'} the steps pending since ${shortTime(r.retried!.since)} (${r.retried!.reason}); not due: current ${short(current.name)} (ring ${r.ring})`);
  } else {
    const verb = r.dryRun ? (r.status === 'created' ? 'would create' : 'would rotate') : r.rotatedElsewhere ? 'another run rotated' : r.status;
    parts.push(`${verb} ring ${r.ring}: current ${short(current.name)}, next ${short(next.name)}, ${previous} previous (decrypt window ${formatDuration(r.keep)})`);
    if (r.retried) parts.push(`redid the steps pending since ${shortTime(r.retried.since)}`);
  }
  if (r.outputs.length > 0) parts.push(`${r.dryRun ? 'would write' : 'wrote'} ${r.outputs.map((o) => `${o.format}:${o.path}`).join(', ')}`);
  for (const o of r.outputs) {
    if (o.removed) parts.push(`${r.dryRun ? 'would remove' : 'removed'} ${o.removed.join(', ')} (not part of the ${o.format} layout)`);
    if (o.dropped) {
      const keys = o.dropped.map((d) => `${short(d.name)} (${d.state}${d.decryptsUntil === undefined ? '' : ` until ${shortTime(d.decryptsUntil)}`})`).join(', ');
      parts.push(`${o.format}:${o.path} cannot hold ${keys}: its servers give those tickets full handshakes${o.format === 'nginx' ? ' (nginx-include:DIR holds any window)' : ''}`);
    }
  }
  if (r.pushed) parts.push(`pushed to ${r.pushed.join(', ')}`);
  if (r.pushSkipped) parts.push(`left ${r.pushSkipped.join(', ')} as it was (it holds a newer ring)`);
  if (r.haproxy) parts.push(`HAProxy ${r.haproxy.ref} took ${r.haproxy.pushed.length} key${r.haproxy.pushed.length === 1 ? '' : 's'}`);
  if (r.exec) parts.push(r.exec.ok ? 'exec ok' : `exec failed: ${r.exec.result}`);
  if (r.pending) parts.push(`still pending since ${shortTime(r.pending.since)}: the next run redoes the writes and steps`);
  return parts.join('; ');
}

/** The key list in 80 columns (names shortened, times to the minute), or everything with --wide / --show-secrets. */
function renderListing(listing: RingListing, now: number, wideFlag: boolean): string {
  const secrets = listing.keys.some((k) => k.aesKey !== undefined);
  const wide = wideFlag || secrets;
  const time = (t: number) => (wide ? shortTime(t) : shortTime(t).slice(0, 16));
  const head = ['STATE', 'NAME', 'CREATED', 'AGE', 'DECRYPTS UNTIL', ...(secrets ? ['AES KEY', 'HMAC KEY'] : [])];
  const rows = listing.keys.map((k: KeyView) => [
    k.state,
    wide ? k.name : shortId(k.name, false),
    time(k.createdAt),
    formatDuration(now - k.createdAt),
    k.decryptsUntil === undefined ? (k.state === 'next' ? '(not yet encrypting)' : '') : time(k.decryptsUntil),
    ...(secrets ? [k.aesKey ?? '', k.hmacKey ?? ''] : []),
  ]);
  return `ring ${listing.ring}: ${listing.size}-byte keys, decrypt window ${formatDuration(listing.keep)}\n${renderTable(head, rows, { wide: secrets })}`;
}
