/**
 * `sessctl explain`: will this server resume this session, and why not?
 * The decision is pure (diagnose.ts, its sentences in messages.ts, its
 * contract in types.ts); this module only fetches what it
 * needs: the store entry under the key the client offers, and only when the
 * session is offered by session ID or stateful ticket.
 */
import type { Session } from '../session/types.js';
import type { SessionStore } from '../store/types.js';
import type { KeyRing } from '../tickets/ring.js';
import { diagnose, offerOf } from './diagnose.js';
import type { Explanation } from './types.js';

export { diagnose, offerOf } from './diagnose.js';
export { parseSessionIdContext, MAX_SESSION_ID_CONTEXT_BYTES } from './context.js';
export { contextLabel } from './messages.js';
export type { Explanation, Finding, Offer, ReasonCode, Verdict } from './types.js';
export { explanationText } from './text.js';

export interface ExplainOptions {
  /** The session the client holds. */
  held?: Session;
  /** Or the id (hex) it offers. */
  id?: string;
  /** Opens the server's session cache; called only when the diagnosis needs it. */
  openStore?: () => Promise<SessionStore>;
  ring?: { name: string; ring: KeyRing };
  sessionIdContext?: Buffer;
  /** Unix seconds. */
  now: number;
}

export async function explainResumption(options: ExplainOptions): Promise<Explanation> {
  const offer = offerOf(options.held, options.id);
  let store: { url: string; entry: Awaited<ReturnType<SessionStore['lookup']>> } | undefined;
  if ((offer.kind === 'session-id' || offer.kind === 'stateful-ticket') && options.openStore) {
    const opened = await options.openStore();
    store = { url: opened.url, entry: await opened.lookup(offer.key) };
  }
  return diagnose({
    ...(options.held === undefined ? {} : { held: options.held }),
    ...(options.id === undefined ? {} : { id: options.id }),
    ...(store === undefined ? {} : { store }),
    ...(options.ring === undefined ? {} : { ring: options.ring }),
    ...(options.sessionIdContext === undefined ? {} : { sessionIdContext: options.sessionIdContext }),
    now: options.now,
  });
}
