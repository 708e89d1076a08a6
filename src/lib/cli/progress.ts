/**
 * "flushing… 120000 sessions" on stderr, redrawn in place, only when stderr is
 * a terminal (never in pipes, cron mail or --json consumers).
 */
export function progress(label: string, stream: NodeJS.WriteStream = process.stderr): { update: (n: number) => void; done: () => void } {
  if (!stream.isTTY) return { update: () => {}, done: () => {} };
  let shown = false;
  return {
    update: (n: number) => {
      shown = true;
      stream.write(`\r${label}… ${n} sessions`);
    },
    done: () => {
      if (shown) stream.write('\r\x1b[K');
    },
  };
}
