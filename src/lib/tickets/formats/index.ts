/**
 * The output formats of `rotate-keys --write FORMAT:PATH`: each a pure
 * function from the ring (and the time) to the bytes of its file(s).
 */
import { usageError } from '../../errors.js';
import type { KeyRing, KeySize, RandomBytes } from '../ring.js';
import { apacheFile } from './apache.js';
import { atsFile } from './ats.js';
import { haproxyFile } from './haproxy.js';
import { nginxFiles } from './nginx.js';
import { nodeTicketKeys } from './node.js';
import { rawFile } from './raw.js';

/** One file of an output: a name inside the output's directory (dir formats) or the file itself (''). */
export interface OutputFile {
  name: string;
  data: Buffer;
}

export interface RenderContext {
  now: number;
  /** nginx: the previous-N.key slots its directory already has. */
  previousSlots?: number;
  random?: RandomBytes;
}

export interface OutputFormat {
  name: FormatName;
  /** `dir`: PATH is a directory of fixed slot files; `file`: PATH is the file. */
  target: 'dir' | 'file';
  sizes: readonly KeySize[];
  describe: string;
  render(ring: KeyRing, context: RenderContext): OutputFile[];
}

export type FormatName = 'nginx' | 'haproxy' | 'ats' | 'apache' | 'node' | 'raw';

const single = (data: Buffer): OutputFile[] => [{ name: '', data }];

export const FORMATS: Record<FormatName, OutputFormat> = {
  nginx: {
    name: 'nginx',
    target: 'dir',
    sizes: [48, 80],
    describe: 'DIR of ssl_session_ticket_key slot files: current.key (list first), previous.key, next.key',
    render: (ring, c) => nginxFiles(ring, c.now, { ...(c.previousSlots === undefined ? {} : { previousSlots: c.previousSlots }), ...(c.random ? { random: c.random } : {}) }),
  },
  haproxy: {
    name: 'haproxy',
    target: 'file',
    sizes: [48, 80],
    describe: 'tls-ticket-keys FILE: three base64 lines, the penultimate encrypts',
    render: (ring, c) => single(haproxyFile(ring, c.now, c.random ? { random: c.random } : {})),
  },
  ats: { name: 'ats', target: 'file', sizes: [48], describe: 'Traffic Server ticket_key.filename: N x 48 bytes, the first encrypts', render: (ring, c) => single(atsFile(ring, c.now)) },
  apache: { name: 'apache', target: 'file', sizes: [48], describe: 'SSLSessionTicketKeyFile: 48 bytes, the current key', render: (ring) => single(apacheFile(ring)) },
  node: { name: 'node', target: 'file', sizes: [48], describe: 'tls.Server#setTicketKeys: 48 bytes, the current key', render: (ring) => single(nodeTicketKeys(ring)) },
  raw: { name: 'raw', target: 'file', sizes: [48, 80], describe: 'the current key as name | hmac | aes (48 or 80 bytes)', render: (ring) => single(rawFile(ring)) },
};

export interface OutputSpec {
  format: OutputFormat;
  path: string;
}

/** Parse `FORMAT:PATH` (a --write value). */
export function parseOutput(spec: string): OutputSpec {
  const colon = spec.indexOf(':');
  const name = colon < 0 ? spec : spec.slice(0, colon);
  const format = (FORMATS as Record<string, OutputFormat | undefined>)[name.toLowerCase()];
  if (colon < 0 || !format) {
    throw usageError(`--write ${spec}: expected FORMAT:PATH with FORMAT one of ${Object.keys(FORMATS).join(', ')}`);
  }
  const path = spec.slice(colon + 1);
  if (path === '') throw usageError(`--write ${spec}: the path is empty`);
  return { format, path };
}

/** Every output must accept the ring's key size. */
export function checkSizes(outputs: OutputSpec[], size: KeySize): void {
  for (const o of outputs) {
    if (!o.format.sizes.includes(size)) {
      throw usageError(`--write ${o.format.name}:${o.path}: ${o.format.name} takes ${o.format.sizes.join(' or ')}-byte keys, the ring holds ${size}-byte keys`);
    }
  }
}
