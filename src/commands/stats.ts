import { Flags } from '../lib/cli/oclif.js';
import { BaseCommand, EXIT_CODES_HELP } from '../lib/cli/base.js';
import { formatBytes, spaceLine } from '../lib/cli/format.js';
import { withOptionalValue } from '../lib/cli/optional-value.js';
import { progress } from '../lib/cli/progress.js';
import { renderTable } from '../lib/cli/table.js';
import { computeStats, type StoreStats } from '../lib/store/stats.js';
import { nowSeconds, type SessionStore } from '../lib/store/types.js';
import { abortableSleep, watchCounters, type CounterInterval } from '../lib/store/watch.js';

/** Seconds between reads of a bare --watch, as redis-cli --stat. */
const WATCH_DEFAULT_SECONDS = '1';
/** The header is repeated every this many rows, as redis-cli --stat does. */
const WATCH_HEADER_EVERY = 20;

export default class Stats extends BaseCommand {
  static summary = "Summarise a store: sessions by protocol, cipher and SNI, remaining lifetimes, and the cache's counters.";
  static description = `One pass over the store (foldl, constant memory). The counters are the store's own, named as OpenSSL's
SSL_CTX_sess_*: hits, misses, timeouts (found but expired), cache_full (evictions), inserts, removals; servers using
the store through sessctl's TLS integration or daemon update them. Inserts and removals made with sessctl insert,
remove and flush are shown apart (SESSCTL column; admin_inserts and admin_removals in --json, where inserts and
removals count both).
--watch [SECONDS] prints, every SECONDS (default 1) until interrupted (Ctrl-C, exit 0), what the counters moved by: hits, misses,
the hit ratio, timeouts, inserts, and the sessions held, like redis-cli --stat; with --json one object a line.
${EXIT_CODES_HELP}`;

  static examples = [
    '<%= config.bin %> stats',
    '<%= config.bin %> stats --store redis://127.0.0.1:6379 --top 20 --json',
    '<%= config.bin %> stats --watch 5 --store redis://127.0.0.1:6379',
  ];

  static flags = {
    ...BaseCommand.storeFlags,
    top: Flags.integer({ description: 'how many SNI names to show', default: 10, min: 1, helpValue: 'N' }),
    watch: Flags.integer({ description: 'every SECONDS (default 1), what the counters moved by, until interrupted', min: 1, helpValue: '[SECONDS]' }),
  };

  async init(): Promise<void> {
    await super.init();
    this.argv = withOptionalValue(this.argv, '--watch', WATCH_DEFAULT_SECONDS);
  }

  async run(): Promise<StoreStats | void> {
    const { flags } = await this.parse(Stats);
    const store = await this.openStore(flags, { readOnly: true });
    if (flags.watch !== undefined) return this.watch(store, flags.watch);
    const bar = progress('reading');
    const stats = await computeStats(store, { now: nowSeconds(), top: flags.top, onProgress: bar.update });
    bar.done();
    if (!this.jsonEnabled()) this.out(render(stats));
    return stats;
  }

  /** Until SIGINT or SIGTERM: a line per interval (a JSON object a line under --json). */
  private async watch(store: SessionStore, seconds: number): Promise<void> {
    const stop = new AbortController();
    const onSignal = (): void => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      let rows = 0;
      for await (const interval of watchCounters(store, { interval: seconds, signal: stop.signal, now: () => Date.now() / 1000, sleep: abortableSleep })) {
        if (this.jsonEnabled()) {
          process.stdout.write(`${JSON.stringify({ ...interval, at: new Date(interval.at * 1000).toISOString() })}\n`);
          continue;
        }
        if (rows % WATCH_HEADER_EVERY === 0) process.stdout.write(`${WATCH_HEAD}\n`);
        process.stdout.write(`${watchRow(interval)}\n`);
        rows += 1;
      }
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
}

const WATCH_COLUMNS: [string, number][] = [['TIME', 8], ['HITS', 8], ['MISSES', 8], ['HIT%', 6], ['TIMEOUTS', 8], ['INSERTS', 8], ['SESSIONS', 8]];
const WATCH_HEAD = WATCH_COLUMNS.map(([h, w]) => h.padEnd(w)).join('  ').trimEnd();

function watchRow(i: CounterInterval): string {
  const cells = [
    new Date(i.at * 1000).toISOString().slice(11, 19),
    String(i.hits),
    String(i.misses),
    i.hitRatio === null ? '-' : `${(i.hitRatio * 100).toFixed(1)}%`,
    String(i.timeouts),
    String(i.inserts),
    String(i.sessions),
  ];
  return cells.map((c, n) => c.padEnd(WATCH_COLUMNS[n]![1])).join('  ').trimEnd();
}

function render(s: StoreStats): string {
  const pairs = (o: Record<string, number>) => Object.entries(o).map(([k, v]) => [k, String(v)]);
  const section = (title: string, head: string[], rows: string[][]) =>
    rows.length === 0 ? '' : `\n${title}\n${renderTable(head, rows).replace(/^/gm, '  ')}\n`;
  return [
    `Store     ${s.store}`,
    `Sessions  ${s.total} (${s.live} live, ${s.expired} expired), ${formatBytes(s.bytes)}`,
    ...(s.space === undefined ? [] : [`Space     ${spaceLine(s.space)}`]),
    section('By protocol', ['PROTOCOL', 'SESSIONS'], pairs(s.byProtocol)),
    section('By cipher', ['CIPHER', 'SESSIONS'], pairs(s.byCipher)),
    section(`By SNI (top ${s.bySni.length} of ${s.sniCount})`, ['SNI', 'SESSIONS'], s.bySni.map((x) => [x.sni, String(x.count)])),
    section('Live sessions by remaining lifetime', ['EXPIRES', 'SESSIONS'], s.remainingLifetime.map((b) => [b.bucket, String(b.count)])),
    section('Counters', ['COUNTER', 'SERVERS', 'SESSCTL'], counterRows(s)),
  ].filter((x) => x !== '').join('\n');
}

/** The servers' counters, with inserts and removals told apart from sessctl's own (insert, remove, flush). */
function counterRows(s: StoreStats): string[][] {
  const serverOnly = (['hits', 'misses', 'timeouts', 'cache_full'] as const).map((n) => [n, String(s.counters[n]), '-']);
  return [...serverOnly, ['inserts', String(s.servers.inserts), String(s.counters.admin_inserts)], ['removals', String(s.servers.removals), String(s.counters.admin_removals)]];
}
