/**
 * Session ids as people type them: the whole id, a unique prefix (as git
 * takes an abbreviated commit hash), or the shortened form tables print
 * (`b9e5a992…0625`, first and last digits). A short form is looked for among
 * the store's keys; more than one match is a usage error naming them.
 */
import { EXIT, NotFoundError, SessctlError, usageError } from '../errors.js';
import { Halt, type SessionStore } from './types.js';

/** A whole store key: 0 to 32 bytes as lowercase hex (SSL_MAX_SSL_SESSION_ID_LENGTH). */
const WHOLE_KEY = /^(?:[0-9a-f]{2}){0,32}$/;
/** Candidates named in an ambiguity error, at most. */
const MAX_CANDIDATES = 10;

/** What a typed id can stand for: a whole key (that may also be a prefix), or a prefix and a suffix. */
export interface IdPattern {
  prefix: string;
  suffix: string;
  /** The text is a whole key: looked up as is first. */
  whole: boolean;
}

/** Parse a typed id. Throws a usage error for text that is no id in any form. */
export function parseIdPattern(input: string): IdPattern {
  const text = input.trim().toLowerCase();
  const shortened = /^([0-9a-f]+)(?:…|\.\.\.)([0-9a-f]+)$/.exec(text);
  if (shortened) return { prefix: shortened[1]!, suffix: shortened[2]!, whole: false };
  if (/^[0-9a-f]{1,64}$/.test(text)) return { prefix: text, suffix: '', whole: WHOLE_KEY.test(text) };
  if (text === '') return { prefix: '', suffix: '', whole: true };
  const shown = input.length > 80 ? `${input.slice(0, 80)}…` : input;
  throw usageError(`not a session id: "${shown}" (expected hex digits: a whole id, a unique prefix, or the shortened form list shows, such as b9e5a992…0625)`);
}

function matches(key: string, p: IdPattern): boolean {
  return key.length >= p.prefix.length + p.suffix.length && key.startsWith(p.prefix) && key.endsWith(p.suffix);
}

/**
 * The store key `input` names. A whole id found as is wins; otherwise the
 * keys are scanned (foldl without the DER) for those that fit the pattern.
 * NotFoundError when none does; a usage error (exit 2) listing them when
 * several do.
 */
export async function resolveId(store: SessionStore, input: string): Promise<string> {
  const pattern = parseIdPattern(input);
  if (pattern.whole && (await store.lookup(pattern.prefix)) !== undefined) return pattern.prefix;
  if (pattern.prefix === '' && pattern.suffix === '') throw new NotFoundError(`no session with an empty id in ${store.url}`);
  const found = await store.foldl<string[]>(
    (e, acc) => {
      if (!matches(e.key, pattern)) return acc;
      acc.push(e.key);
      // One more than is listed is enough to know it is ambiguous and to say "and more".
      return acc.length > MAX_CANDIDATES ? new Halt(acc) : acc;
    },
    [],
    { withDer: false },
  );
  if (found.length === 1) return found[0]!;
  const typed = input.trim();
  if (found.length === 0) throw new NotFoundError(`no session ${typed} in ${store.url}`);
  const listed = found.slice(0, MAX_CANDIDATES).sort();
  throw new SessctlError(`session id ${typed} is ambiguous in ${store.url}: ${listed.join(', ')}${found.length > MAX_CANDIDATES ? ', and more' : ''}`, {
    exit: EXIT.USAGE,
    suggestions: ['type more of the id (list --wide shows whole ids)'],
  });
}

/** Several typed ids: the keys of those that name a session, and the typed text of those that name none. */
export async function resolveIds(store: SessionStore, inputs: string[]): Promise<{ keys: string[]; missing: string[] }> {
  const keys: string[] = [];
  const missing: string[] = [];
  for (const input of inputs) {
    try {
      keys.push(await resolveId(store, input));
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      missing.push(input.trim());
    }
  }
  return { keys, missing };
}
