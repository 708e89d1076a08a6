import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SessctlError } from './errors.js';
import { defaultStorePath } from './store/location.js';

/**
 * The settings a config file may hold, with the environment variable and the
 * flag that override them. Precedence: flag > environment > config file > default.
 */
export const SETTINGS = {
  store: { env: 'SESSCTL_STORE', flag: '--store', what: 'the session store URL' },
  tokenFile: { env: 'SESSCTL_TOKEN_FILE', flag: '--token-file', what: "file holding the daemon's bearer token" },
  ca: { env: 'SESSCTL_CA', flag: '--ca', what: 'CA certificate(s) for https:// and rediss:// stores' },
  clientCert: { env: 'SESSCTL_CLIENT_CERT', flag: '--client-cert', what: 'client certificate (PEM) for a daemon that requires one (serve --tls-ca)' },
  clientKey: { env: 'SESSCTL_CLIENT_KEY', flag: '--client-key', what: 'private key (PEM) of --client-cert' },
  ring: { env: 'SESSCTL_RING', flag: '--ring', what: 'the ticket-key ring file' },
} as const;

export type SettingName = keyof typeof SETTINGS;
export type Settings = Partial<Record<SettingName, string>>;
export type SettingSource = 'flag' | 'env' | 'config' | 'default' | 'unset';

export interface LoadedConfig {
  path: string;
  exists: boolean;
  values: Settings;
}

/** $SESSCTL_CONFIG, else $XDG_CONFIG_HOME/sessctl/config.json, else ~/.config/sessctl/config.json. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SESSCTL_CONFIG?.trim()) return path.resolve(env.SESSCTL_CONFIG);
  const xdg = env.XDG_CONFIG_HOME;
  const home = xdg && path.isAbsolute(xdg) ? xdg : path.join(env.HOME || os.homedir(), '.config');
  return path.join(home, 'sessctl', 'config.json');
}

const URL_SCHEME = /^[a-z][a-z0-9+.-]*:/i;

/**
 * Read the config file: a JSON object of settings (all strings). Relative file
 * paths in it are relative to the file's directory. No file is no settings; a
 * broken one is an error naming the file (silently ignoring it would point
 * a cron job at the wrong store).
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const file = configPath(env);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { path: file, exists: false, values: {} };
    throw new SessctlError(`cannot read config file ${file}: ${code ?? (err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new SessctlError(`config file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new SessctlError(`config file ${file} must hold a JSON object, e.g. {"store": "redis://127.0.0.1:6379"}`);
  }
  const values: Settings = {};
  const dir = path.dirname(file);
  for (const [key, value] of Object.entries(data)) {
    if (!(key in SETTINGS)) throw new SessctlError(`config file ${file}: unknown setting "${key}" (known: ${Object.keys(SETTINGS).join(', ')})`);
    if (typeof value !== 'string' || value.trim() === '') throw new SessctlError(`config file ${file}: "${key}" must be a non-empty string`);
    const isPath = key !== 'store' || (!URL_SCHEME.test(value) || value.startsWith('file:'));
    values[key as SettingName] = isPath && !value.startsWith('file:') && !path.isAbsolute(value) ? path.resolve(dir, value) : value;
  }
  return { path: file, exists: true, values };
}

/** One setting's value and where it came from. */
export function resolveSetting(
  name: SettingName,
  flag: string | undefined,
  config: Settings,
  env: NodeJS.ProcessEnv = process.env,
): { value: string | undefined; source: SettingSource } {
  if (flag !== undefined) return { value: flag, source: 'flag' };
  const fromEnv = env[SETTINGS[name].env];
  if (fromEnv?.trim()) return { value: fromEnv, source: 'env' };
  if (config[name] !== undefined) return { value: config[name], source: 'config' };
  if (name === 'store') return { value: defaultStorePath(env), source: 'default' };
  return { value: undefined, source: 'unset' };
}
