import { Flags } from '../lib/cli/oclif.js';
import { BaseCommand, EXIT_CODES_HELP } from '../lib/cli/base.js';
import { queryFlags, queryFromFlags } from '../lib/cli/query-flags.js';
import { ChunkedTable } from '../lib/cli/columns.js';
import { ChunkedWriter } from '../lib/cli/output.js';
import { sessionColumns, type SessionColumns } from '../lib/cli/session-table.js';
import { selectEntries, SORT_KEYS } from '../lib/store/query.js';
import { entryViewJson, type EntryView } from '../lib/store/view.js';
import { nowSeconds, type Entry } from '../lib/store/types.js';

/** Rows per table chunk: the first sets the columns and their widths, then the table streams. */
const CHUNK = 500;

export default class List extends BaseCommand {
  static summary = 'List the sessions in a store.';
  static description = `Streams the store (foldl): works on every backend in constant memory, unless --sort is given without --limit.
On a terminal the table fits its width: a column is cut only when the line would not fit (the id first, to the form get, remove
and explain accept back); piped, ids are whole and nothing is cut. ROLE and CONTEXT (the session-id context) are shown when the
sessions are not all of one role or context (judged on the first 500); --wide shows every column.
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
    wide: Flags.boolean({ description: 'every column (role, ALPN, session-id context, created), nothing cut, whatever the terminal width' }),
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
        const pending = out.push(`${first ? '\n  ' : ',\n  '}${entryViewJson(e, now)}`);
        first = false;
        return pending;
      });
      out.push(first ? ']\n' : '\n]\n');
      await out.flush();
      return;
    }

    // On a terminal the table fits it; piped (scripts) and --wide, nothing is cut.
    const width = !flags.wide && process.stdout.isTTY && process.stdout.columns > 0 ? process.stdout.columns : undefined;
    const out = new ChunkedWriter();
    let pending: Entry[] = [];
    let columns: SessionColumns | undefined;
    let table: ChunkedTable | undefined;
    const flush = () => {
      columns ??= sessionColumns(pending, { wide: flags.wide, now });
      table ??= new ChunkedTable(columns.specs, width);
      const text = table.render(pending.map(columns.row));
      pending = [];
      return out.push(text);
    };
    // With the DER: the session-id context is only in there (bench/list.mjs: still within 1.5x of --json).
    const count = await selectEntries(store, query, { ...options, withDer: true }, (e) => {
      pending.push(e);
      return pending.length >= CHUNK ? flush() : undefined;
    });
    if (pending.length > 0 || table === undefined) flush();
    await out.flush();
    process.stderr.write(`${count} session${count === 1 ? '' : 's'}${flags.limit !== undefined && count >= flags.limit ? ` (limit ${flags.limit})` : ''}\n`);
  }
}
