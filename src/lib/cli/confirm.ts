import { SessctlError, EXIT } from '../errors.js';

/**
 * Ask before a destructive operation on more than one session: on a TTY, an
 * inquirer prompt (default no); otherwise `--yes` is required.
 * Returns false when the person said no.
 */
export async function confirmDestructive(question: string, options: { yes: boolean; count: number }): Promise<boolean> {
  if (options.yes || options.count <= 1) return true;
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    throw new SessctlError(`${question.replace(/\?$/, '')}: refusing without --yes when not on a terminal`, { exit: EXIT.USAGE });
  }
  const { confirm } = await import('@inquirer/prompts');
  try {
    return await confirm({ message: question, default: false });
  } catch (err) {
    // Ctrl-C at the prompt: nothing was done.
    if ((err as Error).name === 'ExitPromptError') return false;
    throw err;
  }
}
