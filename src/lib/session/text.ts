/**
 * The human rendering of a session: `openssl sess_id -text`'s layout, plus
 * what it leaves out (SNI, ALPN, peer certificate, expiry, flags, group).
 * Plain text; the CLI adds colours. It renders only what the view holds, so a
 * masked view never shows a secret here either.
 */
import type { SessionView } from './view.js';

const INDENT = '    ';

/** BIO_dump_indent style: "0000 - 9c 9f 07 09 8f 8e 95 77-a5 da ...   .......w...." */
function hexDump(hex: string, indent: string): string[] {
  const bytes = Buffer.from(hex, 'hex');
  const lines: string[] = [];
  for (let offset = 0; offset < bytes.length; offset += 16) {
    const row = bytes.subarray(offset, offset + 16);
    let hexPart = '';
    for (let i = 0; i < 16; i++) {
      hexPart += i < row.length ? `${row[i]!.toString(16).padStart(2, '0')}${i === 7 && row.length > 8 ? '-' : ' '}` : '   ';
    }
    const ascii = [...row].map((byte) => (byte >= 0x20 && byte <= 0x7e ? String.fromCharCode(byte) : '.')).join('');
    lines.push(`${indent}${offset.toString(16).padStart(4, '0')} - ${hexPart}  ${ascii}`);
  }
  return lines;
}

/** "1h 59m", "3d 4h", "42s". */
function duration(seconds: number): string {
  const s = Math.abs(seconds);
  const days = Math.floor(s / 86400);
  const hours = Math.floor((s % 86400) / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  if (days > 0) return `${days}d ${hours}h`;
  if (hours > 0) return `${hours}h ${minutes}m`;
  if (minutes > 0) return `${minutes}m ${s % 60}s`;
  return `${s}s`;
}

function expiry(view: SessionView): string {
  if (view.expiresAt === null || view.expiresIn === null) return 'unknown (no start time or timeout)';
  const when = view.expiresAt.iso ?? String(view.expiresAt.unix);
  return view.expired ? `${when} (expired ${duration(view.expiresIn)} ago)` : `${when} (in ${duration(view.expiresIn)})`;
}

const orNone = (value: string | null) => value ?? 'None';

/**
 * Certificate names come from the peer: Node escapes C0 controls in them, but
 * C1 controls (U+0080..U+009F, e.g. CSI) and DEL still reach the terminal.
 */
function terminalSafe(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The session as text, one field per line, ending with a newline. */
export function sessionText(view: SessionView): string {
  const lines: string[] = ['SSL-Session:'];
  const add = (label: string, value: string | number) => lines.push(`${INDENT}${label}: ${value}`);

  add('Protocol  ', `${view.protocol} (0x${view.protocolHex})`);
  add('Cipher    ', `${view.cipher.opensslName} (0x${view.cipher.idHex}${view.cipher.ianaName ? `, ${view.cipher.ianaName}` : ''})`);
  add('Session-ID', view.sessionId);
  const context = view.sessionIdContext;
  add('Session-ID-ctx', context === null ? '(absent)' : context.ascii && context.ascii.length > 0 ? `${context.hex} ("${context.ascii}")` : context.hex);
  const keyLabel = view.masterKeyKind === 'resumption PSK' ? 'Resumption PSK' : 'Master-Key';
  add(keyLabel, view.secretsShown ? view.masterKey : `${view.masterKey} (${view.masterKeyLength} bytes)`);
  add('PSK identity', orNone(view.pskIdentity));
  add('PSK identity hint', orNone(view.pskIdentityHint));
  add('SRP username', orNone(view.srpUsername));
  add('SNI       ', orNone(view.sni));
  add('ALPN      ', orNone(view.alpn));
  if (view.ticketLifetimeHint !== null) add('TLS session ticket lifetime hint', `${view.ticketLifetimeHint} (seconds)`);
  if (view.ticket !== null) {
    add('TLS session ticket', `${view.ticket.length} bytes${view.ticket.keyName ? `, key name ${view.ticket.keyName}` : ''}`);
    lines.push(...hexDump(view.ticket.hex, INDENT));
  }
  if (view.ticketAgeAdd !== null) add('Ticket age add', view.ticketAgeAdd);
  if (view.ticketAppdataLength !== null) add('Ticket app data', `${view.ticketAppdataLength} bytes`);
  add('Start Time', view.time === null ? 'None' : `${view.time.unix}${view.time.iso ? ` (${view.time.iso})` : ''}`);
  add('Timeout   ', view.timeout === null ? 'None' : `${view.timeout} (sec)`);
  add('Expires   ', expiry(view));
  add('Verify return code', `${view.verifyResult.code} (${view.verifyResult.text})`);
  add('Extended master secret', view.flags.extendedMasterSecret ? 'yes' : 'no');
  if (view.flags.value > 1) add('Flags     ', `0x${view.flags.value.toString(16)}`);
  if (view.protocol === 'TLSv1.3' || view.maxEarlyData !== 0) add('Max Early Data', view.maxEarlyData);
  if (view.maxFragmentLenMode !== null) add('Max fragment length mode', view.maxFragmentLenMode);
  if (view.kexGroup !== null) add('Key exchange group', `${view.kexGroup.name} (${view.kexGroup.id})`);
  if (view.compId !== null) add('Compression', view.compId);
  if (view.keyArgLength !== null) add('Key-Arg   ', `${view.keyArgLength} bytes`);
  if (view.peerRpkLength !== null) add('Peer raw public key', `${view.peerRpkLength} bytes`);

  const peer = view.peer;
  if (peer === null) {
    add('Peer certificate', 'None');
  } else {
    lines.push(`${INDENT}Peer certificate:`);
    const sub = (label: string, value: string) => lines.push(`${INDENT}${INDENT}${label}: ${value}`);
    if (peer.error) sub('Error   ', peer.error);
    else {
      sub('Subject ', terminalSafe(peer.subject));
      sub('Issuer  ', terminalSafe(peer.issuer));
      sub('Validity', `${peer.validFrom} to ${peer.validTo}`);
      sub('Key     ', peer.keyType);
      if (peer.subjectAltName) sub('SAN     ', terminalSafe(peer.subjectAltName));
    }
    sub('SHA-256 ', peer.sha256);
  }
  add('Role      ', `${view.role.guess} (${view.role.reason})`);
  add('DER       ', `${view.der.length} bytes, SHA-256 ${view.der.sha256}`);
  return `${lines.join('\n')}\n`;
}
