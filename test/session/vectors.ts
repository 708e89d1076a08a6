import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const VECTOR_DIR = join(import.meta.dirname, '..', 'fixtures', 'vectors');

/** The ground truth of one vector (NAME.json, see test/fixtures/vectors/README.md). */
export interface VectorTruth {
  name: string;
  protocol: string;
  cipher: { openssl_name: string; iana_name: string; id_hex: string };
  session_id_hex: string;
  session_id_ctx_hex: string;
  master_key_hex: string;
  time: number;
  timeout: number;
  sni: string | null;
  alpn: string | null;
  has_peer_cert: boolean;
  peer_subject: string | null;
  ticket_lifetime_hint: number | null;
  has_ticket: boolean;
  max_early_data: number | null;
  role: 'client' | 'server';
  extra: {
    ssl_version_hex: string;
    session_id_ctx_ascii: string;
    master_key_length: number;
    master_key_is_tls13_resumption_psk: boolean;
    ticket_length: number | null;
    verify_result: { code: number; text: string };
    extended_master_secret: boolean;
    asn1_context_tags_present: number[];
    der_length: number;
    der_sha256: string;
    kex_group_id: number;
    tls13_ticket_age_add?: number;
    peer_issuer?: string;
    peer_public_key?: string;
    peer_cert_sha256?: string;
  };
}

export interface Vector {
  name: string;
  truth: VectorTruth;
  der: Buffer;
  pem: Buffer;
  txt: string;
}

export const VECTORS: Vector[] = readdirSync(VECTOR_DIR)
  .filter((file) => file.endsWith('.json'))
  .sort()
  .map((file) => {
    const name = file.slice(0, -'.json'.length);
    const read = (ext: string) => readFileSync(join(VECTOR_DIR, `${name}.${ext}`));
    return { name, truth: JSON.parse(read('json').toString('utf8')) as VectorTruth, der: read('der'), pem: read('pem'), txt: read('txt').toString('utf8') };
  });
