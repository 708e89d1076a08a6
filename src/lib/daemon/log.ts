/** The daemon's log: structured events, one JSON line each. */

/** One structured log event; never holds a token, DER or key. */
export interface LogEvent {
  level: 'info' | 'warn' | 'error';
  event: string;
  [field: string]: unknown;
}

/** The default log: one JSON line per event on stderr. */
export function defaultLog(event: LogEvent): void {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
}
