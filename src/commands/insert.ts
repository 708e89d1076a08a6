import { Args, Flags } from '../lib/cli/oclif.js';
import { BaseCommand, EXIT_CODES_HELP } from '../lib/cli/base.js';
import { inputName, readInput } from '../lib/cli/input.js';
import { insertEntries, prepareEntries } from '../lib/store/insert.js';
import { entryView, type EntryView } from '../lib/store/view.js';
import { nowSeconds } from '../lib/store/types.js';

export interface InsertResult {
  inserted: EntryView[];
  /** Sessions left out because their lifetime had passed (insert --keep-expired to insert them). */
  skipped: (EntryView & { reason: 'expired' })[];
}

export default class Insert extends BaseCommand {
  static summary = 'Insert sessions from files into a store.';
  static description = `Reads PEM ("SSL SESSION PARAMETERS", several blocks per file allowed) or DER, as written by
openssl s_client -sess_out, Node's newSession event or sessctl get --out. The key is the session id unless --id HEX.
An existing entry under the same key is replaced. Every file is decoded and checked before anything is written:
one invalid file and nothing is inserted. Sessions whose lifetime has passed are skipped, each with a line saying
so (no server would resume them): --keep-expired inserts them too (the cache file keeps them until flushed, Redis
and memcached for 5 minutes). Into the cache file an insert is one transaction (all or nothing); into other stores a
failure says how many were inserted before it.
${EXIT_CODES_HELP}`;

  static examples = [
    '<%= config.bin %> insert session.pem',
    'openssl s_client -connect example.com:443 -sess_out /dev/stdout </dev/null | <%= config.bin %> insert -',
    '<%= config.bin %> insert --store redis://127.0.0.1:6379 --timeout 300 a.pem b.der',
  ];

  static strict = false;
  static args = {
    file: Args.string({ description: 'session file (PEM or DER), - for standard input; several allowed', required: true, ignoreStdin: true }),
  };

  static flags = {
    ...BaseCommand.storeFlags,
    id: Flags.string({ description: 'store the session under this id (hex) instead of its own session id', helpValue: 'HEX' }),
    timeout: Flags.integer({ description: "lifetime in seconds from the session's start time, instead of its own timeout", min: 1, helpValue: 'SECONDS' }),
    role: Flags.string({ description: 'whose session it is (default: client if it carries a ticket, else server)', options: ['client', 'server'] }),
    'partial-key': Flags.string({ description: 'client sessions: the server they belong to, e.g. host:port', helpValue: 'PARTIAL' }),
    'keep-expired': Flags.boolean({ description: 'insert sessions whose lifetime has passed too (skipped otherwise)' }),
    quiet: Flags.boolean({ char: 'q', description: 'no line per inserted session: only the summary (and a line per session skipped)' }),
  };

  async run(): Promise<InsertResult> {
    const { argv, flags } = await this.parse(Insert);
    const files = argv as string[];
    const now = nowSeconds();
    const sources = [];
    for (const file of files) sources.push({ name: inputName(file), data: await readInput(file) });
    const entries = prepareEntries(sources, {
      now,
      ...(flags.id === undefined ? {} : { key: flags.id }),
      ...(flags.timeout === undefined ? {} : { timeout: flags.timeout }),
      ...(flags.role === undefined ? {} : { role: flags.role as 'client' | 'server' }),
      ...(flags['partial-key'] === undefined ? {} : { partialKey: flags['partial-key'] }),
    });
    const store = await this.openStore(flags, { create: true });
    const outcome = await insertEntries(store, entries, { now, keepExpired: flags['keep-expired'] });
    const inserted = outcome.inserted.map((e) => entryView(e, now));
    const skipped = outcome.expired.map((e) => ({ ...entryView(e, now), reason: 'expired' as const }));
    if (!flags.quiet) for (const e of inserted) this.out(`inserted ${e.id} (${e.protocol} ${e.cipher}${e.sni ? ` ${e.sni}` : ''}, ${e.expired ? 'expired' : `expires ${e.expires}`})`);
    for (const e of skipped) this.out(`skipped ${e.id}: expired at ${e.expires}, no server would resume it (--keep-expired inserts it anyway)`);
    const also = skipped.length === 0 ? '' : `; ${skipped.length} expired, skipped`;
    this.out(`${inserted.length} session${inserted.length === 1 ? '' : 's'} inserted into ${store.url}${also}`);
    return { inserted, skipped };
  }
}
