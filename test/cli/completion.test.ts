/**
 * Shell completion (@oclif/plugin-autocomplete): `sessctl autocomplete bash`
 * prints the setup instructions and writes the completion scripts into the
 * oclif cache directory; bash, given that script, completes every command of
 * the manifest and each command's flags; the zsh script names them too.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTool, ROOT, runCli, tempDir } from '../helpers/env.js';

const manifest = JSON.parse(readFileSync(path.join(ROOT, 'oclif.manifest.json'), 'utf8')) as {
  commands: Record<string, { flags: Record<string, { name: string; hidden?: boolean }> }>;
};
const ids = Object.keys(manifest.commands);
const hasBash = requireTool('bash', 'bash');

describe('shell completion', () => {
  const tmp = tempDir('sessctl-completion-');
  const env = { XDG_CACHE_HOME: tmp.dir, HOME: tmp.dir };
  const cache = path.join(tmp.dir, 'sessctl', 'autocomplete');
  const bashScript = path.join(cache, 'functions', 'bash', 'sessctl.bash');
  let setup = { code: -1, stdout: '', stderr: '' };

  beforeAll(async () => {
    setup = await runCli(['autocomplete', 'bash'], { env });
  });
  afterAll(() => tmp.cleanup());

  it('sessctl autocomplete bash prints the setup instructions and builds the cache in $XDG_CACHE_HOME', async () => {
    expect(setup.code, setup.stderr).toBe(0);
    expect(setup.stdout).toMatch(/Setup Instructions/);
    expect(setup.stdout).toContain('sessctl autocomplete script bash');
    expect(existsSync(bashScript)).toBe(true);
    const script = await runCli(['autocomplete', 'script', 'bash'], { env });
    expect(script.code).toBe(0);
    expect(script.stdout).toContain(path.join(cache, 'bash_setup'));
  });

  /** What bash offers for the words typed so far (the last one being completed). */
  function complete(words: string[]): string[] {
    const program = [
      `source ${JSON.stringify(bashScript)}`,
      `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')})`,
      `COMP_CWORD=${words.length - 1}`,
      `COMP_LINE='${words.join(' ')}'`,
      'COMP_POINT=${#COMP_LINE}',
      '_sessctl_autocomplete',
      'printf "%s\\n" "${COMPREPLY[@]}"',
    ].join('\n');
    const r = spawnSync('bash', ['--norc', '--noprofile', '-c', program], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    return r.stdout.split('\n').filter(Boolean);
  }

  it.skipIf(!hasBash)('bash completes every command of the manifest after "sessctl "', () => {
    const offered = complete(['sessctl', '']);
    expect(offered).toEqual(expect.arrayContaining([...ids, 'autocomplete', 'help']));
    expect(complete(['sessctl', 'ro'])).toEqual(['rotate-keys']);
  });

  it.skipIf(!hasBash).each(ids)('bash completes the flags of sessctl %s', (id) => {
    const flags = Object.values(manifest.commands[id]!.flags)
      .filter((f) => !f.hidden)
      .map((f) => `--${f.name}`);
    expect(complete(['sessctl', id, '--'])).toEqual(expect.arrayContaining(flags));
  });

  it.skipIf(!hasBash)('bash completes flag values: a flag\'s options, and the protocol spellings', () => {
    expect(complete(['sessctl', 'list', '--sort', ''])).toEqual(['created', 'expires', 'size', 'sni', 'protocol', 'cipher', 'id']);
    expect(complete(['sessctl', 'list', '--sort', 'ex'])).toEqual(['expires']);
    expect(complete(['sessctl', 'list', '--protocol', 'TLSv1.'])).toEqual(['TLSv1.3', 'TLSv1.2', 'TLSv1.1']);
    expect(complete(['sessctl', 'get', '--out', 'p'])).toEqual(['pem']);
    // A flag that takes no value is left to the plugin's own completion.
    expect(complete(['sessctl', 'list', '--wide', ''])).not.toContain('created');
  });

  it('the zsh script names every command with its summary, and its flags', async () => {
    const r = await runCli(['autocomplete', 'zsh'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Setup Instructions/);
    const zsh = readFileSync(path.join(cache, 'functions', 'zsh', '_sessctl'), 'utf8');
    expect(zsh.startsWith('#compdef sessctl')).toBe(true);
    for (const id of ids) {
      expect(zsh).toContain(`"${id}[`);
      expect(zsh).toContain(`\n${id})\n`);
    }
    expect(zsh).toContain('--store"[session store URL');
  });
});
