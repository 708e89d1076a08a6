export interface RoleGuess {
  guess: 'client' | 'server' | 'unknown';
  reason: string;
}

/** Which side most likely wrote a session, from what it carries (OpenSSL keeps no role field). */
export function guessRole(s: { hasTicket: boolean; sessionIdContext?: { length: number } | undefined; hasPeer: boolean }): RoleGuess {
  if (s.hasTicket) return { guess: 'client', reason: 'it holds a session ticket; servers never keep one' };
  if (s.sessionIdContext !== undefined && s.sessionIdContext.length > 0) {
    return { guess: 'server', reason: 'it has a session-ID context; servers set one, clients leave it empty' };
  }
  if (s.hasPeer) {
    return { guess: 'client', reason: 'it has a peer certificate but no session-ID context; a server verifying clients must set one' };
  }
  return { guess: 'unknown', reason: 'no ticket, no session-ID context and no peer certificate' };
}
