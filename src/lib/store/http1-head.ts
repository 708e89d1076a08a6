/**
 * The syntax of an HTTP/1.1 message head (RFC 9112 §2-5), shared by the
 * daemon's server (src/lib/daemon/http1.ts) and its client
 * (src/lib/store/http1-client.ts), and kept strict because either side may
 * face a peer it should not trust: every byte is checked, and whatever llhttp
 * (node:http's parser) refuses is refused here too (the differential tests
 * in test/daemon/http1-differential.test.ts and http1-client-differential.test.ts).
 */

/** The characters of a token (RFC 9110 §5.6.2), by character code: a method or a header name is made of them. */
export const TOKEN_CHAR = new Uint8Array(0x80);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TOKEN_CHAR[c.charCodeAt(0)] = 1;

/** The end of a head: the blank line. */
export const CRLF2 = Buffer.from('\r\n\r\n');

/** A Content-Length value. */
const CONTENT_LENGTH = /^\d{1,15}$/;
/** The headers that say where a message ends and whether the connection stays. */
const FRAMING = new Set(['content-length', 'transfer-encoding', 'connection']);

/** A head that is not HTTP/1.1 as this project reads it. */
export class HeadError extends Error {
  override name = 'HeadError';
}

export interface HeadFields {
  /** The request line or status line. */
  startLine: string;
  /** Values by lower-case name; a repeated header joined with ", " (those in `single` are refused instead). */
  headers: Record<string, string>;
}

/**
 * The start line and header fields of the head in bytes `from` to `to` of
 * `bytes` (without its final blank line). Refused (HeadError): control
 * characters but HTAB, a CR or LF other than as a CRLF pair (so no obsolete
 * line folding), a name that is not a token, a line without a colon, a tab in
 * a header that frames the message (llhttp refuses one around a
 * Content-Length and reads "close<TAB>" as no close), a Content-Length that
 * is not a number, and a second copy of a header in `single` (how request
 * smuggling starts).
 */
export function readHeadFields(bytes: Buffer, from: number, to: number, single: ReadonlySet<string>): HeadFields {
  // One pass over the bytes (faster than over a string) finds the line ends.
  const ends: number[] = [];
  for (let i = from; i < to; i++) {
    const c = bytes[i]!;
    if ((c >= 0x20 && c !== 0x7f) || c === 0x09) continue;
    if (c === 0x0d && i + 1 < to && bytes[i + 1] === 0x0a) {
      ends.push(i - from);
      i += 1;
      continue;
    }
    throw new HeadError('control characters, or a CR or LF alone, in the head');
  }
  ends.push(to - from);
  const text = bytes.toString('latin1', from, to);
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  for (let n = 1; n < ends.length; n++) {
    const start = ends[n - 1]! + 2;
    const end = ends[n]!;
    // The name: token characters up to the colon.
    let colon = start;
    let upper = false;
    for (; colon < end; colon++) {
      const c = bytes[from + colon]!;
      if (c === 0x3a) break;
      if (c >= 0x80 || TOKEN_CHAR[c] === 0) throw new HeadError('a header name with characters not allowed there');
      if (c <= 0x5a && c >= 0x41) upper = true;
    }
    if (colon === start || colon === end) throw new HeadError('a header line without a name');
    const name = upper ? text.slice(start, colon).toLowerCase() : text.slice(start, colon);
    const value = trimOws(text, colon + 1, end);
    if (FRAMING.has(name) && text.slice(colon + 1, end).includes('\t')) throw new HeadError(`a tab in the ${name} header`);
    if (name === 'content-length' && !CONTENT_LENGTH.test(value)) throw new HeadError('Content-Length is not a number');
    const seen = headers[name];
    if (seen !== undefined) {
      if (single.has(name)) throw new HeadError(`the ${name} header more than once`);
      headers[name] = `${seen}, ${value}`;
    } else headers[name] = value;
  }
  return { startLine: text.slice(0, ends[0]), headers };
}

/** Whether a Connection header value (lower case) holds `option` as one of its comma-separated tokens. */
export function hasConnectionOption(connection: string | undefined, option: 'close' | 'keep-alive'): boolean {
  if (connection === undefined) return false;
  return option === 'close' ? /(^|,)\s*close\s*(,|$)/.test(connection) : /(^|,)\s*keep-alive\s*(,|$)/.test(connection);
}

/** `text` from `from` to `to`, without the optional whitespace (SP and HTAB only) around it: a header value. */
function trimOws(text: string, from: number, to: number): string {
  while (from < to && (text.charCodeAt(from) === 0x20 || text.charCodeAt(from) === 0x09)) from += 1;
  while (to > from && (text.charCodeAt(to - 1) === 0x20 || text.charCodeAt(to - 1) === 0x09)) to -= 1;
  return text.slice(from, to);
}
