import os from 'node:os';
import path from 'node:path';
import { usageError } from '../errors.js';

export type StoreUrlSource = 'flag' | 'env' | 'config' | 'default';

export interface StoreUrlInputs {
  /** The --store flag, if given. */
  flag?: string;
  /** Default: process.env ($SESSCTL_STORE, $XDG_STATE_HOME, $HOME). */
  env?: NodeJS.ProcessEnv;
  /** The store named in the config file, if any. */
  config?: string;
}

/**
 * Which store a command uses, and why: --store, then $SESSCTL_STORE, then the
 * config file, then the cache file in the XDG state directory
 * ($XDG_STATE_HOME/sessctl/sessions.db, else ~/.local/state/sessctl/sessions.db).
 * An empty environment or config value counts as unset; an empty flag is a mistake.
 */
export function resolveStoreUrl({ flag, env = process.env, config }: StoreUrlInputs = {}): { url: string; source: StoreUrlSource } {
  if (flag !== undefined) {
    if (flag.trim() === '') throw usageError('--store needs a value: a cache file path, file:PATH, memory:, https://HOST:PORT, redis://HOST:PORT or memcache://HOST:PORT');
    return { url: flag, source: 'flag' };
  }
  if (env.SESSCTL_STORE?.trim()) return { url: env.SESSCTL_STORE, source: 'env' };
  if (config?.trim()) return { url: config, source: 'config' };
  return { url: defaultStorePath(env), source: 'default' };
}

/** The embedded default cache file. */
export function defaultStorePath(env: NodeJS.ProcessEnv = process.env): string {
  // The XDG Base Directory spec says to ignore a relative $XDG_STATE_HOME.
  const xdg = env.XDG_STATE_HOME;
  const stateHome = xdg && path.isAbsolute(xdg) ? xdg : path.join(env.HOME || os.homedir(), '.local', 'state');
  return path.join(stateHome, 'sessctl', 'sessions.db');
}
