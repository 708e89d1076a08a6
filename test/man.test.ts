/**
 * The man pages in man/: one per command in oclif.manifest.json plus
 * sessctl(1), each documenting every flag, each rendering with man(1) without
 * warnings, and none stale (the committed page equals what the generator
 * makes from today's manifest).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: plain .mjs build script, no type declarations
import { commandPage, documentedFlags, pageName, renderManPages } from '../scripts/gen-man.mjs';
import { requireTool, ROOT, tempDir } from './helpers/env.js';

interface ManifestCommand {
  id: string;
  flags: Record<string, { name: string; hidden?: boolean; char?: string; allowNo?: boolean; type: string }>;
}

const manifestFile = path.join(ROOT, 'oclif.manifest.json');
const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { commands: Record<string, ManifestCommand> };
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const commands = Object.values(manifest.commands);
const manDir = path.join(ROOT, 'man');
const pages = renderManPages(manifest, pkg) as Map<string, string>;

/**
 * The page as committed: HEAD's version in a git checkout (the build has just
 * rewritten the working tree's copy, so only HEAD can be stale), else the file.
 */
const inGit = spawnSync('git', ['rev-parse', '--is-inside-work-tree'], { cwd: ROOT }).status === 0;
function committed(file: string): string | undefined {
  if (!inGit) return readFileSync(path.join(manDir, file), 'utf8');
  const r = spawnSync('git', ['show', `HEAD:man/${file}`], { cwd: ROOT, encoding: 'utf8' });
  return r.status === 0 ? r.stdout : undefined;
}

const hasMan = requireTool('man', 'man-db') && requireTool('groff', 'groff-base');

/** The page as a reader sees it: plain text, 80 columns. */
function render(file: string): { code: number | null; text: string; stderr: string } {
  const r = spawnSync('man', ['-l', file], { encoding: 'utf8', env: { ...process.env, MANWIDTH: '80', MAN_KEEP_FORMATTING: '', PAGER: 'cat' } });
  return { code: r.status, text: r.stdout, stderr: r.stderr };
}

/** The text of one section (from its heading to the next heading). */
function section(text: string, heading: string): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l === heading);
  if (start < 0) return '';
  const end = lines.findIndex((l, i) => i > start && /^[A-Z][A-Z ]+$/.test(l));
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

describe('man pages', () => {
  it('the manifest has the commands (built before the test)', () => {
    expect(commands.map((c) => c.id)).toEqual(expect.arrayContaining(['list', 'get', 'insert', 'remove', 'flush', 'stats', 'rotate-keys', 'serve']));
  });

  it('there is a page for every command and for sessctl(1), and no page for a command that is gone', () => {
    const files = readdirSync(manDir).filter((f) => f.endsWith('.1')).sort();
    const expected = ['sessctl.1', ...commands.map((c) => `${pageName(c.id)}.1`)].sort();
    expect(files).toEqual(expected);
  });

  it.each(['sessctl.1', ...commands.map((c) => `${pageName(c.id)}.1`)])('man/%s is not stale: the committed page is what scripts/gen-man.mjs makes from the manifest', (file) => {
    expect(committed(file), `man/${file} is stale: run npm run build (or node scripts/gen-man.mjs) and commit man/`).toBe(pages.get(file));
  });

  describe.skipIf(!hasMan)('rendered with man -l', () => {
    it.each(commands.map((c) => [c.id, c] as const))('sessctl-%s(1) renders without warnings and documents every flag, --json included', (_id, command) => {
      const file = path.join(manDir, `${pageName(command.id)}.1`);
      const { code, text, stderr } = render(file);
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(text).toMatch(new RegExp(`^NAME\\n\\s+${pageName(command.id)} - \\S`, 'm'));
      const options = section(text, 'OPTIONS');
      const flags = documentedFlags(command) as string[];
      // --json is a flag like the others where the command has it (serve, a daemon, does not).
      if ((command as { enableJsonFlag?: boolean }).enableJsonFlag) expect(flags).toContain('json');
      const visible = Object.values(command.flags).filter((f) => !f.hidden);
      expect(flags).toHaveLength(visible.length);
      for (const flag of visible) {
        const long = flag.type === 'boolean' && flag.allowNo ? `--[no-]${flag.name}` : `--${flag.name}`;
        expect(options, `--${flag.name} in sessctl-${command.id}(1)`).toContain(long);
        if (flag.char) expect(options).toContain(`-${flag.char}, ${long}`);
      }
      expect(section(text, 'EXIT STATUS')).toMatch(/^\s+0\s+\S/m);
      // groff's own check, every warning on: nothing to say.
      const strict = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z', file], { encoding: 'utf8' });
      expect(strict.stderr).toBe('');
    });

    it('sessctl(1) renders and lists every command, the stores, exit codes, environment and files', () => {
      const { code, text, stderr } = render(path.join(manDir, 'sessctl.1'));
      expect(stderr).toBe('');
      expect(code).toBe(0);
      for (const c of commands) expect(section(text, 'COMMANDS')).toContain(`sessctl ${c.id}`);
      for (const heading of ['STORES', 'EXIT STATUS', 'ENVIRONMENT', 'FILES', 'SEE ALSO']) expect(section(text, heading).trim()).not.toBe('');
      expect(section(text, 'ENVIRONMENT')).toContain('SESSCTL_STORE');
      expect(section(text, 'STORES')).toContain('redis://');
    });
  });

  it.skipIf(!hasMan)('roff escaping: leading dots and quotes, backslashes, minus signs and non-ASCII come out as written', () => {
    const tricky = {
      id: 'tricky',
      summary: 'A test page.',
      description: ".so /etc/passwd\n'br\nback\\slash -x --flag \u2026 caf\u00e9",
      examples: ['.TH evil'],
      flags: { json: { name: 'json', type: 'boolean', helpGroup: 'GLOBAL', description: 'Format output as json.' } },
      args: {},
    };
    const page = commandPage(tricky, ['tricky']) as string;
    const { dir, cleanup } = tempDir();
    try {
      const file = path.join(dir, 'sessctl-tricky.1');
      writeFileSync(file, page);
      const { code, text, stderr } = render(file);
      expect(stderr).toBe('');
      expect(code).toBe(0);
      const description = section(text, 'DESCRIPTION');
      expect(description).toContain('.so /etc/passwd');
      expect(description).toContain("'br");
      expect(description).toContain('back\\slash -x --flag \u2026 caf\u00e9');
      expect(section(text, 'EXAMPLES')).toContain('.TH evil');
    } finally {
      cleanup();
    }
  });
});
