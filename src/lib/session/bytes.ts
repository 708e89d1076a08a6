/**
 * Bytes of a session (SNI, ALPN, PSK identities, the session-id context)
 * shown as text. Apart from view.ts, which loads node:crypto (16 of Node's
 * modules) for the peer certificate and the DER's hash: `list` needs these,
 * not that (docs/BENCHMARKS.md, bench/startup).
 */

/** Bytes as ASCII when every byte is printable (0x20..0x7E), else null. */
export function asciiIfPrintable(bytes: Uint8Array): string | null {
  for (const byte of bytes) if (byte < 0x20 || byte > 0x7e) return null;
  return Buffer.from(bytes).toString('latin1');
}

/** Bytes as text, anything outside printable ASCII (and the backslash) as \xNN: safe on a terminal and in logs. */
export function escapeBytes(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) {
    text += byte >= 0x20 && byte <= 0x7e && byte !== 0x5c ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return text;
}
