import { Writable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { ChunkedWriter } from '../../src/lib/cli/output.js';

describe('ChunkedWriter', () => {
  test('waiting on a full stream many times leaves no listeners behind (list --json into a pipe warned of a leak)', async () => {
    const written: string[] = [];
    // A stream that is always full: every chunk waits for drain.
    const stream = new Writable({
      highWaterMark: 1,
      write(chunk: Buffer, _encoding, done) {
        written.push(chunk.toString());
        setImmediate(done);
      },
    });
    const baseline = { drain: stream.listenerCount('drain'), error: stream.listenerCount('error') };
    const out = new ChunkedWriter(stream, 16);
    for (let i = 0; i < 50; i++) await out.push(`${'x'.repeat(15)}${i}\n`);
    await out.flush();
    expect(written.join('').split('\n').filter(Boolean)).toHaveLength(50);
    expect(stream.listenerCount('drain')).toBe(baseline.drain);
    expect(stream.listenerCount('error')).toBe(baseline.error);
  });

  test('a stream that fails rejects the wait', async () => {
    const stream = new Writable({
      highWaterMark: 1,
      write(_chunk, _encoding, done) {
        setImmediate(() => done(new Error('EIO')));
      },
    });
    const out = new ChunkedWriter(stream, 1);
    await expect(out.push('ab')).rejects.toThrow('EIO');
  });
});
