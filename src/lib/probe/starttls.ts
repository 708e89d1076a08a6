/**
 * The plain-text exchange before a mail server's TLS handshake, the way
 * `openssl s_client -starttls` does it (apps/s_client.c):
 *   smtp (RFC 3207): greeting 220, EHLO, a 250 reply listing STARTTLS, STARTTLS, 220
 *   imap (RFC 9051 §6.2.1): greeting "* OK", "a1 STARTTLS", "a1 OK"
 *   pop3 (RFC 2595 §4): greeting "+OK", "STLS", "+OK"
 * The client sends each command only after the whole previous reply, so no
 * byte of the server's later TLS records is read here.
 */
import type { Socket } from 'node:net';

export type StartTlsProtocol = 'smtp' | 'imap' | 'pop3';
export const STARTTLS_PROTOCOLS: readonly StartTlsProtocol[] = ['smtp', 'imap', 'pop3'];

/** Longest reply line accepted: a server sending more is not the mail server we think. */
const MAX_REPLY_BYTES = 64 * 1024;

/** Read lines until `done(line)` says the reply is complete; resolves with every line. */
function readReply(socket: Socket, done: (line: string) => boolean): Promise<string[]> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const lines: string[] = [];
    const cleanup = (): void => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onError);
    };
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString('latin1');
      let at: number;
      while ((at = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, at).replace(/\r$/, '');
        buffered = buffered.slice(at + 1);
        lines.push(line);
        if (done(line)) {
          cleanup();
          socket.pause();
          resolve(lines);
          return;
        }
      }
      if (buffered.length > MAX_REPLY_BYTES) {
        cleanup();
        reject(new Error('the server sent a reply line of more than 64 KiB'));
      }
    };
    const onEnd = (): void => {
      cleanup();
      reject(new Error(`the server closed the connection${lines.length ? ` after "${lines.at(-1)}"` : ' before its greeting'}`));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('error', onError);
    socket.resume();
  });
}

function expect(lines: string[], ok: RegExp, what: string): void {
  const last = lines.at(-1) ?? '';
  if (!ok.test(last)) throw new Error(`${what}: the server answered "${last.slice(0, 120)}"`);
}

/**
 * Run the plain-text part on a connected socket; resolves when the next
 * bytes are the TLS handshake. Rejects with a plain Error saying what the
 * server answered (the caller names the target).
 */
export async function startTls(socket: Socket, protocol: StartTlsProtocol): Promise<void> {
  const send = (line: string): void => {
    socket.write(`${line}\r\n`);
  };
  if (protocol === 'smtp') {
    // Only "NNN-" continues a reply (RFC 5321 §4.2.1); any other line ends it, so a server
    // speaking another protocol is answered at once instead of at the deadline.
    const smtpDone = (line: string): boolean => !/^\d{3}-/.test(line);
    expect(await readReply(socket, smtpDone), /^220/, 'SMTP greeting');
    send('EHLO sessctl.invalid');
    const ehlo = await readReply(socket, smtpDone);
    expect(ehlo, /^250/, 'EHLO');
    if (!ehlo.some((l) => /^250[ -]STARTTLS\b/i.test(l))) throw new Error('the SMTP server does not offer STARTTLS');
    send('STARTTLS');
    expect(await readReply(socket, smtpDone), /^220/, 'STARTTLS');
  } else if (protocol === 'imap') {
    expect(await readReply(socket, (l) => l.startsWith('* ')), /^\* (OK|PREAUTH)/i, 'IMAP greeting');
    send('a1 STARTTLS');
    expect(await readReply(socket, (l) => l.startsWith('a1 ')), /^a1 OK/i, 'STARTTLS');
  } else {
    expect(await readReply(socket, () => true), /^\+OK/, 'POP3 greeting');
    send('STLS');
    expect(await readReply(socket, () => true), /^\+OK/, 'STLS');
  }
}
