/**
 * explain for people: the verdict line names the default store when no
 * store was given (SESSCTL_STORE, config file or --store), and on a
 * terminal the lines wrap at word boundaries at its width.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { diagnose, explanationText } from '../../src/lib/explain/index.js';
import { wrapLine } from '../../src/lib/explain/text.js';
import { decodeSession } from '../../src/lib/session/codec.js';
import { runCli, tempDir, VECTORS } from '../helpers/env.js';

const clientPem = path.join(VECTORS, '02-client-tls12-ecdhe-ecdsa-aes128gcm-sessionid-alpn.pem');
const client = decodeSession(readFileSync(path.join(VECTORS, '02-client-tls12-ecdhe-ecdsa-aes128gcm-sessionid-alpn.der')));

describe('wrapping at the terminal width', () => {
  const e = diagnose({ held: client, store: { url: 'file:/var/lib/sessctl/sessions.db', entry: undefined }, now: client.time! + 60 });
  const flat = explanationText(e);

  it('no line wider than the width, no word cut, continuation lines indented under their text', () => {
    for (const width of [50, 72, 100]) {
      const text = explanationText(e, { width });
      for (const line of text.split('\n')) {
        // Only a single word longer than the width (an id, a URL) may stick out.
        if (line.length > width) expect(line.trim().includes(' '), line).toBe(false);
      }
      // The same words in the same order: wrapping only moved line breaks.
      expect(text.split(/\s+/).join(' ')).toBe(flat.split(/\s+/).join(' '));
    }
    const lines = explanationText(e, { width: 72 }).split('\n');
    const notFound = lines.findIndex((l) => l.startsWith('will not resume: no session'));
    expect(lines[notFound + 1]).toMatch(/^ {2}\S/);
  });

  it('wrapLine breaks at spaces and keeps long words whole', () => {
    expect(wrapLine('  Server       : store file:/a/very/long/path ring (not given)', 30, 17)).toEqual([
      '  Server       : store',
      '                 file:/a/very/long/path',
      '                 ring (not',
      '                 given)',
    ]);
    expect(wrapLine('short', 30, 2)).toEqual(['short']);
  });
});

describe('explain without --store', () => {
  const tmp = tempDir('sessctl-explain-default-');
  afterAll(() => tmp.cleanup());

  it('uses the default cache file and says so on the verdict line; a named store is not called the default', async () => {
    const env = { XDG_STATE_HOME: tmp.dir, SESSCTL_STORE: undefined };
    const r = await runCli(['explain', '--in', clientPem], { env });
    expect(r.code, r.stderr).toBe(4);
    const verdict = r.stdout.split('\n')[0]!;
    expect(verdict).toContain(`(looked in the default store ${path.join(tmp.dir, 'sessctl', 'sessions.db')})`);
    // The client's own session has long expired: that is the headline, with since when.
    expect(verdict).toMatch(/: the client's session expired at \d{4}-\d\d-\d\dT[\d:]+Z \(\d+d( \d+[hms])? ago\)/);
    const named = await runCli(['explain', '--in', clientPem, '--store', 'memory:'], { env });
    expect(named.code, named.stderr).toBe(4);
    expect(named.stdout).not.toContain('default store');
  });
});
