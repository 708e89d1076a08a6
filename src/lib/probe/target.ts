/**
 * Probe targets as the user writes them: `host:port`, `[v6]:port`, or an
 * IPv4 address with a port. A target without a port is refused, not given
 * 443 silently: probes of mail servers and of backends on other ports are
 * common, and a guessed port would probe the wrong thing.
 */
import { isIP } from 'node:net';
import { usageError } from '../errors.js';

export interface ProbeTarget {
  /** The host to connect to: a name, an IPv4 address, or an IPv6 address without brackets. */
  host: string;
  port: number;
  /** How the target is written in output: host:port, [v6]:port. */
  label: string;
}

/** Parse one target; a usage error (exit 2) naming it when it is not host:port. */
export function parseTarget(text: string): ProbeTarget {
  const trimmed = text.trim();
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(trimmed);
  const plain = /^([^:[\]]+):(\d+)$/.exec(trimmed);
  const match = bracketed ?? plain;
  if (!match) {
    const hint = isIP(trimmed) === 6 || /^[^[].*:.*:/.test(trimmed) ? ' (write an IPv6 address in brackets: [::1]:443)' : '';
    throw usageError(`target "${text}" is not HOST:PORT${hint}`);
  }
  const host = match[1]!;
  const port = Number(match[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw usageError(`target "${text}": port ${match[2]} is not 1-65535`);
  if (bracketed && isIP(host) !== 6) throw usageError(`target "${text}": only an IPv6 address goes in brackets`);
  if (!bracketed && !/^[A-Za-z0-9.-]+$/.test(host)) throw usageError(`target "${text}": "${host}" is neither a host name nor an address`);
  return { host, port, label: isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}` };
}

/** The SNI Node sends by default: the host when it is a name, none for an address (RFC 6066 §3 forbids literal addresses). */
export function defaultSni(target: ProbeTarget): string | undefined {
  return isIP(target.host) === 0 ? target.host : undefined;
}
