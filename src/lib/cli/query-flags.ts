import { Flags } from './oclif.js';
import { findCipher } from '../session/names.js';
import { normaliseProtocol, type SessionQuery } from '../store/query.js';
import { usageError } from '../errors.js';

/** The selection flags of list (select_session semantics for --key). */
export const queryFlags = {
  sni: Flags.string({ description: 'only sessions for this SNI host name', helpValue: 'HOST' }),
  protocol: Flags.string({ description: 'only this protocol (TLSv1.2, TLSv1.3, 1.2, ...)', helpValue: 'PROTO' }),
  cipher: Flags.string({ description: 'only this cipher suite (OpenSSL or IANA name, or hex id)', helpValue: 'SUITE' }),
  expired: Flags.boolean({ description: 'only expired sessions', exclusive: ['live'] }),
  live: Flags.boolean({ description: 'only sessions that have not expired', exclusive: ['expired'] }),
  key: Flags.string({ description: 'only client sessions for this partial key, e.g. host:port (select_session)', helpValue: 'PARTIAL' }),
};

export function queryFromFlags(flags: {
  sni?: string | undefined;
  protocol?: string | undefined;
  cipher?: string | undefined;
  expired?: boolean;
  live?: boolean;
  key?: string | undefined;
}): SessionQuery {
  const query: SessionQuery = {};
  if (flags.sni !== undefined) query.sni = flags.sni;
  if (flags.protocol !== undefined) query.protocol = normaliseProtocol(flags.protocol);
  if (flags.cipher !== undefined) {
    const suite = findCipher(flags.cipher);
    if (!suite) throw usageError(`unknown cipher suite "${flags.cipher}" (use an OpenSSL name, an IANA name or a hex id such as C02F)`);
    query.cipher = suite.opensslName;
  }
  if (flags.expired) query.state = 'expired';
  if (flags.live) query.state = 'live';
  if (flags.key !== undefined) query.partialKey = flags.key;
  return query;
}
