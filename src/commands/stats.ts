import { Flags } from '../lib/cli/oclif.js';
import { BaseCommand, EXIT_CODES_HELP } from '../lib/cli/base.js';
import { formatBytes, spaceLine } from '../lib/cli/format.js';
import { progress } from '../lib/cli/progress.js';
import { renderTable } from '../lib/cli/table.js';
import { computeStats, type StoreStats } from '../lib/store/stats.js';
import { nowSeconds } from '../lib/store/types.js';

export default class Stats extends BaseCommand {
  static summary = "Summarise a store: sessions by protocol, cipher and SNI, remaining lifetimes, and the cache's counters.";
  static description = `One pass over the store (foldl, constant memory). The counters are the store's own, named as OpenSSL's
SSL_CTX_sess_*: hits, misses, timeouts (found but expired), cache_full (evictions), inserts, removals; servers using
the store through sessctl's TLS integration or daemon update them. Inserts and removals made with sessctl insert,
remove and flush are shown apart (SESSCTL column; admin_inserts and admin_removals in --json, where inserts and
removals count both).
${EXIT_CODES_HELP}`;

  static examples = ['<%= config.bin %> stats', '<%= config.bin %> stats --store redis://127.0.0.1:6379 --top 20 --json'];

  static flags = {
    ...BaseCommand.storeFlags,
    top: Flags.integer({ description: 'how many SNI names to show', default: 10, min: 1, helpValue: 'N' }),
  };

  async run(): Promise<StoreStats> {
    const { flags } = await this.parse(Stats);
    const store = await this.openStore(flags, { readOnly: true });
    const bar = progress('reading');
    const stats = await computeStats(store, { now: nowSeconds(), top: flags.top, onProgress: bar.update });
    bar.done();
    if (!this.jsonEnabled()) this.out(render(stats));
    return stats;
  }
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
