/**
 * The output formats of `rotate-keys --write FORMAT:PATH`: each a pure
 * function from the ring (and the time) to the bytes of its file(s), what a
 * server given them holds, and how it reads them back (`--check`).
 */
import { usageError } from '../../errors.js';
import type { KeySize } from '../ring.js';
import { atsFile, atsHolds, loadAtsFile } from './ats.js';
import { h2oFile, h2oHolds, loadH2oFile } from './h2o.js';
import { haproxyFile, haproxyHolds, loadHaproxyFile } from './haproxy.js';
import { lighttpdFile, lighttpdHolds, loadLighttpdFile } from './lighttpd.js';
import {
  loadNginx,
  loadNginxInclude,
  nginxFiles,
  nginxHolds,
  nginxIncludeFiles,
  nginxIncludeHolds,
  ownedByNginx,
  ownedByNginxInclude,
} from './nginx.js';
import { loadSingleKey, singleKeyFile, singleKeyHolds } from './single.js';
import type { FormatName, OutputFile, OutputFormat } from './types.js';

export type { FormatName, LoadedKey, OutputFile, OutputFormat, ReadFile, RenderContext } from './types.js';

const single = (data: Buffer): OutputFile[] => [{ name: '', data }];

/** A one-key file format (apache, node, raw). */
function oneKey(name: FormatName, sizes: readonly KeySize[], describe: string): OutputFormat {
  return {
    name,
    target: 'file',
    sizes,
    describe,
    render: (ring) => single(singleKeyFile(ring)),
    holds: (ring) => singleKeyHolds(ring),
    load: async (read) => loadSingleKey(await read(''), sizes.map((s) => s)),
  };
}

export const FORMATS: Record<FormatName, OutputFormat> = {
  nginx: {
    name: 'nginx',
    target: 'dir',
    sizes: [48, 80],
    describe: 'DIR of the three ssl_session_ticket_key files current.key (list first), previous.key, next.key; older previous keys are dropped and named',
    render: (ring, c) => nginxFiles(ring, c.now),
    holds: nginxHolds,
    load: (read) => loadNginx(read),
    owns: ownedByNginx,
  },
  'nginx-include': {
    name: 'nginx-include',
    target: 'dir',
    sizes: [48, 80],
    describe: 'DIR of one key file per key of the window and ticket-keys.conf naming them (include it in nginx.conf): holds any window',
    render: nginxIncludeFiles,
    holds: nginxIncludeHolds,
    load: (read) => loadNginxInclude(read),
    owns: ownedByNginxInclude,
  },
  haproxy: {
    name: 'haproxy',
    target: 'file',
    sizes: [48, 80],
    describe: 'tls-ticket-keys FILE: three base64 lines, the penultimate encrypts; older previous keys are dropped and named',
    render: (ring, c) => single(haproxyFile(ring, c.now)),
    holds: haproxyHolds,
    load: async (read) => loadHaproxyFile(await read('')),
  },
  ats: {
    name: 'ats',
    target: 'file',
    sizes: [48],
    describe: 'Traffic Server ticket_key.filename: N x 48 bytes, the first encrypts',
    render: (ring, c) => single(atsFile(ring, c.now)),
    holds: atsHolds,
    load: async (read) => loadAtsFile(await read('')),
  },
  apache: oneKey('apache', [48], 'SSLSessionTicketKeyFile: 48 bytes, the current key only'),
  node: oneKey('node', [48], 'tls.Server#setTicketKeys: 48 bytes, the current key only'),
  raw: oneKey('raw', [48, 80], 'the current key as name | hmac | aes (48 or 80 bytes)'),
  lighttpd: {
    name: 'lighttpd',
    target: 'file',
    sizes: [80],
    describe: 'ssl.stek-file: 92 bytes, the current key with its activation and expiry; lighttpd keeps the last three it read',
    render: (ring, c) => single(lighttpdFile(ring, c)),
    holds: lighttpdHolds,
    load: async (read, c) => loadLighttpdFile(await read(''), c.now),
  },
  h2o: {
    name: 'h2o',
    target: 'file',
    sizes: [48, 80],
    describe: 'ssl-session-resumption ticket-file: YAML with every key of the ring, the next one not yet valid',
    render: (ring, c) => single(h2oFile(ring, c.now)),
    holds: h2oHolds,
    load: async (read, c) => loadH2oFile(await read(''), c.now),
  },
};

export interface OutputSpec {
  format: OutputFormat;
  path: string;
}

/** How an output is named in messages, the summary and the ring (`nginx:/etc/nginx/tickets`). */
export function outputLabel(o: OutputSpec): string {
  return `${o.format.name}:${o.path}`;
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
