/**
 * Bash completion of flag values (`sessctl list --sort <TAB>`), which
 * @oclif/plugin-autocomplete's bash script does not do (it completes commands
 * and flag names only; lib/autocomplete/bash-spaces.js). A postrun hook
 * (package.json oclif.hooks) adds a case over "command --flag" to the script
 * the plugin has just written: the flag's `options`, or the spellings below
 * for flags that take more than a fixed list.
 */
// Synchronous reads and writes: this hook's module loads after every command,
// and node:fs/promises would load readline and fs.watch with it (about 3 ms,
// docs/BENCHMARKS.md, bench/startup); the script is a few KB.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Hook } from '@oclif/core';

/** Values offered for flags whose accepted values are not a fixed list (normaliseProtocol takes more). */
const SUGGESTED: Record<string, string[]> = {
  protocol: ['TLSv1.3', 'TLSv1.2', 'TLSv1.1', 'TLSv1', 'DTLSv1.2'],
};

interface CommandFlags {
  id: string;
  flags: Record<string, { type?: string; options?: readonly string[] | undefined; hidden?: boolean | undefined }>;
}

/** The bash lines: a `case` on "COMMAND --FLAG" that completes the value and returns. */
export function bashValueCase(commands: CommandFlags[]): string {
  const arms: string[] = [];
  for (const command of commands) {
    for (const [name, flag] of Object.entries(command.flags)) {
      if (flag.hidden || flag.type !== 'option') continue;
      const values = flag.options ?? SUGGESTED[name];
      if (values === undefined || values.length === 0) continue;
      const words = values.map((v) => v.replace(/[^\w.:/-]/g, '')).join(' ');
      arms.push(`    "${command.id.replace(/:/g, ' ')} --${name}") COMPREPLY=( $(compgen -W "${words}" -- "$cur") ); return 0 ;;`);
    }
  }
  if (arms.length === 0) return '';
  return [
    '  # sessctl: values of flags that take one of a few (src/lib/cli/completion-values.ts)',
    '  case "${COMP_WORDS[1]} ${COMP_WORDS[COMP_CWORD-1]}" in',
    ...arms,
    '  esac',
    '',
  ].join('\n');
}

/** Add the case to the bash script at `file`, once. */
export async function addValueCompletion(file: string, commands: CommandFlags[]): Promise<void> {
  const script = readFileSync(file, 'utf8');
  const marker = '  # sessctl: values of flags';
  if (script.includes(marker)) return;
  const anchor = '  COMPREPLY=()\n';
  const at = script.indexOf(anchor);
  if (at === -1) return;
  writeFileSync(file, `${script.slice(0, at + anchor.length)}\n${bashValueCase(commands)}${script.slice(at + anchor.length)}`);
}

/**
 * After `sessctl autocomplete [bash|--refresh-cache]`, which writes the script
 * (it runs its create command directly, so this hook sees "autocomplete"):
 * complete flag values too.
 */
const hook: Hook<'postrun'> = async function (options) {
  if (options.Command.id !== 'autocomplete' && options.Command.id !== 'autocomplete:create') return;
  const file = path.join(options.config.cacheDir, 'autocomplete', 'functions', 'bash', `${options.config.bin}.bash`);
  const commands = options.config.commands.map((c) => ({ id: c.id, flags: c.flags as CommandFlags['flags'] }));
  await addValueCompletion(file, commands).catch(() => undefined);
};

export default hook;
