/** The session-id context (SSL_set_session_id_context): parsed from --session-id-context, and shown as text or hex. */
import { usageError } from '../errors.js';
import { asciiIfPrintable } from '../session/bytes.js';
import type { ContextView } from './types.js';

/** SSL_MAX_SID_CTX_LENGTH (include/openssl/ssl.h.in). */
export const MAX_SESSION_ID_CONTEXT_BYTES = 32;

/** Parse --session-id-context: text as UTF-8 bytes, or "hex:..." for raw bytes; at most 32 bytes. */
export function parseSessionIdContext(text: string): Buffer {
  let bytes: Buffer;
  if (text.startsWith('hex:')) {
    const hex = text.slice(4);
    if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) throw usageError(`--session-id-context: "${text}" is not hex:HEX (an even number of hex digits)`);
    bytes = Buffer.from(hex, 'hex');
  } else {
    bytes = Buffer.from(text, 'utf8');
  }
  if (bytes.length > MAX_SESSION_ID_CONTEXT_BYTES) {
    throw usageError(`--session-id-context is ${bytes.length} bytes: OpenSSL allows at most ${MAX_SESSION_ID_CONTEXT_BYTES}`);
  }
  return bytes;
}

export function contextView(bytes: Buffer | undefined): ContextView | null {
  return bytes === undefined ? null : { hex: bytes.toString('hex'), ascii: asciiIfPrintable(bytes) };
}
