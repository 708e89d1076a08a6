/**
 * Debian's dovecot as a STARTTLS mail server for tests: IMAP (143-style,
 * STARTTLS) and POP3 (STLS) on free loopback ports, its sockets, state and
 * log in its own directory. IMAP runs its login process in performance mode
 * (service_count = 0, one process for every connection); POP3 in dovecot's
 * default high-security mode (service_count = 1, a new login process per
 * connection, each with its own OpenSSL context and so its own ticket key).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { findTool, freePort } from './env.js';
import { listening, stopByPidFile, waitFor } from './servers.js';

export interface Dovecot {
  imapPort: number;
  pop3Port: number;
  stop(): Promise<void>;
}

export async function startDovecot(dir: string, cert: string, key: string): Promise<Dovecot> {
  const dovecot = findTool('dovecot') ?? 'dovecot';
  const p = (name: string): string => path.join(dir, name);
  for (const d of ['run', 'state', 'home']) mkdirSync(p(d), { recursive: true });
  // The unprivileged login processes (dovenull) reach their sockets under base_dir.
  chmodSync(dir, 0o755);
  const [imapPort, pop3Port] = [await freePort(), await freePort()];
  const conf = p('dovecot.conf');
  writeFileSync(
    conf,
    `base_dir = ${p('run')}
state_dir = ${p('state')}
log_path = ${p('dovecot.log')}
protocols = imap pop3
listen = 127.0.0.1
ssl = yes
ssl_cert = <${cert}
ssl_key = <${key}
passdb {
  driver = static
  args = password=unused
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=${p('home')}
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${imapPort}
  }
  inet_listener imaps {
    port = 0
  }
  service_count = 0
  process_limit = 1
  process_min_avail = 1
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = ${pop3Port}
  }
  inet_listener pop3s {
    port = 0
  }
}
service stats {
  inet_listener http {
    port = 0
  }
}
`,
  );
  // stdio ignored: the daemon keeps inherited pipes open, and execFileSync would wait for them.
  execFileSync(dovecot, ['-c', conf], { stdio: 'ignore' });
  await waitFor(`dovecot on ${imapPort} and ${pop3Port}`, async () => (await listening(imapPort)) && (await listening(pop3Port)));
  const pidFile = p('run/master.pid');
  return {
    imapPort,
    pop3Port,
    stop: () => stopByPidFile(pidFile),
  };
}
