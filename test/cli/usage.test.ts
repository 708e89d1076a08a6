/**
 * Usage errors, end to end through bin/run.js: each is one line saying what
 * is wrong plus one hint line saying what to type, exit 2; nothing of
 * oclif's own text ("The following errors occurred", "See more help") is
 * left, and no line is cut before its content. -h/--help and -v/--version
 * work on every command.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli } from '../helpers/env.js';

const version = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const commands = Object.keys((JSON.parse(readFileSync(path.join(ROOT, 'oclif.manifest.json'), 'utf8')) as { commands: Record<string, unknown> }).commands);

/** Run, and check the shape every usage error shares: exit 2, two lines, the second a hint. */
async function usageError(args: string[]): Promise<string> {
  const r = await runCli(args);
  expect(r.code, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(2);
  expect(lines[0]).toMatch(/^sessctl: /);
  expect(lines[1]).toMatch(/^ {2}hint: /);
  expect(r.stderr).not.toMatch(/see --help\)|See more help|following errors|›/);
  return r.stderr;
}

describe('usage errors say what is wrong and what to type', () => {
  it('flags that exclude each other are named', async () => {
    const text = await usageError(['list', '--expired', '--live']);
    expect(text).toMatch(/^sessctl: --expired and --live cannot be used together$/m);
    expect(text).toMatch(/hint: usage: sessctl list \[FLAGS\]/);
  });

  it('a missing argument is named with what it is', async () => {
    const text = await usageError(['insert']);
    expect(text).toMatch(/^sessctl: insert: missing FILE \(session file/m);
    expect(text).toMatch(/hint: usage: sessctl insert FILE\.\.\. \[FLAGS\]/);
  });

  it('a value that does not parse says which flag and which value', async () => {
    expect(await usageError(['list', '--limit', 'abc'])).toMatch(/^sessctl: --limit: "abc" is not a whole number$/m);
    expect(await usageError(['list', '--sort', 'nope'])).toMatch(/^sessctl: --sort: "nope" is not one of created, expires, size, sni/m);
  });

  it('an unknown flag suggests the one meant', async () => {
    expect(await usageError(['list', '--wdie'])).toMatch(/^sessctl: list: unknown flag --wdie; did you mean --wide\?$/m);
  });

  it('an unknown command suggests the one meant; an extra word after a command is named', async () => {
    const text = await usageError(['lst']);
    expect(text).toMatch(/^sessctl: "lst" is not a sessctl command; did you mean list\?$/m);
    expect(text).toMatch(/hint: sessctl --help lists the commands/);
    expect(await usageError(['list', 'extra'])).toMatch(/^sessctl: list: unexpected argument "extra"$/m);
  });
});

describe('-h/--help and -v/--version work everywhere', () => {
  it('-h and --help on the top level and on every command', async () => {
    for (const flag of ['-h', '--help']) {
      const top = await runCli([flag]);
      expect(top.code, top.stderr).toBe(0);
      expect(top.stdout).toMatch(/^COMMANDS/m);
    }
    for (const id of commands.filter((c) => !c.includes(':'))) {
      const r = await runCli([...id.split(' '), '-h']);
      expect(r.code, `${id} -h: ${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/^USAGE/m);
    }
  });

  it('-v and --version, alone or after a command', async () => {
    for (const args of [['-v'], ['--version'], ['list', '-v'], ['get', '--version']]) {
      const r = await runCli(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^sessctl/${version.replace(/\./g, '\\.')} `));
    }
  });
});
