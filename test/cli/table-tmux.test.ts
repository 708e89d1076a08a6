/**
 * `sessctl list` on real terminals (tmux panes of 80 and 200 columns): the
 * table takes the terminal's width, cuts only what does not fit (the id
 * first, to the form get accepts back), and --wide never cuts. ROLE shows
 * because the example sessions are of both roles; --wide adds the
 * session-id context.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTool, runCli, tempDir, VECTORS as VECTOR_DIR } from '../helpers/env.js';
import { sessctlCommand, Terminal } from '../helpers/terminal.js';
import { VECTORS } from '../session/vectors.js';

const hasTmux = requireTool('tmux', 'tmux');

describe.skipIf(!hasTmux)('list fits the terminal', () => {
  const tmp = tempDir('sessctl-table-');
  const store = path.join(tmp.dir, 'sessions.db');
  const terminal = new Terminal();
  const ids = VECTORS.map((v) => v.truth.session_id_hex.toLowerCase());
  const ciphers = VECTORS.map((v) => v.truth.cipher.openssl_name as string);

  beforeAll(async () => {
    const r = await runCli(['insert', '--keep-expired', '--store', store, ...VECTORS.map((v) => path.join(VECTOR_DIR, `${v.name}.pem`))]);
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(() => {
    terminal.stop();
    tmp.cleanup();
  });

  /** The table as the terminal shows it (the lines before "N sessions"). */
  async function table(args: string[], columns: number, joined = false): Promise<string[]> {
    const pane = terminal.start(sessctlCommand(['list', '--store', store, ...args]), columns);
    const screen = await terminal.waitFor(pane, /exit=\d+/, { joined });
    expect(screen).toContain('exit=0');
    const lines = screen.split('\n');
    return lines.slice(0, lines.findIndex((l) => /^\d+ sessions?$/.test(l)));
  }

  it("200 columns: whole ids, whole cipher names and SNI, ROLE and CONTEXT since they differ", async () => {
    const lines = await table([], 200);
    expect(lines[0]).toMatch(/^ID\s+ROLE\s+CONTEXT\s+PROTO\s+CIPHER\s+SNI\s+EXPIRES\s+SIZE$/);
    expect(lines.some((l) => / server  login-portal  /.test(l))).toBe(true);
    expect(lines).toHaveLength(1 + VECTORS.length);
    for (const id of ids) expect(lines.some((l) => l.startsWith(`${id} `))).toBe(true);
    for (const cipher of ciphers) expect(lines.some((l) => l.includes(` ${cipher} `))).toBe(true);
    expect(lines.some((l) => l.includes(' cdn.shared-demo.test '))).toBe(true);
    expect(lines.join('\n')).not.toContain('…');
  });

  it('80 columns: every line fits; the id is cut first, and a cut id is accepted back by get', async () => {
    const lines = await table([], 80);
    for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(80);
    const shortened = /^([0-9a-f]+…[0-9a-f]+) /.exec(lines[1]!)?.[1];
    expect(shortened, lines[1]).toBeDefined();
    const got = await runCli(['get', shortened!, '--store', store, '--json']);
    expect(got.code, got.stderr).toBe(0);
    expect(ids).toContain(JSON.parse(got.stdout).store.id);
  });

  it('--wide on 80 columns cuts nothing: the terminal wraps the lines instead', async () => {
    const lines = await table(['--wide'], 80, true);
    expect(lines[0]).toMatch(/^ID\s+ROLE\s+PROTOCOL\s+CIPHER\s+SNI\s+ALPN\s+CONTEXT\s+CREATED\s+EXPIRES\s+SIZE$/);
    for (const id of ids) expect(lines.some((l) => l.startsWith(`${id} `))).toBe(true);
    for (const cipher of ciphers) expect(lines.some((l) => l.includes(` ${cipher} `))).toBe(true);
    // The server sessions' session-id contexts (vectors 07 and 08).
    expect(lines.some((l) => l.includes(' login-portal '))).toBe(true);
    expect(lines.join('\n')).not.toContain('…');
  });
});
