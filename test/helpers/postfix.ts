/**
 * Debian's postfix as a STARTTLS SMTP server for tests: smtpd on a free
 * loopback port, its main.cf, master.cf, queue, data directory and mail log
 * in its own temp directory, master(8) in the foreground (-d) under our
 * process control. Only the services smtpd needs run: tlsmgr (ticket keys
 * and the session cache, shared by every smtpd process), anvil, scache,
 * proxymap and postlogd (the log file).
 *
 * Two traps, both silent: every postfix command logs to stderr only when it
 * is a terminal, so errors go to maillog_file, which postfix refuses outside
 * maillog_file_prefixes (default "/var, /dev/stdout"); and smtpd with the
 * default local_recipient_maps waits on proxymap before it greets.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { findTool, freePort } from './env.js';
import { listening, waitFor } from './servers.js';

export const POSTFIX_MASTER = '/usr/lib/postfix/sbin/master';

export interface Postfix {
  port: number;
  dir: string;
  /** The mail log so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

export interface PostfixOptions {
  /** Extra main.cf lines, e.g. ['tls_session_ticket_cipher ='] (tickets off). */
  main?: string[];
}

/** Start postfix with STARTTLS (smtpd_tls_security_level = may) offering `cert`/`key`, in `dir`. */
export async function startPostfix(dir: string, cert: string, key: string, options: PostfixOptions = {}): Promise<Postfix> {
  const postfix = findTool('postfix') ?? 'postfix';
  const p = (name: string): string => path.join(dir, name);
  const maillog = p('maillog');
  const log = (): string => (existsSync(maillog) ? readFileSync(maillog, 'utf8') : '');
  // The postfix user (smtpd, tlsmgr) walks to the queue and the data directory.
  chmodSync(dir, 0o755);
  mkdirSync(p('queue'), { recursive: true }); // root's; `postfix check` makes its subdirectories
  mkdirSync(p('data'), { recursive: true });
  chownSync(p('data'), postfixUid(), postfixGid());
  const port = await freePort();
  writeFileSync(
    p('main.cf'),
    [
      'compatibility_level = 3.6',
      `queue_directory = ${p('queue')}`,
      `data_directory = ${p('data')}`,
      'mail_owner = postfix',
      'setgid_group = postdrop',
      'myhostname = mail.example.test',
      'mydestination =',
      'local_recipient_maps =',
      'inet_interfaces = 127.0.0.1',
      'inet_protocols = ipv4',
      `maillog_file = ${maillog}`,
      `maillog_file_prefixes = ${dir}`,
      'smtpd_tls_security_level = may',
      `smtpd_tls_chain_files = ${key}, ${cert}`,
      'smtpd_tls_loglevel = 1',
      ...(options.main ?? []),
      '',
    ].join('\n'),
  );
  // Stock master.cf lines (/etc/postfix/master.cf), chroot off: the temp dir holds no chroot jail.
  writeFileSync(
    p('master.cf'),
    [
      `127.0.0.1:${port} inet n - n - - smtpd`,
      'tlsmgr unix - - n 1000? 1 tlsmgr',
      'anvil unix - - n - 1 anvil',
      'scache unix - - n - 1 scache',
      'proxymap unix - - n - - proxymap',
      'postlog unix-dgram n - n - 1 postlogd',
      '',
    ].join('\n'),
  );
  // `postfix check` creates the queue directories with their owners and names config errors (in the log).
  const check = spawnSync(postfix, ['-c', dir, 'check'], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`postfix -c ${dir} check failed (exit ${check.status}):\n${log()}${check.stderr}`);
  // Its own process group (detached), so that master's SIGTERM to its group reaches its children and nothing else.
  const master: ChildProcess = spawn(POSTFIX_MASTER, ['-c', dir, '-d'], { detached: true, stdio: 'ignore' });
  let exited: string | undefined;
  master.on('exit', (code, signal) => (exited = `exit ${code ?? signal}`));
  try {
    await waitFor(`postfix smtpd on ${port}`, async () => {
      if (exited) throw new Error(`postfix master ended (${exited})`);
      return listening(port);
    }, 20_000);
  } catch (err) {
    master.kill('SIGKILL');
    throw new Error(`${(err as Error).message}${exited ? ` (master ${exited})` : ''}\n${log()}`);
  }
  return {
    port,
    dir,
    log,
    async stop() {
      if (exited || master.pid === undefined) return;
      master.kill('SIGTERM');
      try {
        await waitFor(`postfix master ${master.pid} to exit`, () => exited !== undefined, 10_000);
      } catch {
        process.kill(-master.pid, 'SIGKILL');
      }
    },
  };
}

function postfixUid(): number {
  return Number(spawnSync('id', ['-u', 'postfix'], { encoding: 'utf8' }).stdout.trim());
}

function postfixGid(): number {
  return Number(spawnSync('id', ['-g', 'postfix'], { encoding: 'utf8' }).stdout.trim());
}
