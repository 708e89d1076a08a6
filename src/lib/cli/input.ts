// Synchronous reads: a session file is a few KB, and node:fs/promises loads
// readline and fs.watch with it, for every command (base.ts imports this
// module): about 3 ms of start-up (docs/BENCHMARKS.md, bench/startup).
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { SessctlError } from '../errors.js';

/** How "-" (standard input) reaches commands: BaseCommand.init maps it to this (oclif mistakes a lone "-" for a flag). */
export const STDIN_ARG = '/dev/stdin';

/** Session files are a few KB; anything past this is not one (and is not read whole). */
export const MAX_INPUT_BYTES = 16 * 1024 * 1024;

/** How an input is named in messages: the file name, or "standard input". */
export function inputName(file: string): string {
  return file === '-' || file === STDIN_ARG ? 'standard input' : file;
}

/** Read a file named on the command line, or standard input for "-". One-line errors. */
export async function readInput(file: string): Promise<Buffer> {
  if (file === '-' || file === STDIN_ARG) {
    if (process.stdin.isTTY) throw new SessctlError('reading a session from standard input, but it is a terminal: pipe a file in, or name one');
    return readCapped(process.stdin, 'standard input');
  }
  try {
    const info = statSync(file);
    if (info.isDirectory()) throw new SessctlError(`cannot read ${file}: it is a directory`);
    if (info.size > MAX_INPUT_BYTES) throw new SessctlError(`${file} is ${info.size} bytes: too large to be a session file`);
    // Pipes (<(openssl ...)), devices and the like have no size: read them with a cap (/dev/zero never ends).
    return info.isFile() ? readFileSync(file) : await readCapped(createReadStream(file), file);
  } catch (err) {
    if (err instanceof SessctlError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (code ?? (err as Error).message);
    throw new SessctlError(`cannot read ${file}: ${why}`);
  }
}

async function readCapped(stream: NodeJS.ReadableStream, name: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > MAX_INPUT_BYTES) {
      (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
      throw new SessctlError(`${name} is more than ${MAX_INPUT_BYTES} bytes: too large to be a session file`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
