/** The SSL_SESSION codec and what is built on it: names, PEM, peer summaries, views. */
export type { Session, CipherSuite, PeerSummary } from './types.js';
export { decodeSession, encodeSession, MAX_SESSION_BYTES } from './codec.js';
export { readSessionBlobs, toPem, PEM_LABEL } from './pem.js';
export { protocolName, cipherSuite, cipherSuites, findCipher, groupName } from './names.js';
export { summarizePeer } from './peer.js';
export { sessionView, verifyResult, HIDDEN_SECRET, type SessionView, type Instant } from './view.js';
export { sessionText } from './text.js';
