import { hash, timingSafeEqual } from 'node:crypto';

/**
 * Checks `Authorization: Bearer TOKEN` against the daemon's token in constant
 * time: both sides are hashed first, so neither the token's length nor the
 * position of the first differing byte shows in the time taken.
 */
export class TokenCheck {
  readonly #expected: Buffer;

  constructor(token: string) {
    this.#expected = digest(token);
  }

  /** True when the header carries the right bearer token. */
  accepts(authorization: string | undefined): boolean {
    const match = authorization === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
    // Hash something even without a token, so a missing header takes as long as a wrong one.
    const given = digest(match?.[1] ?? '');
    return timingSafeEqual(given, this.#expected) && match !== null;
  }
}

function digest(text: string): Buffer {
  // The one-shot hash: no Hash object per request.
  return hash('sha256', text, 'buffer');
}
