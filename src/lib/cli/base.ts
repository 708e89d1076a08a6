import { Command, Flags } from './oclif.js';
import type { Interfaces } from '@oclif/core';
import { EXIT, SessctlError } from '../errors.js';
import { loadConfig, resolveSetting, type LoadedConfig, type SettingName } from '../config.js';
import { resolveStoreUrl, type StoreUrlSource } from '../store/location.js';
import { STDIN_ARG } from './input.js';
import { describeParseError, usageText, type CommandShape } from './usage.js';
import type { SessionStore } from '../store/types.js';

/** The values of BaseCommand.storeFlags, as commands pass them to openStore. */
export interface StoreFlagValues {
  store?: string | undefined;
  'token-file'?: string | undefined;
  ca?: string | undefined;
  'client-cert'?: string | undefined;
  'client-key'?: string | undefined;
}

/** The resolved store settings (BaseCommand.storeSettings); undefined: not given anywhere. */
export interface StoreSettings {
  url: string;
  source: StoreUrlSource;
  tokenFile: string | undefined;
  ca: string | undefined;
  cert: string | undefined;
  key: string | undefined;
}

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>;

/** 128 + SIGPIPE: how a command whose output reader went away exits, like cat. */
const EXIT_SIGPIPE = 141;

/** The exit codes, for every command's help text. */
export const EXIT_CODES_HELP = 'Exit codes: 0 success, 1 error, 2 usage error, 3 not found.';

/**
 * What every sessctl command shares: `--json` (the returned object is the JSON
 * contract), and one way to fail: a SessctlError becomes one line on stderr
 * ("sessctl: <message>") and its exit code; under --json, `{"error": {...}}` on stdout.
 */
export abstract class BaseCommand extends Command {
  static enableJsonFlag = true;

  /** Flags for commands that work on a store. */
  static storeFlags = {
    store: Flags.string({
      description: 'session store URL: a cache file path or file:PATH, memory:, https://HOST:PORT (daemon), redis://, memcache:// [env: SESSCTL_STORE]',
      helpValue: 'URL',
    }),
    'token-file': Flags.string({ description: 'file holding the bearer token for a sessctl daemon store [env: SESSCTL_TOKEN holds the token itself]', helpValue: 'FILE' }),
    ca: Flags.string({ description: 'CA certificate(s) to verify an https:// or rediss:// store', helpValue: 'FILE' }),
    'client-cert': Flags.string({ description: 'client certificate (PEM) for a daemon that requires one (serve --tls-ca) [env: SESSCTL_CLIENT_CERT]', helpValue: 'FILE' }),
    'client-key': Flags.string({ description: 'private key (PEM) of --client-cert [env: SESSCTL_CLIENT_KEY]', helpValue: 'FILE' }),
  };

  private openStores: SessionStore[] = [];

  /**
   * oclif takes a lone "-" after an option flag for a flag of its own (its
   * short-flag lookup matches flags without a char), so `--in -` would fail:
   * hand it "-" in a form it leaves alone; readInput maps it back to stdin.
   */
  async init(): Promise<void> {
    await super.init();
    this.argv = this.argv.map((a) => (a === '-' ? STDIN_ARG : a));
    // `sessctl list -v`: oclif answers --version only as the first word (main.js versionAddition); any command does here.
    const options = this.argv.slice(0, this.argv.includes('--') ? this.argv.indexOf('--') : undefined);
    if (options.includes('-v') || options.includes('--version')) {
      process.stdout.write(`${this.config.userAgent}\n`);
      this.exit(0);
    }
  }

  /** This command as usage errors describe it. */
  private shape(): CommandShape {
    const ctor = this.ctor as unknown as { args?: CommandShape['args']; flags?: CommandShape['flags']; baseFlags?: CommandShape['flags']; strict?: boolean };
    return {
      id: this.id ?? 'sessctl',
      args: ctor.args ?? {},
      flags: { ...ctor.baseFlags, ...ctor.flags },
      variadic: ctor.strict === false,
    };
  }

  private loadedConfig: LoadedConfig | undefined;

  /** The config file's settings (read once; none when there is no file). */
  protected userConfig(): LoadedConfig {
    this.loadedConfig ??= loadConfig();
    return this.loadedConfig;
  }

  /** A setting by precedence: flag > environment > config file > default. */
  protected setting(name: SettingName, flag: string | undefined): string | undefined {
    return resolveSetting(name, flag, this.userConfig().values).value;
  }

  /**
   * The store URL and how to reach it, each by precedence (flag > environment
   * > config file > default): the one resolver of these settings, for every
   * command (serve too, for its backing store and its token).
   */
  protected storeSettings(flags: StoreFlagValues): StoreSettings {
    const config = this.userConfig().values;
    const { url, source } = resolveStoreUrl({ flag: flags.store, ...(config.store === undefined ? {} : { config: config.store }) });
    // $SESSCTL_TOKEN (the token itself) outranks a token file named in the config file.
    const tokenFile = flags['token-file'] ?? (process.env.SESSCTL_TOKEN?.trim() ? undefined : this.setting('tokenFile', undefined));
    return {
      url,
      source,
      tokenFile,
      ca: this.setting('ca', flags.ca),
      cert: this.setting('clientCert', flags['client-cert']),
      key: this.setting('clientKey', flags['client-key']),
    };
  }

  /**
   * Open the store named by --store, $SESSCTL_STORE, the config file or the
   * default cache file. A cache file that does not exist yet is created by
   * commands that write (`create`) and at the default location; for the
   * others a missing file named explicitly is a mistake (a typo), not an empty cache.
   * `readOnly` commands (list, get, stats, explain) never create or change a
   * file: a missing default file reads as an empty cache.
   */
  protected async openStore(flags: StoreFlagValues, options: { create?: boolean; readOnly?: boolean } = {}): Promise<SessionStore> {
    const { url, source, tokenFile, ca, cert, key } = this.storeSettings(flags);
    const { openStore } = await import('../store/open.js');
    const { readToken } = await import('../token.js');
    const token = await readToken(tokenFile);
    const store = await openStore(url, {
      create: options.create === true || source === 'default',
      ...(options.readOnly === true ? { readOnly: true } : {}),
      ...(token === undefined ? {} : { token }),
      ...(ca === undefined ? {} : { ca }),
      ...(cert === undefined ? {} : { cert }),
      ...(key === undefined ? {} : { key }),
      onWarning: (message: string) => this.warnLine(message),
    });
    this.openStores.push(store);
    return store;
  }

  /** One warning line on stderr ("sessctl: warning: ..."), also under --json. */
  protected warnLine(message: string): void {
    process.stderr.write(`sessctl: warning: ${message}\n`);
  }

  /** Human output only (suppressed under --json). */
  protected out(text: string): void {
    if (!this.jsonEnabled()) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  protected async finally(err: Error | undefined): Promise<void> {
    const stores = this.openStores;
    this.openStores = [];
    await Promise.allSettled(stores.map((s) => s.terminate()));
    return super.finally(err);
  }

  protected async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<unknown> {
    // oclif's own exit (this.exit) and help output pass through untouched.
    if (err.name === 'ExitError' || (err as { code?: string }).code === 'EEXIT') throw err;
    // The reader of our output went away (`sessctl list | head`): stop quietly, as cat does.
    if ((err as NodeJS.ErrnoException).code === 'EPIPE') process.exit(EXIT_SIGPIPE);
    const usage = describeParseError(err, this.shape());
    if (usage !== undefined && !this.jsonEnabled()) {
      process.stderr.write(usageText(usage));
      process.exitCode = usage.exit;
      return this.exit(usage.exit);
    }
    const { message, exit } = usage ?? describeFailure(err);
    if (this.jsonEnabled()) {
      this.logJson({ error: { message, exit } });
    } else {
      process.stderr.write(`sessctl: ${message}\n`);
      if (err instanceof SessctlError && err.suggestions.length > 0) {
        for (const s of err.suggestions) process.stderr.write(`  hint: ${s}\n`);
      }
      if (process.env.DEBUG && err.stack) process.stderr.write(`${err.stack}\n`);
    }
    process.exitCode = exit;
    return this.exit(exit);
  }
}

/** Turn anything thrown into one line and an exit code. */
export function describeFailure(err: Error & { oclif?: { exit?: number } }): { message: string; exit: number } {
  if (err instanceof SessctlError) return { message: oneLine(err.message), exit: err.exit };
  // oclif parse errors (unknown flag, missing argument) are usage errors.
  if (err.oclif?.exit !== undefined) {
    const first = oneLine(err.message.split('\n')[0] ?? err.message);
    return { message: `${first} (see --help)`, exit: err.oclif.exit === 2 ? EXIT.USAGE : err.oclif.exit };
  }
  return { message: `internal error: ${oneLine(err.message)} (run with DEBUG=1 for details)`, exit: EXIT.ERROR };
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
