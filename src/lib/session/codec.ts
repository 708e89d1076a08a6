/**
 * The SSL_SESSION codec: OpenSSL's i2d_SSL_SESSION / d2i_SSL_SESSION format
 * (ssl/ssl_asn1.c; the ASN.1 text is in ./types.ts).
 *
 * Decoding is strict: we accept exactly what OpenSSL writes (canonical DER,
 * fields in tag order, each at most once), so that `encodeSession(decodeSession(der))`
 * gives back `der` byte for byte. Input is untrusted (files, caches shared over
 * the network): first `checkStructure` walks every TLV header iteratively
 * with a depth, size and length budget, so nesting bombs, absurd lengths and
 * truncation fail fast with a clear SessctlError instead of deep recursion or
 * a large allocation; then the fields are read straight from the bytes.
 *
 * No ASN.1 library: the session is a flat SEQUENCE of INTEGERs and OCTET
 * STRINGs, and reading it through asn1js cost 0.2 ms a session (and 24 ms of
 * every command's start), where this takes a few microseconds.
 */
import { invalidInput } from '../errors.js';
import type { Session } from './types.js';

/** Real sessions are under 10 KB (Apache caps them at 10240 bytes); a certificate chain never lives here. */
export const MAX_SESSION_BYTES = 64 * 1024;

/**
 * Deepest constructed nesting accepted. A session reaches 2 levels itself; its
 * peer certificate adds up to ~8 (RSASSA-PSS parameters inside
 * SubjectPublicKeyInfo are the deepest common case), so 16 leaves room without
 * allowing a nesting bomb.
 */
export const MAX_DEPTH = 16;

const SSL_SESSION_ASN1_VERSION = 1;
const SSL_MAX_SSL_SESSION_ID_LENGTH = 32;
const SSL_MAX_SID_CTX_LENGTH = 32;
/** TLS13_MAX_RESUMPTION_PSK_LENGTH (EVP_MAX_MD_SIZE); TLS 1.2 master keys are 48. */
const MAX_MASTER_KEY_LENGTH = 64;

const UINT32_MAX = 0xffff_ffff;
const INT32_MAX = 0x7fff_ffff;

const fail = (what: string) => invalidInput(`not an SSL session: ${what}`);

// ---------------------------------------------------------------------------
// Structure pre-check (iterative, bounded)

export interface Header {
  tagByte: number;
  headerLength: number;
  length: number;
}

/** Read one DER identifier + length at `pos`; `limit` is the end of the enclosing element. */
export function readHeader(der: Uint8Array, pos: number, limit: number): Header {
  if (pos + 2 > limit) {
    throw fail(pos + 2 > der.length ? `truncated at byte ${der.length} (element header at byte ${pos})` : `element header at byte ${pos} overruns its enclosing element`);
  }
  const tagByte = der[pos]!;
  if ((tagByte & 0x1f) === 0x1f) throw fail(`unsupported multi-byte tag at byte ${pos}`);
  const first = der[pos + 1]!;
  if (first < 0x80) return { tagByte, headerLength: 2, length: first };
  if (first === 0x80) throw fail(`indefinite length at byte ${pos + 1} (DER needs definite lengths)`);
  const count = first & 0x7f;
  if (count > 3) throw fail(`absurd length at byte ${pos + 1} (${count}-byte length field; a session is at most ${MAX_SESSION_BYTES} bytes)`);
  if (pos + 2 + count > der.length) throw fail(`truncated at byte ${der.length} (length field at byte ${pos + 1})`);
  let length = 0;
  for (let i = 0; i < count; i++) length = length * 256 + der[pos + 2 + i]!;
  if (der[pos + 2] === 0 || length < 0x80) throw fail(`non-canonical length at byte ${pos + 1} (DER needs the shortest form)`);
  return { tagByte, headerLength: 2 + count, length };
}

/**
 * Walk all TLV headers without recursion: every length within its parent and
 * the input, definite and minimal lengths, bounded depth, nothing after the
 * outer SEQUENCE. Returns the byte offsets of the outer SEQUENCE's children.
 */
export function checkStructure(der: Uint8Array): number[] {
  if (der.length === 0) throw fail('empty input');
  if (der.length > MAX_SESSION_BYTES) throw fail(`${der.length} bytes is more than the ${MAX_SESSION_BYTES}-byte limit`);
  if (der[0] !== 0x30) throw fail(`expected a SEQUENCE (0x30) at byte 0, found 0x${hexByte(der[0]!)}`);

  const outer = readHeader(der, 0, der.length);
  const outerEnd = outer.headerLength + outer.length;
  if (outerEnd > der.length) throw fail(`truncated at byte ${der.length} (length says ${outerEnd} bytes)`);
  if (outerEnd < der.length) {
    const extra = der.length - outerEnd;
    throw fail(`${extra} byte${extra === 1 ? '' : 's'} of trailing data after the session at byte ${outerEnd}`);
  }

  const children: number[] = [];
  const ends: number[] = [outerEnd]; // end offsets of the open constructed elements
  let pos = outer.headerLength;
  while (ends.length > 0) {
    const limit = ends[ends.length - 1]!;
    if (pos === limit) {
      ends.pop();
      continue;
    }
    const header = readHeader(der, pos, limit);
    const end = pos + header.headerLength + header.length;
    if (end > der.length) throw fail(`truncated at byte ${der.length} (length at byte ${pos + 1} says ${header.length} bytes)`);
    if (end > limit) throw fail(`element at byte ${pos} (${header.length} bytes) overruns its enclosing element, which ends at byte ${limit}`);
    if (ends.length === 1) children.push(pos);
    if (header.tagByte & 0x20) {
      if (ends.length >= MAX_DEPTH) throw fail(`nested more than ${MAX_DEPTH} levels deep at byte ${pos}`);
      ends.push(end);
      pos += header.headerLength;
    } else {
      pos = end;
    }
  }
  return children;
}

// ---------------------------------------------------------------------------
// Fields

type IntegerRange = 'uint32' | 'int32' | 'int64';

/** Largest value accepted per OpenSSL integer type (non-negative only: no field of a real session is negative). */
const INTEGER_MAX: Record<IntegerRange, number> = { uint32: UINT32_MAX, int32: INT32_MAX, int64: Number.MAX_SAFE_INTEGER };

interface IntegerField {
  kind: 'integer';
  range: IntegerRange;
}
interface OctetsField {
  kind: 'octets';
  maxLength?: number;
  exactLength?: number;
}
interface StringField {
  kind: 'string';
}
interface CertificateField {
  kind: 'certificate';
}
type FieldKind = IntegerField | OctetsField | StringField | CertificateField;

type OptionalKey = Exclude<keyof Session, 'version' | 'sslVersion' | 'cipherId' | 'sessionId' | 'masterKey'>;

interface OptionalField {
  tag: number;
  /** OpenSSL's name, for messages. */
  name: string;
  key: OptionalKey;
  /** [0] key_arg is IMPLICIT; every other field is EXPLICIT. */
  implicit?: true;
  type: FieldKind;
}

const int = (range: IntegerRange): IntegerField => ({ kind: 'integer', range });
const octets = (limits: { maxLength?: number; exactLength?: number } = {}): OctetsField => ({ kind: 'octets', ...limits });

/**
 * The optional fields in tag order, as ASN1_SEQUENCE(SSL_SESSION_ASN1) declares
 * them in ssl/ssl_asn1.c (OpenSSL's int64/uint64 fields are limited to
 * Number.MAX_SAFE_INTEGER here; no real session comes near).
 */
const OPTIONAL_FIELDS: readonly OptionalField[] = [
  { tag: 0, name: 'key_arg', key: 'keyArg', implicit: true, type: octets() },
  { tag: 1, name: 'time', key: 'time', type: int('int64') },
  { tag: 2, name: 'timeout', key: 'timeout', type: int('int64') },
  { tag: 3, name: 'peer', key: 'peer', type: { kind: 'certificate' } },
  { tag: 4, name: 'session_id_context', key: 'sessionIdContext', type: octets({ maxLength: SSL_MAX_SID_CTX_LENGTH }) },
  { tag: 5, name: 'verify_result', key: 'verifyResult', type: int('int32') },
  { tag: 6, name: 'tlsext_hostname', key: 'sni', type: { kind: 'string' } },
  { tag: 7, name: 'psk_identity_hint', key: 'pskIdentityHint', type: octets() },
  { tag: 8, name: 'psk_identity', key: 'pskIdentity', type: octets() },
  { tag: 9, name: 'tlsext_tick_lifetime_hint', key: 'ticketLifetimeHint', type: int('int64') },
  { tag: 10, name: 'tlsext_tick', key: 'ticket', type: octets() },
  { tag: 11, name: 'comp_id', key: 'compId', type: octets({ exactLength: 1 }) },
  { tag: 12, name: 'srp_username', key: 'srpUsername', type: octets() },
  { tag: 13, name: 'flags', key: 'flags', type: int('int64') },
  { tag: 14, name: 'tlsext_tick_age_add', key: 'ticketAgeAdd', type: int('uint32') },
  { tag: 15, name: 'max_early_data', key: 'maxEarlyData', type: int('uint32') },
  { tag: 16, name: 'alpn_selected', key: 'alpn', type: octets() },
  { tag: 17, name: 'tlsext_max_fragment_len_mode', key: 'maxFragmentLenMode', type: int('uint32') },
  { tag: 18, name: 'ticket_appdata', key: 'ticketAppdata', type: octets() },
  { tag: 19, name: 'kex_group', key: 'kexGroup', type: int('uint32') },
  { tag: 20, name: 'peer_rpk', key: 'peerRpk', type: octets() },
];

const FIELD_BY_TAG = new Map(OPTIONAL_FIELDS.map((field) => [field.tag, field]));

const UNIVERSAL_NAMES: Record<number, string> = {
  1: 'BOOLEAN', 2: 'INTEGER', 3: 'BIT STRING', 4: 'OCTET STRING', 5: 'NULL', 6: 'OBJECT IDENTIFIER',
  12: 'UTF8String', 16: 'SEQUENCE', 17: 'SET', 19: 'PrintableString', 22: 'IA5String', 23: 'UTCTime', 24: 'GeneralizedTime',
};

/** The class bits of an identifier byte, shifted down. */
const TAG_CLASS_UNIVERSAL = 0;
const TAG_CLASS_CONTEXT = 2;
const TAG_INTEGER = 2;
const TAG_OCTET_STRING = 4;
const TAG_SEQUENCE = 16;

function hexByte(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, '0');
}

/** One element of the input (checked by checkStructure) and where it is, for messages. */
class Element {
  readonly tagByte: number;
  readonly headerLength: number;
  /** Where the element ends: its header says. */
  readonly end: number;

  constructor(
    readonly der: Uint8Array,
    readonly offset: number,
    header: Header,
  ) {
    this.tagByte = header.tagByte;
    this.headerLength = header.headerLength;
    this.end = offset + header.headerLength + header.length;
  }

  get tagClass(): number {
    return this.tagByte >> 6;
  }
  get tagNumber(): number {
    return this.tagByte & 0x1f;
  }
  get constructed(): boolean {
    return (this.tagByte & 0x20) !== 0;
  }
  get content(): Uint8Array {
    return this.der.subarray(this.offset + this.headerLength, this.end);
  }
  get children(): Element[] {
    const children: Element[] = [];
    if (!this.constructed) return children;
    for (let pos = this.offset + this.headerLength; pos < this.end; ) {
      const child = parseElement(this.der, pos, this.end, false);
      children.push(child);
      pos = child.end;
    }
    return children;
  }
  describe(): string {
    const cls = this.tagClass;
    if (cls === TAG_CLASS_UNIVERSAL) return UNIVERSAL_NAMES[this.tagNumber] ?? `universal tag ${this.tagNumber}`;
    if (cls === TAG_CLASS_CONTEXT) return `[${this.tagNumber}]`;
    return `tag 0x${hexByte(this.tagByte)}`;
  }
}

function isUniversal(element: Element, tagNumber: number, constructed: boolean): boolean {
  return element.tagClass === TAG_CLASS_UNIVERSAL && element.tagNumber === tagNumber && element.constructed === constructed;
}

function expectType(element: Element, tagNumber: number, field: string): void {
  if (!isUniversal(element, tagNumber, tagNumber === TAG_SEQUENCE)) {
    const expected = UNIVERSAL_NAMES[tagNumber]!;
    const found = element.constructed && element.tagNumber === tagNumber ? `a constructed ${expected}` : element.describe();
    throw fail(`${field} at byte ${element.offset}: expected ${expected}, found ${found}`);
  }
}

function readInteger(element: Element, field: string, range: IntegerRange): number {
  expectType(element, TAG_INTEGER, field);
  const bytes = element.content;
  const at = `${field} at byte ${element.offset}`;
  if (bytes.length === 0) throw fail(`${at}: empty INTEGER`);
  if (bytes.length > 1 && ((bytes[0] === 0x00 && bytes[1]! < 0x80) || (bytes[0] === 0xff && bytes[1]! >= 0x80))) {
    throw fail(`${at}: non-canonical INTEGER (leading 0x${hexByte(bytes[0]!)})`);
  }
  if (bytes[0]! & 0x80) throw fail(`${at}: negative INTEGER`);
  // At most 8 significant bytes plus the sign byte; anything longer is out of every range.
  if (bytes.length > 9) throw fail(`${at}: INTEGER of ${bytes.length} bytes is out of range`);
  // In floating point: exact up to 2^53, and past it never below 2^53, so
  // every value above the largest max (2^53 - 1) is still seen as above it.
  let value = 0;
  for (const byte of bytes) value = value * 256 + byte;
  const max = INTEGER_MAX[range];
  if (value > max) {
    let exact = 0n;
    for (const byte of bytes) exact = (exact << 8n) | BigInt(byte);
    throw fail(`${at}: ${exact} is out of range (at most ${max})`);
  }
  return value;
}

function readOctets(element: Element, field: string): Buffer {
  expectType(element, TAG_OCTET_STRING, field);
  return Buffer.from(element.content);
}

function readOptional(der: Uint8Array, offset: number, end: number, field: OptionalField): Session[OptionalKey] {
  if (field.type.kind === 'certificate') return readCertificate(der, offset, end, field);
  const wrapper = parseElement(der, offset, end);
  const label = `field [${field.tag}] ${field.name}`;
  if (field.implicit) {
    if (wrapper.constructed) throw fail(`${label} at byte ${wrapper.offset}: expected a primitive [${field.tag}]`);
    return Buffer.from(wrapper.content);
  }
  if (!wrapper.constructed) throw fail(`${label} at byte ${wrapper.offset}: expected an explicit (constructed) [${field.tag}]`);
  const inner = wrapper.children;
  if (inner.length !== 1) throw fail(`${label} at byte ${wrapper.offset}: expected one value inside, found ${inner.length}`);
  const value = inner[0]!;
  switch (field.type.kind) {
    case 'integer':
      return readInteger(value, label, field.type.range);
    case 'string':
      // Host names are ASCII; latin1 keeps any byte as one character, so encoding gives the same bytes back.
      return readOctets(value, label).toString('latin1');
    case 'octets': {
      const bytes = readOctets(value, label);
      const { maxLength, exactLength } = field.type;
      if (exactLength !== undefined && bytes.length !== exactLength) {
        throw fail(`${label} at byte ${value.offset}: ${bytes.length} bytes, expected ${exactLength}`);
      }
      if (maxLength !== undefined && bytes.length > maxLength) {
        throw fail(`${label} at byte ${value.offset}: ${bytes.length} bytes, at most ${maxLength} allowed`);
      }
      return bytes;
    }
  }
}

/**
 * The element at `offset`: it must fill `offset`..`end` exactly (`whole`), or
 * only start there (one of several children). checkStructure has checked its
 * header already; the checks here are a second line of defence.
 */
function parseElement(der: Uint8Array, offset: number, end: number, whole = true): Element {
  const element = new Element(der, offset, readHeader(der, offset, end));
  if (element.end > end || (whole && element.end !== end)) throw fail(`malformed value at byte ${offset} (tag 0x${hexByte(der[offset]!)})`);
  return element;
}

/**
 * [3] EXPLICIT Certificate, kept as raw bytes: checkStructure has validated its
 * TLV structure, and judging the certificate itself is X509Certificate's job
 * (peer.ts).
 */
function readCertificate(der: Uint8Array, offset: number, end: number, field: OptionalField): Buffer {
  const label = `field [${field.tag}] ${field.name}`;
  if ((der[offset]! & 0x20) === 0) throw fail(`${label} at byte ${offset}: expected an explicit (constructed) [${field.tag}]`);
  const start = offset + readHeader(der, offset, end).headerLength;
  if (start === end) throw fail(`${label} at byte ${offset}: expected one value inside, found 0`);
  const inner = readHeader(der, start, end);
  if (der[start] !== 0x30) throw fail(`${label} at byte ${start}: expected SEQUENCE, found ${parseElement(der, start, start + inner.headerLength + inner.length).describe()}`);
  if (start + inner.headerLength + inner.length !== end) throw fail(`${label} at byte ${offset}: expected one value inside, found more`);
  return Buffer.from(der.subarray(start, end));
}

/**
 * Decode one DER-encoded SSL_SESSION (i2d_SSL_SESSION output).
 * Throws SessctlError (exit 1) with a one-line message on anything else.
 */
export function decodeSession(der: Uint8Array): Session {
  const offsets = checkStructure(der);
  const fields = offsets.map((offset, i) => ({ offset, end: offsets[i + 1] ?? der.length }));

  const next = (name: string): Element => {
    const field = fields.shift();
    if (field === undefined) throw fail(`missing ${name} (the session ends at byte ${der.length})`);
    return parseElement(der, field.offset, field.end);
  };

  const version = readInteger(next('version'), 'version', 'uint32');
  if (version !== SSL_SESSION_ASN1_VERSION) throw invalidInput(`unsupported SSL_SESSION version ${version} (expected ${SSL_SESSION_ASN1_VERSION})`);

  const sslVersionElement = next('ssl_version');
  const sslVersion = readInteger(sslVersionElement, 'ssl_version', 'int32');
  if (sslVersion > 0xffff) throw fail(`ssl_version at byte ${sslVersionElement.offset}: 0x${sslVersion.toString(16)} is not a protocol version`);

  const cipherElement = next('cipher');
  const cipher = readOctets(cipherElement, 'cipher');
  if (cipher.length !== 2) throw fail(`cipher at byte ${cipherElement.offset}: ${cipher.length} bytes, expected 2`);

  const sessionIdElement = next('session_id');
  const sessionId = readOctets(sessionIdElement, 'session_id');
  if (sessionId.length > SSL_MAX_SSL_SESSION_ID_LENGTH) {
    throw fail(`session_id at byte ${sessionIdElement.offset}: ${sessionId.length} bytes, at most ${SSL_MAX_SSL_SESSION_ID_LENGTH} allowed`);
  }

  const masterKeyElement = next('master_key');
  const masterKey = readOctets(masterKeyElement, 'master_key');
  if (masterKey.length > MAX_MASTER_KEY_LENGTH) {
    throw fail(`master_key at byte ${masterKeyElement.offset}: ${masterKey.length} bytes, at most ${MAX_MASTER_KEY_LENGTH} allowed`);
  }

  const session: Session = { version: SSL_SESSION_ASN1_VERSION, sslVersion, cipherId: cipher.readUInt16BE(0), sessionId, masterKey };
  const optional = session as unknown as Record<OptionalKey, Session[OptionalKey]>;

  let previousTag = -1;
  for (const { offset, end } of fields) {
    const tagByte = der[offset]!;
    if ((tagByte & 0xc0) !== 0x80) {
      throw fail(`unexpected ${parseElement(der, offset, end).describe()} at byte ${offset} (expected a context-tagged field)`);
    }
    const tag = tagByte & 0x1f;
    const field = FIELD_BY_TAG.get(tag);
    if (field === undefined) throw fail(`unknown field [${tag}] at byte ${offset}`);
    if (tag === previousTag) throw fail(`duplicate field [${tag}] ${field.name} at byte ${offset}`);
    if (tag < previousTag) throw fail(`field [${tag}] ${field.name} at byte ${offset} is out of order (after [${previousTag}])`);
    previousTag = tag;
    optional[field.key] = readOptional(der, offset, end, field);
  }
  return session;
}

// ---------------------------------------------------------------------------
// Encoding: DER is a few lines to write, and writing it ourselves lets the
// peer certificate's bytes pass through untouched.

function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tagByte: number, content: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([tagByte]), encodeLength(content.length), content]);
}

const cannotEncode = (what: string) => invalidInput(`cannot encode SSL session: ${what}`);

function encodeInteger(value: number, name: string, max: number): Buffer {
  if (!Number.isSafeInteger(value) || value < 0 || value > max) throw cannotEncode(`${name} must be an integer from 0 to ${max}, got ${value}`);
  let hex = value.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  if (Number.parseInt(hex.slice(0, 2), 16) >= 0x80) hex = `00${hex}`;
  return tlv(0x02, Buffer.from(hex, 'hex'));
}

const octetString = (bytes: Uint8Array) => tlv(0x04, bytes);

/** Encode a session as i2d_SSL_SESSION does: canonical DER, optional fields only when present. */
export function encodeSession(session: Session): Buffer {
  if (!Number.isInteger(session.cipherId) || session.cipherId < 0 || session.cipherId > 0xffff) throw cannotEncode(`cipher id ${session.cipherId} is not a 2-byte value`);
  const cipher = Buffer.alloc(2);
  cipher.writeUInt16BE(session.cipherId);
  if (session.version !== SSL_SESSION_ASN1_VERSION) throw cannotEncode(`version must be ${SSL_SESSION_ASN1_VERSION}`);
  if (session.sessionId.length > SSL_MAX_SSL_SESSION_ID_LENGTH) throw cannotEncode(`session id of ${session.sessionId.length} bytes (at most ${SSL_MAX_SSL_SESSION_ID_LENGTH})`);
  if (session.masterKey.length > MAX_MASTER_KEY_LENGTH) throw cannotEncode(`master key of ${session.masterKey.length} bytes (at most ${MAX_MASTER_KEY_LENGTH})`);
  const parts: Buffer[] = [
    encodeInteger(session.version, 'version', UINT32_MAX),
    encodeInteger(session.sslVersion, 'ssl_version', 0xffff),
    octetString(cipher),
    octetString(session.sessionId),
    octetString(session.masterKey),
  ];
  for (const field of OPTIONAL_FIELDS) {
    const value = session[field.key];
    if (value === undefined) continue;
    if (field.implicit) {
      parts.push(tlv(0x80 | field.tag, value as Buffer));
      continue;
    }
    let inner: Buffer;
    switch (field.type.kind) {
      case 'integer':
        inner = encodeInteger(value as number, field.name, INTEGER_MAX[field.type.range]);
        break;
      case 'string':
        if (/[^\x00-\xff]/.test(value as string)) throw cannotEncode(`${field.name} holds characters that are not single bytes (write IDNs in punycode)`);
        inner = octetString(Buffer.from(value as string, 'latin1'));
        break;
      case 'certificate':
        if ((value as Buffer)[0] !== 0x30) throw cannotEncode(`${field.name} must be a DER certificate`);
        inner = Buffer.from(value as Buffer);
        break;
      case 'octets': {
        const bytes = value as Buffer;
        const { maxLength, exactLength } = field.type;
        if ((exactLength !== undefined && bytes.length !== exactLength) || (maxLength !== undefined && bytes.length > maxLength)) {
          throw cannotEncode(`${field.name} of ${bytes.length} bytes (${exactLength !== undefined ? `expected ${exactLength}` : `at most ${maxLength}`})`);
        }
        inner = octetString(bytes);
        break;
      }
    }
    parts.push(tlv(0xa0 | field.tag, inner));
  }
  const der = tlv(0x30, Buffer.concat(parts));
  if (der.length > MAX_SESSION_BYTES) throw cannotEncode(`${der.length} bytes is more than the ${MAX_SESSION_BYTES}-byte limit`);
  return der;
}
