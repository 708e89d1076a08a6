/**
 * Session files: raw DER (what i2d_SSL_SESSION writes, what caches store) or
 * PEM (`openssl sess_id`, `s_client -sess_out`), label SSL SESSION PARAMETERS
 * (include/openssl/pem.h: PEM_STRING_SSL_SESSION).
 */
import { invalidInput } from '../errors.js';

export const PEM_LABEL = 'SSL SESSION PARAMETERS';

const DER_SEQUENCE = 0x30;
const BASE64_BODY = /^[A-Za-z0-9+/]*={0,2}$/;
const BEGIN = /^-----BEGIN ([^-]*)-----\s*$/;
const END = /^-----END ([^-]*)-----\s*$/;

interface PemBlock {
  label: string;
  /** 1-based line of the BEGIN line, for messages. */
  line: number;
  body: string;
}

function pemBlocks(text: string, source: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  let open: PemBlock | undefined;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = raw.trim();
    const begin = BEGIN.exec(line);
    if (begin) {
      if (open) throw invalidInput(`${source}: PEM block "${open.label}" at line ${open.line} has no END line before line ${index + 1}`);
      open = { label: begin[1]!, line: index + 1, body: '' };
      return;
    }
    if (!open) return; // text around blocks is ignored, as PEM_read_bio does
    const end = END.exec(line);
    if (end) {
      if (end[1] !== open.label) throw invalidInput(`${source}: PEM block "${open.label}" at line ${open.line} ends with "${end[1]}" at line ${index + 1}`);
      blocks.push(open);
      open = undefined;
      return;
    }
    open.body += line;
  });
  if (open) throw invalidInput(`${source}: PEM block "${open.label}" at line ${open.line} has no END line`);
  return blocks;
}

function decodeBase64(block: PemBlock, source: string): Buffer {
  if (block.body.includes(':')) throw invalidInput(`${source}: PEM block at line ${block.line} has headers (encrypted PEM is not a session)`);
  if (!BASE64_BODY.test(block.body) || block.body.length % 4 !== 0) {
    throw invalidInput(`${source}: PEM block at line ${block.line} is not valid base64`);
  }
  const der = Buffer.from(block.body, 'base64');
  if (der.length === 0) throw invalidInput(`${source}: PEM block at line ${block.line} is empty`);
  return der;
}

/**
 * The DER session(s) in a file: the whole input when it is DER (starts with a
 * SEQUENCE tag), else every SSL SESSION PARAMETERS block of the PEM text, in
 * order. Other PEM blocks (a certificate next to the session) are skipped as
 * openssl does, but a file with none of ours is an error naming `source`.
 * The DER itself is not checked here: decodeSession does that.
 */
export function readSessionBlobs(data: Buffer, source: string): Buffer[] {
  if (data.length === 0) throw invalidInput(`${source}: empty input, expected an SSL session (DER or PEM)`);
  if (data[0] === DER_SEQUENCE) return [data];

  const blocks = pemBlocks(data.toString('latin1'), source);
  const sessions = blocks.filter((block) => block.label === PEM_LABEL);
  if (sessions.length === 0) {
    if (blocks.length > 0) {
      const labels = [...new Set(blocks.map((block) => block.label))].join(', ');
      throw invalidInput(`${source}: expected an "${PEM_LABEL}" PEM block, found ${labels}`);
    }
    throw invalidInput(`${source}: not an SSL session (neither DER nor PEM with -----BEGIN ${PEM_LABEL}-----)`);
  }
  return sessions.map((block) => decodeBase64(block, source));
}

/** PEM armour as `openssl sess_id` writes it: 64-character base64 lines, trailing newline. */
export function toPem(der: Uint8Array): string {
  const base64 = Buffer.from(der).toString('base64');
  const lines = base64.match(/.{1,64}/g) ?? [];
  return [`-----BEGIN ${PEM_LABEL}-----`, ...lines, `-----END ${PEM_LABEL}-----`, ''].join('\n');
}
