import { Flags } from '../lib/cli/oclif.js';
import { BaseCommand, EXIT_CODES_HELP } from '../lib/cli/base.js';
import { usageError } from '../lib/errors.js';
import type { ServeResult } from '../lib/daemon/run.js';

export default class Serve extends BaseCommand {
  static summary = 'Run the sessctl daemon: one session cache, shared over HTTP(S) by TLS servers and administered by the CLI.';
  static description = `Serves the store named by --store (default: the cache file) to clients using --store https://HOST:PORT.
Clients send the bearer token from --token-file; without one the daemon refuses to start, unless --no-auth on a
loopback address. Listening on anything but loopback needs TLS (--tls-cert, --tls-key); --tls-ca also requires client
certificates signed by that CA. Logs are JSON lines on stderr, without tokens, sessions or keys. SIGTERM or SIGINT
stops it: requests in flight finish (at most --grace ms), then the store is closed. API and deployment: docs/DEPLOYMENT.md.
--workers N runs N processes on the same port and store, for hosts with several cores (not with memory:).
--json prints, once stopped, {url, store, tls, auth: "token" | "none", workers, signal}.
${EXIT_CODES_HELP}`;

  static examples = [
    '<%= config.bin %> serve --token-file /etc/sessctl/token',
    '<%= config.bin %> serve --listen 0.0.0.0:7420 --tls-cert cert.pem --tls-key key.pem --token-file /etc/sessctl/token',
  ];


  static flags = {
    listen: Flags.string({ description: 'address and port to listen on (HOST:PORT, [IPv6]:PORT or PORT)', default: '127.0.0.1:7420', helpValue: 'HOST:PORT' }),
    store: Flags.string({ description: 'the backing store: a cache file path or file:PATH, memory:, redis://... [env: SESSCTL_STORE]', helpValue: 'URL' }),
    ca: Flags.string({ description: 'CA certificate(s) to verify a rediss:// backing store', helpValue: 'FILE' }),
    'token-file': Flags.string({ description: 'file holding the bearer token clients must send [env: SESSCTL_TOKEN holds the token itself]', helpValue: 'FILE' }),
    'no-auth': Flags.boolean({ description: 'accept requests without a token (loopback addresses only)' }),
    'tls-cert': Flags.string({ description: 'serve HTTPS with this certificate (PEM, chain included)', helpValue: 'FILE', dependsOn: ['tls-key'] }),
    'tls-key': Flags.string({ description: 'private key of --tls-cert (PEM)', helpValue: 'FILE', dependsOn: ['tls-cert'] }),
    'tls-ca': Flags.string({ description: 'require client certificates signed by this CA (PEM)', helpValue: 'FILE', dependsOn: ['tls-cert'] }),
    'max-body': Flags.integer({ description: 'largest request body in bytes (413 above)', default: 16 * 1024, min: 1024, helpValue: 'BYTES' }),
    'headers-timeout': Flags.integer({ description: 'milliseconds a client has to send its request headers', default: 10_000, min: 10, helpValue: 'MS' }),
    'request-timeout': Flags.integer({ description: 'milliseconds a client has to send a whole request', default: 30_000, min: 10, helpValue: 'MS' }),
    'keep-alive-timeout': Flags.integer({ description: 'milliseconds an idle connection stays open', default: 65_000, min: 10, helpValue: 'MS' }),
    'max-connections': Flags.integer({ description: 'most connections at once; more are closed on arrival', default: 4096, min: 1, helpValue: 'N' }),
    grace: Flags.integer({ description: 'on SIGTERM, milliseconds to let requests in flight finish', default: 10_000, min: 0, helpValue: 'MS' }),
    'log-requests': Flags.boolean({ description: 'log every request (default: failures and lifecycle events only)' }),
    workers: Flags.integer({ description: 'processes serving the same port and store (a cache file or redis://): up to one per core', default: 1, min: 1, max: 64, helpValue: 'N' }),
  };

  async run(): Promise<ServeResult> {
    const { flags } = await this.parse(Serve);
    const { host, port } = parseListen(flags.listen);
    const settings = this.storeSettings({ store: flags.store, 'token-file': flags['token-file'], ca: flags.ca });
    const { parseStoreUrl } = await import('../lib/store/url.js');
    const store = parseStoreUrl(settings.url);
    if (store.backend === 'daemon') throw usageError('the backing store cannot be another sessctl daemon: give a cache file, memory: or redis://');
    if (flags['no-auth'] && flags['token-file'] !== undefined) throw usageError('--no-auth and --token-file contradict each other');

    const { serveUntilSignalled } = await import('../lib/daemon/run.js');
    return serveUntilSignalled({
      host,
      port,
      store,
      ...(settings.ca === undefined ? {} : { ca: settings.ca }),
      tokenFile: flags['no-auth'] ? undefined : settings.tokenFile,
      noAuth: flags['no-auth'],
      tls: flags['tls-cert'] === undefined ? undefined : { cert: flags['tls-cert'], key: flags['tls-key']!, ca: flags['tls-ca'] },
      limits: {
        maxBodyBytes: flags['max-body'],
        headersTimeoutMs: flags['headers-timeout'],
        requestTimeoutMs: flags['request-timeout'],
        keepAliveTimeoutMs: flags['keep-alive-timeout'],
        maxConnections: flags['max-connections'],
      },
      graceMs: flags.grace,
      logRequests: flags['log-requests'],
      workers: flags.workers,
    });
  }
}

/** "HOST:PORT", "[IPv6]:PORT" or "PORT" (on 127.0.0.1). */
function parseListen(text: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:[\]]+):(\d+)$/.exec(text) ?? /^()(\d+)$/.exec(text);
  const port = Number(m?.[2]);
  if (m === null || !Number.isInteger(port) || port > 65535) throw usageError(`--listen ${text}: expected HOST:PORT, [IPv6]:PORT or PORT`);
  return { host: m[1] || '127.0.0.1', port };
}
