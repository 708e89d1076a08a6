/**
 * The help class (package.json oclif.helpClass): oclif's, with each
 * command's description reflowed first. The descriptions are written with
 * line breaks at about 130 columns; oclif keeps those and wraps again at the
 * terminal's width, which broke lines in odd places on narrower terminals.
 * Here a paragraph becomes one line for oclif to wrap; a blank line, a line
 * starting with a flag (--json ...) or a label ("Exit codes: ...") still
 * starts a new line.
 */
import { createRequire } from 'node:module';
import type { Command } from '@oclif/core';

const { Help } = createRequire(import.meta.url)('@oclif/core/help') as typeof import('@oclif/core/help');

/** Lines that start a new line of their own: a flag, or a short label and a colon. */
const OWN_LINE = /^(?:--?\w|[A-Z][\w ]{0,30}: )/;

export function reflow(text: string): string {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    const last = out.length - 1;
    if (trimmed === '' || last < 0 || out[last] === '' || OWN_LINE.test(trimmed)) out.push(trimmed);
    else out[last] = `${out[last]} ${trimmed}`;
  }
  return out.join('\n');
}

export default class SessctlHelp extends Help {
  protected formatCommand(command: Command.Loadable): string {
    return super.formatCommand(command.description === undefined ? command : { ...command, description: reflow(command.description) });
  }
}
