import { Flags } from '../lib/cli/oclif.js';
import { BaseCommand, EXIT_CODES_HELP } from '../lib/cli/base.js';
import { queryFlags, queryFromFlags } from '../lib/cli/query-flags.js';
import { formatExpiry, shortId, shortTime } from '../lib/cli/format.js';
import { ChunkedWriter } from '../lib/cli/output.js';
import { renderTable } from '../lib/cli/table.js';
import { selectEntries, SORT_KEYS } from '../lib/store/query.js';
import { entryView, type EntryView } from '../lib/store/view.js';
import { nowSeconds, type Entry } from '../lib/store/types.js';

/** Rows rendered per table chunk: the table streams in pieces of fixed column widths. */
const CHUNK = 500;

export default class List extends BaseCommand {
  static summary = 'List the sessions in a store.';
  static description = `Streams the store (foldl): works on every backend in constant memory, unless --sort is given without --limit.
With --json, prints a JSON array of session summaries (no secrets): id, role, partialKey, protocol, cipher, sni, alpn, created, inserted, expires (ISO 8601), expiresIn (seconds, negative once expired), expired, size (bytes), hasTicket.
${EXIT_CODES_HELP}`;

  static examples = [
    '<%= config.bin %> list',
    '<%= config.bin %> list --sni login.example.com --live',
    '<%= config.bin %> list --store redis://127.0.0.1:6379 --protocol 1.3 --json',
    '<%= config.bin %> list --sort expires --limit 20',
  ];

  static flags = {
    ...BaseCommand.storeFlags,
    ...queryFlags,
    wide: Flags.boolean({ description: 'whole session ids and every column, whatever the terminal width' }),
    limit: Flags.integer({ description: 'show at most N sessions', min: 0, helpValue: 'N' }),
    sort: Flags.string({ description: 'sort by this column', options: [...SORT_KEYS] }),
    reverse: Flags.boolean({ description: 'reverse the sort order' }),
  };

  async run(): Promise<EntryView[] | void> {
    const { flags } = await this.parse(List);
    const query = queryFromFlags(flags);
    const store = await this.openStore(flags, { readOnly: true });
    const now = nowSeconds();
    const options = { now, ...(flags.limit === undefined ? {} : { limit: flags.limit }), ...(flags.sort === undefined ? {} : { sort: flags.sort as (typeof SORT_KEYS)[number] }), reverse: flags.reverse };

    if (this.jsonEnabled()) {
      // Written as it streams, not returned: a million sessions must not be one string in memory.
      const out = new ChunkedWriter();
      let first = true;
      out.push('[');
      await selectEntries(store, query, options, (e) => {
        const pending = out.push(`${first ? '\n  ' : ',\n  '}${JSON.stringify(entryView(e, now))}`);
        first = false;
        return pending;
      });
      out.push(first ? ']\n' : '\n]\n');
      await out.flush();
      return;
    }

    const out = new ChunkedWriter();
    let rows: string[][] = [];
    let printedHead = false;
    const flush = () => {
      const text = renderTable(flags.wide ? WIDE_HEAD : HEAD, rows, { widths: flags.wide ? WIDE_WIDTHS : WIDTHS, head: !printedHead });
      printedHead = true;
      rows = [];
      return out.push(`${text}\n`);
    };
    const count = await selectEntries(store, query, options, (e) => {
      rows.push(row(e, now, flags.wide));
      return rows.length >= CHUNK ? flush() : undefined;
    });
    if (rows.length > 0 || !printedHead) flush();
    await out.flush();
    process.stderr.write(`${count} session${count === 1 ? '' : 's'}${flags.limit !== undefined && count >= flags.limit ? ` (limit ${flags.limit})` : ''}\n`);
  }
}

const HEAD = ['ID', 'PROTO', 'CIPHER', 'SNI', 'EXPIRES', 'SIZE'];
/** Fixed widths so that every chunk lines up: 80 columns with the gaps. */
const WIDTHS = [13, 7, 21, 13, 10, 5];
const WIDE_HEAD = ['ID', 'ROLE', 'PROTOCOL', 'CIPHER', 'SNI', 'ALPN', 'CREATED', 'EXPIRES', 'SIZE'];
const WIDE_WIDTHS = [64, 6, 8, 30, 30, 12, 19, 22, 5];

function row(e: Entry, now: number, wide: boolean): string[] {
  const expires = e.expiresAt > now || wide ? formatExpiry(e.expiresAt, now) : 'expired';
  const size = String(e.size);
  if (!wide) return [shortId(e.key, false), e.protocol, e.cipher, e.sni ?? '-', expires, size];
  return [e.key, e.role, e.protocol, e.cipher, e.sni ?? '-', e.alpn ?? '-', shortTime(e.createdAt), expires, size];
}
