/**
 * Output that streams: text is gathered into chunks of about 64 KiB and
 * written with back-pressure, so a million rows neither sit in memory nor cost
 * a write (and an await) each.
 */
export class ChunkedWriter {
  #parts: string[] = [];
  #size = 0;

  constructor(
    private readonly stream: NodeJS.WritableStream = process.stdout,
    private readonly chunkBytes = 64 * 1024,
  ) {}

  /** Add text; a promise (to await) only when a chunk went out and the stream is full. */
  push(text: string): Promise<void> | undefined {
    this.#parts.push(text);
    this.#size += text.length;
    return this.#size >= this.chunkBytes ? this.flush() : undefined;
  }

  /** Write what is gathered; resolves once the stream can take more. */
  flush(): Promise<void> | undefined {
    if (this.#parts.length === 0) return undefined;
    const text = this.#parts.join('');
    this.#parts = [];
    this.#size = 0;
    if (this.stream.write(text)) return undefined;
    // Both listeners go once either fires: a long listing waits on drain thousands of times.
    return new Promise((resolve, reject) => {
      const settle = (err?: Error) => {
        this.stream.off('drain', settle);
        this.stream.off('error', settle);
        if (err === undefined) resolve();
        else reject(err);
      };
      this.stream.on('drain', settle);
      this.stream.on('error', settle);
    });
  }
}
