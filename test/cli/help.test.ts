/**
 * Help texts break lines only where the terminal's width makes them: at 80
 * and 120 columns, a description line is followed by another line of the
 * same paragraph only when the next word would not have fitted.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { reflow } from '../../src/lib/cli/help.js';
import { ROOT, runCli } from '../helpers/env.js';

const commands = Object.keys((JSON.parse(readFileSync(path.join(ROOT, 'oclif.manifest.json'), 'utf8')) as { commands: Record<string, unknown> }).commands);

describe('help texts', () => {
  it('reflow joins the lines of a paragraph, and keeps blank lines, flags and labels on lines of their own', () => {
    expect(reflow('one two\nthree\n\n--json prints\nit\nExit codes: 0 ok')).toBe('one two three\n\n--json prints it\nExit codes: 0 ok');
  });

  it.each([80, 120])('no odd line breaks in any description at %i columns', async (columns) => {
    for (const id of commands) {
      const r = await runCli([...id.split(':'), '--help'], { env: { OCLIF_COLUMNS: String(columns) } });
      expect(r.code, `${id}: ${r.stderr}`).toBe(0);
      const lines = r.stdout.split('\n');
      const start = lines.indexOf('DESCRIPTION');
      const end = lines.findIndex((l, i) => i > start && /^[A-Z]+$/.test(l));
      const description = lines.slice(start + 1, end === -1 ? undefined : end);
      for (let i = 0; i + 1 < description.length; i += 1) {
        const [a, b] = [description[i]!, description[i + 1]!];
        if (a.trim() === '' || b.trim() === '' || /^(?:--?\w|[A-Z][\w ]{0,30}: )/.test(b.trim())) continue;
        const next = b.trim().split(' ')[0]!;
        expect(a.length + 1 + next.length, `${id} at ${columns}: "${a}" / "${b}"`).toBeGreaterThan(columns);
      }
    }
  });
});
