import { Chalk, type ChalkInstance } from 'chalk';

/** Colour only on a TTY and never under NO_COLOR (https://no-color.org). */
export function useColour(stream: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return Boolean(stream.isTTY);
}

let cached: ChalkInstance | undefined;

export function colours(): ChalkInstance {
  cached ??= new Chalk({ level: useColour() ? 1 : 0 });
  return cached;
}
