// Read synchronously: node:fs/promises loads readline and fs.watch with it (docs/BENCHMARKS.md, bench/startup).
import { readFileSync } from 'node:fs';
import { SessctlError } from './errors.js';

/** The daemon's bearer token: from --token-file FILE, else $SESSCTL_TOKEN, else none. */
export async function readToken(file: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new SessctlError(`cannot read token file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const token = text.trim();
    if (token === '') throw new SessctlError(`token file ${file} is empty`);
    return checked(token, `token file ${file}`);
  }
  const fromEnv = env.SESSCTL_TOKEN?.trim();
  return fromEnv === '' || fromEnv === undefined ? undefined : checked(fromEnv, 'SESSCTL_TOKEN');
}

/** A token goes into an HTTP header: one line, no control characters. */
function checked(token: string, where: string): string {
  if (/[\x00-\x1f\x7f]/.test(token)) throw new SessctlError(`${where} holds a line break or another control character: a token is one line`);
  return token;
}
