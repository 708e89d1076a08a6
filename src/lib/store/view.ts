import { isoTime } from '../time.js';
import type { Entry } from './types.js';

/**
 * One store entry as `list --json` prints it (and `get --json` under "store").
 * Times are ISO 8601 (UTC); durations are seconds; no secrets.
 */
export interface EntryView {
  id: string;
  role: string;
  partialKey: string | null;
  protocol: string;
  cipher: string;
  sni: string | null;
  alpn: string | null;
  created: string;
  inserted: string;
  expires: string;
  /** Seconds until expiry; negative once expired. */
  expiresIn: number;
  expired: boolean;
  /** DER size in bytes. */
  size: number;
  hasTicket: boolean;
}

export function entryView(e: Entry, now: number): EntryView {
  return {
    id: e.key,
    role: e.role,
    partialKey: e.partialKey ?? null,
    protocol: e.protocol,
    cipher: e.cipher,
    sni: e.sni ?? null,
    alpn: e.alpn ?? null,
    created: isoTime(e.createdAt),
    inserted: isoTime(e.insertedAt),
    expires: isoTime(e.expiresAt),
    expiresIn: e.expiresAt - now,
    expired: e.expiresAt <= now,
    size: e.size,
    hasTicket: e.hasTicket,
  };
}
