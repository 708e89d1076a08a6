import { Args, Flags } from '../lib/cli/oclif.js';
import { BaseCommand } from '../lib/cli/base.js';
import { inputName, readInput } from '../lib/cli/input.js';
import { NotFoundError, usageError } from '../lib/errors.js';
import { resolveStoreUrl } from '../lib/store/location.js';
import { parseIdPattern, resolveId } from '../lib/store/id.js';
import type { SessionStore } from '../lib/store/types.js';
import { explainResumption, explanationText, parseSessionIdContext, type Explanation } from '../lib/explain/index.js';
import { decodeSession } from '../lib/session/codec.js';
import { readSessionBlobs } from '../lib/session/pem.js';
import { nowSeconds } from '../lib/store/types.js';

/** Exit codes of explain beyond the common ones. */
export const EXIT_WILL_NOT_RESUME = 4;
export const EXIT_UNDETERMINED = 5;

export default class Explain extends BaseCommand {
  static summary = 'Say whether a server will resume a session, and why not.';
  static description = `Give what the client holds (--in FILE: a PEM from openssl s_client -sess_out, or a session DER; or the session id) and
what the server uses: its session cache (--store), its ticket keys (--ring, from rotate-keys) and its session-id context
(--session-id-context). The first line is the verdict (resumes, will not resume, cannot tell) with the main reason; then the evidence.
The id may be shortened as list shows it (0aa8ff03…4d21) or to a unique prefix.
Without --store the store is the one of SESSCTL_STORE or the config file, else the default cache file, which the verdict line then
names.

It checks what an OpenSSL server checks: a session offered by ticket must be under a key of the ring that is not retired, with a valid
HMAC, and the session inside must not have expired; a session offered by session ID (or by a 32-byte TLS 1.3 stateful ticket) must be
in the store as a server session, not expired; both must carry the server's session-id context.

--json prints {verdict: "resumes" | "will-not-resume" | "undetermined", reasons: [{code, message}], notes: [{code, message}],
evidence: {now, held, offer: {kind, key}, server: {store, ring, sessionIdContext}, lookup: {key, found, entry}, ticket: {keyName, key, mac, inside}}};
times are ISO 8601 UTC, durations seconds, no secrets.

Reason codes: live-in-store, ticket-key-live (resumes); nothing-to-offer,
client-expired, not-in-store, not-a-server-session, expired, context-mismatch, master-key-mismatch, ticket-key-unknown,
ticket-key-not-held (a key of the window that rotate-keys could not give the servers of an output: nginx:DIR's three files),
ticket-key-retired, ticket-mac-invalid, ticket-undecryptable (will not resume); no-store, no-ring, ticket-format-unknown,
unreadable-session (cannot tell).

Exit codes: 0 resumes, 1 error, 2 usage error (also: a shortened id that fits several sessions), 3 not found (the --ring file, a
shortened id that fits none), ${EXIT_WILL_NOT_RESUME} will not resume, ${EXIT_UNDETERMINED} cannot tell (a ticket without --ring, a store entry that is no session).`;

  static examples = [
    '<%= config.bin %> explain --in client-session.pem --ring /etc/sessctl/ring.json',
    '<%= config.bin %> explain --in client-session.pem --store redis://cache:6379 --session-id-context login-portal',
    '<%= config.bin %> explain 0aa8ff03…4d21 --store /var/lib/sessctl/sessions.db --json',
  ];

  static args = {
    id: Args.string({ description: 'the session id (hex) the client offers, instead of --in', ignoreStdin: true }),
  };

  static flags = {
    ...BaseCommand.storeFlags,
    in: Flags.string({ description: 'the session the client holds: PEM or DER file (- for standard input)', helpValue: 'FILE' }),
    ring: Flags.string({ description: "the server's ticket-key ring (rotate-keys --ring) [env: SESSCTL_RING; config file: ring]", helpValue: 'FILE' }),
    'session-id-context': Flags.string({
      description: "the server's session-id context: text, or hex:HEX for raw bytes (at most 32 bytes); unchecked when not given",
      helpValue: 'CONTEXT',
    }),
    now: Flags.string({ description: 'judge at this time instead of now: unix seconds or ISO 8601', helpValue: 'TIME' }),
  };

  async run(): Promise<Explanation> {
    const { args, flags } = await this.parse(Explain);
    if ((args.id === undefined) === (flags.in === undefined)) throw usageError('give the session the client holds (--in FILE) or its id');
    const now = flags.now === undefined ? nowSeconds() : parseTime(flags.now);
    const pattern = args.id === undefined ? undefined : parseIdPattern(args.id);
    let opened: Promise<SessionStore> | undefined;
    const openStore = (): Promise<SessionStore> => (opened ??= this.openStore(flags, { readOnly: true }));
    const sessionIdContext = flags['session-id-context'] === undefined ? undefined : parseSessionIdContext(flags['session-id-context']);

    let held;
    if (flags.in !== undefined) {
      const source = inputName(flags.in);
      const blobs = readSessionBlobs(await readInput(flags.in), source);
      if (blobs.length > 1) throw usageError(`${source} holds ${blobs.length} sessions: explain takes one`);
      held = decodeSession(blobs[0]!);
    }
    let ring;
    const ringFile = this.setting('ring', flags.ring);
    if (ringFile !== undefined) {
      // Loaded only when asked: the rotation code (formats, locks, sockets) is not needed otherwise.
      const { fileRing } = await import('../lib/tickets/ring-storage.js');
      const read = await fileRing(ringFile, { onWarning: (m) => this.warnLine(m) }).read();
      if (read === undefined) throw new NotFoundError(`no ticket-key ring at ${ringFile}`);
      // Judged by the keys the servers hold: a key of the window that an output could not give them (notHeldBy) resumes nothing there.
      ring = { name: ringFile, ring: read };
    }

    let id: string | undefined;
    if (pattern !== undefined) {
      // A whole id not in the store is still judged (not in the store: will not resume); a shortened one must fit a session.
      id = await resolveId(await openStore(), args.id!).catch((err: unknown) => {
        if (err instanceof NotFoundError && pattern.whole) return pattern.prefix;
        throw err;
      });
    }
    const explanation = await explainResumption({
      ...(held === undefined ? {} : { held }),
      ...(id === undefined ? {} : { id }),
      openStore,
      ...(ring === undefined ? {} : { ring }),
      ...(sessionIdContext === undefined ? {} : { sessionIdContext }),
      now,
    });
    const { source } = resolveStoreUrl({ flag: flags.store, ...(this.userConfig().values.store === undefined ? {} : { config: this.userConfig().values.store }) });
    this.out(
      explanationText(explanation, {
        ...(process.stdout.isTTY && process.stdout.columns > 0 ? { width: process.stdout.columns } : {}),
        defaultStore: source === 'default',
      }),
    );
    if (explanation.verdict === 'will-not-resume') process.exitCode = EXIT_WILL_NOT_RESUME;
    if (explanation.verdict === 'undetermined') process.exitCode = EXIT_UNDETERMINED;
    return explanation;
  }
}

/** --now: unix seconds, or an ISO 8601 time. */
function parseTime(text: string): number {
  if (/^\d+$/.test(text.trim())) return Number(text.trim());
  const ms = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text.trim()) || Number.isNaN(ms)) throw usageError(`--now: "${text}" is neither unix seconds nor an ISO 8601 time`);
  return Math.floor(ms / 1000);
}
