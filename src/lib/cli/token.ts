import { readFile } from 'node:fs/promises';
import { SessctlError } from '../errors.js';

/** The daemon's bearer token: from --token-file FILE, else $SESSCTL_TOKEN, else none. */
export async function readToken(file: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  if (file !== undefined) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new SessctlError(`cannot read token file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const token = text.trim();
    if (token === '') throw new SessctlError(`token file ${file} is empty`);
    return token;
  }
  const fromEnv = env.SESSCTL_TOKEN?.trim();
  return fromEnv === '' ? undefined : fromEnv;
}
