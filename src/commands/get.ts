import { Args, Flags } from '../lib/cli/oclif.js';
import { BaseCommand, EXIT_CODES_HELP } from '../lib/cli/base.js';
import { inputName, readInput } from '../lib/cli/input.js';
import { readableOutputWarning } from '../lib/cli/secret-output.js';
import { NotFoundError, usageError } from '../lib/errors.js';
import { decodeSession } from '../lib/session/codec.js';
import { keylogLine } from '../lib/session/keylog.js';
import { readSessionBlobs, toPem } from '../lib/session/pem.js';
import { sessionText } from '../lib/session/text.js';
import { sessionView, type SessionView } from '../lib/session/view.js';
import type { EntryView } from '../lib/store/view.js';
import { nowSeconds } from '../lib/store/types.js';
import type { TicketInspection } from '../lib/tickets/inspect.js';

export type GetResult = SessionView & { store?: EntryView; ticketInspection?: TicketInspection };

export default class Get extends BaseCommand {
  static summary = 'Show everything about one session, from a store or from a file.';
  static description = `With ID, looks the session up in the store; with --in FILE (- for standard input), decodes a session file
(PEM "SSL SESSION PARAMETERS" or DER, as written by openssl s_client -sess_out, Node's newSession or get --out) without any store:
like openssl sess_id -text, but complete (SNI, ALPN, ticket, flags, peer certificate).
The master key (the resumption PSK in TLS 1.3) is masked unless --show-secrets.
--out exports the session: pem, der (the shareable buffer of TSSslSessionGetBuffer), json or text; pem and der hold the master key.
--json prints the decoded session (an array when --in holds several).
${EXIT_CODES_HELP}`;

  static examples = [
    '<%= config.bin %> get f59379243e20337d14a6faa62341acd7f42016e59f6d940a45b9defe2f4187c8',
    '<%= config.bin %> get --in client-session.pem',
    'openssl s_client -connect example.com:443 -sess_out /dev/stdout </dev/null | <%= config.bin %> get --in -',
    '<%= config.bin %> get f59379243e20337d14a6faa62341acd7f42016e59f6d940a45b9defe2f4187c8 --out pem > session.pem',
  ];

  static args = {
    id: Args.string({ description: 'session id (hex): whole, a unique prefix, or shortened as list shows it (0aa8ff03…4d21)', ignoreStdin: true }),
  };

  static flags = {
    ...BaseCommand.storeFlags,
    in: Flags.string({ description: 'decode this session file instead of reading a store (- for standard input)', helpValue: 'FILE', exclusive: ['store'] }),
    'show-secrets': Flags.boolean({ description: 'show the master key / resumption PSK' }),
    out: Flags.string({ description: 'export format', options: ['text', 'json', 'pem', 'der'] }),
    keylog: Flags.boolean({
      description: 'print the session as an SSLKEYLOGFILE line (RSA Session-ID:… Master-Key:…) for Wireshark; this shows the master key',
      exclusive: ['out'],
    }),
    ring: Flags.string({
      description: "ticket-key ring (rotate-keys --ring): say whether the ticket's key is in it and in which state, verify and decrypt OpenSSL-format tickets",
      helpValue: 'FILE',
    }),
  };

  async run(): Promise<GetResult | GetResult[] | void> {
    const { args, flags } = await this.parse(Get);
    if ((args.id === undefined) === (flags.in === undefined)) throw usageError('give a session id, or --in FILE');
    const now = nowSeconds();
    const showSecrets = flags['show-secrets'];

    let items: { der: Buffer; store?: EntryView }[];
    if (flags.in !== undefined) {
      const blobs = readSessionBlobs(await readInput(flags.in), inputName(flags.in));
      items = blobs.map((der) => ({ der }));
    } else {
      // Loaded only for a store: decoding a file (--in) needs neither.
      const [{ parseIdPattern, resolveId }, { entryView }] = await Promise.all([import('../lib/store/id.js'), import('../lib/store/view.js')]);
      parseIdPattern(args.id!);
      const store = await this.openStore(flags, { readOnly: true });
      const key = await resolveId(store, args.id!);
      const entry = await store.lookup(key);
      if (!entry) throw new NotFoundError(`no session ${key} in ${store.url}`);
      items = [{ der: entry.der, store: entryView(entry, now) }];
    }
    const ringFile = this.setting('ring', flags.ring);
    // Loaded only when asked: the rotation and inspection code (formats, locks, sockets) is not needed to read a session.
    const ring = ringFile === undefined ? undefined : await (await import('../lib/tickets/ring-storage.js')).fileRing(ringFile, { onWarning: (m) => this.warnLine(m) }).read();
    if (flags.ring !== undefined && ring === undefined) throw new NotFoundError(`no ticket-key ring at ${flags.ring}`);
    const inspection = ring === undefined ? undefined : await import('../lib/tickets/inspect.js');
    const results: GetResult[] = items.map(({ der, store }) => {
      const session = decodeSession(der);
      return {
        ...sessionView(session, { showSecrets, now }),
        ...(store === undefined ? {} : { store }),
        ...(ring === undefined || inspection === undefined ? {} : { ticketInspection: inspection.inspectTicket(session, ring, now) }),
      };
    });

    if (flags.keylog) {
      const lines = items.map(({ der }) => keylogLine(decodeSession(der)));
      this.warnLine('showing secrets: this key-log line decrypts every recorded connection that used this session');
      this.warnIfReadable();
      this.out(lines.join('\n'));
      return;
    }
    if (flags.out === 'pem' || flags.out === 'der') {
      if (flags.out === 'der' && process.stdout.isTTY) throw usageError('--out der writes binary: redirect it to a file');
      // Said wherever it goes (a terminal, a pipe, a file): the README promises a line whenever secrets leave.
      this.warnLine('the exported session holds its master key: keep it private');
      this.warnIfReadable();
      process.stdout.write(flags.out === 'pem' ? items.map((i) => toPem(i.der)).join('') : Buffer.concat(items.map((i) => i.der)));
      return;
    }
    if (flags.out === 'json' && !this.jsonEnabled()) {
      this.out(JSON.stringify(results.length === 1 ? results[0] : results, null, 2));
      return;
    }
    if (showSecrets) {
      this.warnLine('showing secrets: the master key decrypts recorded traffic of this session');
      this.warnIfReadable();
    }
    if (!this.jsonEnabled()) this.out(results.map((r) => sessionText(r) + storeText(r.store) + ticketText(r.ticketInspection, now, inspection?.inspectionText)).join('\n'));
    return results.length === 1 ? results[0] : results;
  }

  /** Secrets going to a file others can read: one more line saying so. */
  private warnIfReadable(): void {
    const warning = readableOutputWarning();
    if (warning !== undefined) this.warnLine(warning);
  }
}

function storeText(store: EntryView | undefined): string {
  if (store === undefined) return '';
  const lines = [
    'Store entry:',
    `    Key       : ${store.id}`,
    `    Role      : ${store.role}${store.partialKey ? ` (for ${store.partialKey})` : ''}`,
    `    Inserted  : ${store.inserted}`,
    `    Expires   : ${store.expires} (${store.expired ? 'expired' : `in ${store.expiresIn} s`})`,
  ];
  return `\n${lines.join('\n')}`;
}

/** inspectionText comes with the inspection code, loaded only for --ring. */
function ticketText(inspection: TicketInspection | undefined, now: number, inspectionText: ((i: TicketInspection, now: number) => string) | undefined): string {
  const text = inspection === undefined || inspectionText === undefined ? '' : inspectionText(inspection, now);
  return text === '' ? '' : `\n${text}`;
}
