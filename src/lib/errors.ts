/**
 * Exit codes of every sessctl command (documented in the README and in `--help`).
 */
export const EXIT = {
  OK: 0,
  ERROR: 1,
  USAGE: 2,
  NOT_FOUND: 3,
} as const;

export type ExitCode = number;

/**
 * The one error type for failures the user can fix: bad input, an unreachable
 * store, a wrong token, a missing session. Commands print `message` as one line
 * on stderr and exit with `exit`; anything else escaping a command is a bug.
 */
export class SessctlError extends Error {
  readonly exit: ExitCode;
  readonly suggestions: string[];

  constructor(message: string, options: { exit?: ExitCode; suggestions?: string[]; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SessctlError';
    this.exit = options.exit ?? EXIT.ERROR;
    this.suggestions = options.suggestions ?? [];
  }
}

/** A session (or other named thing) that is not there: exit code 3. */
export class NotFoundError extends SessctlError {
  constructor(message: string) {
    super(message, { exit: EXIT.NOT_FOUND });
    this.name = 'NotFoundError';
  }
}

/** Input that is not what it should be (a corrupt session file, a bad id): exit code 1. */
export function invalidInput(message: string, cause?: unknown): SessctlError {
  return new SessctlError(message, { exit: EXIT.ERROR, cause });
}

/** Flags or arguments that do not fit together: exit code 2. */
export function usageError(message: string): SessctlError {
  return new SessctlError(message, { exit: EXIT.USAGE });
}
