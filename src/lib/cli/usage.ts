/**
 * Usage errors as sessctl prints them: what is wrong on one line, what to
 * type on a second ("hint: ..."), exit 2. oclif's parse errors carry their
 * facts (the missing args, the unknown flags) as properties and the rest as a
 * multi-line message ending in "See more help with --help"; this turns both
 * into those two lines.
 */
import { EXIT } from '../errors.js';

export interface Usage {
  message: string;
  hints: string[];
  exit: number;
}

/** What a usage error needs to know about the command it came from. */
export interface CommandShape {
  /** "list", "rotate-keys". */
  id: string;
  args: Record<string, { description?: string | undefined; required?: boolean | undefined }>;
  flags: Record<string, { char?: string | undefined; type?: string }>;
  /** Takes any number of the last argument (oclif's strict = false). */
  variadic?: boolean;
}

/** The oclif parse error fields read here (@oclif/core lib/parser/errors.js). */
interface ParseErrorLike extends Error {
  oclif?: { exit?: number };
  args?: { name?: string; description?: string }[];
  flags?: string[];
}

const ANSI = /\u001b\[[0-9;]*m/g;

/** `sessctl list [ID]...`: the command line a user types, from its arguments. */
export function usageLine(command: CommandShape): string {
  const args = Object.entries(command.args).map(([name, a], i, all) => {
    const word = name.toUpperCase() + (command.variadic && i === all.length - 1 ? '...' : '');
    return a.required ? word : `[${word}]`;
  });
  return ['sessctl', command.id, ...args, '[FLAGS]'].join(' ');
}

function helpHint(command: CommandShape): string {
  return `usage: ${usageLine(command)} (sessctl ${command.id} --help for more)`;
}

/** Edit distance with adjacent swaps counted once (optimal string alignment): "wdie" is one edit from "wide". */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i += 1) {
    for (let j = 1; j <= b.length; j += 1) {
      const row = d[i]!;
      row[j] = Math.min(d[i - 1]![j]! + 1, row[j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** The candidate closest to `word`, when it is close enough to be a typo (as git's help.autocorrect judges: a third of the word). */
export function closest(word: string, candidates: string[]): string | undefined {
  let best: { name: string; d: number } | undefined;
  for (const name of candidates) {
    const d = name.startsWith(word) && word.length >= 2 ? 1 : editDistance(word, name);
    if (best === undefined || d < best.d) best = { name, d };
  }
  return best !== undefined && best.d <= Math.max(1, Math.floor(best.name.length / 3)) ? best.name : undefined;
}

/** "--live cannot also be provided when using --expired" and friends: oclif's reasons, one per line after the first. */
function reasons(message: string): string[] {
  return message
    .replace(ANSI, '')
    .split('\n')
    .slice(1)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^See more help with --help$/.test(l));
}

/** A reason in sessctl's words where oclif's reads oddly. */
function reword(reason: string): string {
  const exclusive = /^(--[\w-]+)(?:=\S*)? cannot also be provided when using (--[\w-]+)$/.exec(reason);
  // Named in a fixed order: oclif reports the pair once from each side.
  if (exclusive) return `${[exclusive[1], exclusive[2]].sort().join(' and ')} cannot be used together`;
  const option = /^Expected (--[\w-]+)=(.*) to be one of: (.*)$/.exec(reason);
  if (option) return `${option[1]}: "${option[2]}" is not one of ${option[3]}`;
  const integer = /^Expected an integer(?: (greater|less) than or equal to (-?\d+))? but received: (.*)$/.exec(reason);
  if (integer) return integer[1] === undefined ? `"${integer[3]}" is not a whole number` : `"${integer[3]}" is ${integer[1] === 'greater' ? 'below' : 'above'} ${integer[2]}`;
  return reason.replace(/^Expected /, 'expected ');
}

/** An oclif parse error (exit 2 from the parser) as one line and a hint; undefined when it is not one. */
export function describeParseError(err: ParseErrorLike, command: CommandShape): Usage | undefined {
  if (err.oclif?.exit === undefined) return undefined;
  const first = (err.message.replace(ANSI, '').split('\n')[0] ?? '').trim();
  const exit = err.oclif.exit === 2 ? EXIT.USAGE : err.oclif.exit;
  const flagNames = Object.keys(command.flags);

  if (Array.isArray(err.flags) && /^Nonexistent flag/.test(first)) {
    const unknown = err.flags;
    const typo = unknown.length === 1 ? closest(unknown[0]!.replace(/^-+/, ''), flagNames) : undefined;
    return {
      message: `${command.id}: unknown flag${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')}${typo === undefined ? '' : `; did you mean --${typo}?`}`,
      hints: [helpHint(command)],
      exit,
    };
  }
  if (Array.isArray(err.args) && /^Missing \d+ required arg/.test(first)) {
    const missing = err.args.map((a) => `${(a.name ?? 'ARG').toUpperCase()}${a.description ? ` (${a.description})` : ''}`);
    return { message: `${command.id}: missing ${missing.join(', ')}`, hints: [helpHint(command)], exit };
  }
  if (Array.isArray(err.args) && /^Unexpected argument/.test(first)) {
    const extra = (err.args as unknown as string[]).map((a) => `"${a}"`).join(', ');
    return { message: `${command.id}: unexpected argument${err.args.length === 1 ? '' : 's'} ${extra}`, hints: [helpHint(command)], exit };
  }
  const parsing = /^Parsing (--[\w-]+)/.exec(first);
  if (parsing) {
    const why = reasons(err.message)[0] ?? 'not a valid value';
    return { message: `${parsing[1]}: ${reword(why)}`, hints: [helpHint(command)], exit };
  }
  if (/^The following errors? occurred/.test(first)) {
    return { message: [...new Set(reasons(err.message).map(reword))].join('; ') || first, hints: [helpHint(command)], exit };
  }
  return { message: reword(first), hints: [helpHint(command)], exit };
}

/**
 * `sessctl lst`: a word that is no command. `id` is oclif's (topic
 * separator ":"), so `sessctl list extra` arrives as "list:extra".
 */
export function describeUnknownCommand(id: string, commands: string[]): Usage {
  const words = id.split(':');
  const head = words[0] ?? id;
  if (commands.includes(head)) {
    return {
      message: `${head}: unexpected argument${words.length > 2 ? 's' : ''} ${words.slice(1).map((w) => `"${w}"`).join(', ')}`,
      hints: [`sessctl ${head} --help shows what it takes`],
      exit: EXIT.USAGE,
    };
  }
  const typo = closest(head, commands);
  return {
    message: `"${words.join(' ')}" is not a sessctl command${typo === undefined ? '' : `; did you mean ${typo}?`}`,
    hints: [`sessctl --help lists the commands`],
    exit: EXIT.USAGE,
  };
}

/** The lines on stderr. */
export function usageText(u: Usage): string {
  return [`sessctl: ${u.message}`, ...u.hints.map((h) => `  hint: ${h}`)].join('\n') + '\n';
}
