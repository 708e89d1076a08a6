import { SessctlError } from '../errors.js';
import {
  Halt,
  checkedCounterNames,
  zeroCounters,
  type Counters,
  type Entry,
  type FoldFn,
  type SessionKey,
  type SessionStore,
  type StoreCapabilities,
} from './types.js';
import { sameRing } from './keyring.js';

/** Defensive copy: callers may reuse or scribble on the Buffer they handed us. */
function copyEntry(entry: Entry): Entry {
  return { ...entry, der: Buffer.from(entry.der) };
}

/**
 * The `memory:` store: a Map in this process, for tests and library users.
 * Nothing is shared or persisted; counters live and die with the instance.
 */
export class MemoryStore implements SessionStore {
  readonly kind = 'memory';
  readonly capabilities: StoreCapabilities = { persistent: false, sharedCounters: false, keyRing: true };

  readonly #entries = new Map<SessionKey, Entry>();
  readonly #counters: Counters = zeroCounters();
  #keyRing: Buffer | undefined;
  #open = true;

  constructor(readonly url = 'memory:') {}

  async lookup(key: SessionKey): Promise<Entry | undefined> {
    this.#check();
    const entry = this.#entries.get(key);
    return entry && copyEntry(entry);
  }

  async update(entry: Entry): Promise<void> {
    this.#check();
    this.#entries.set(entry.key, copyEntry(entry));
    this.#counters.inserts += 1;
  }

  async delete(key: SessionKey): Promise<boolean> {
    this.#check();
    const removed = this.#entries.delete(key);
    if (removed) this.#counters.removals += 1;
    return removed;
  }

  async foldl<A>(fn: FoldFn<A>, acc0: A): Promise<A> {
    this.#check();
    let acc = acc0;
    // A Map iterator tolerates deletes during iteration (deleted entries are
    // skipped, replaced ones keep their place), so no snapshot is needed.
    for (const entry of this.#entries.values()) {
      const next = await fn(copyEntry(entry), acc);
      if (next instanceof Halt) return next.acc;
      acc = next;
    }
    return acc;
  }

  async selectSession(partialKey: string): Promise<Entry[]> {
    this.#check();
    const found: Entry[] = [];
    for (const entry of this.#entries.values()) {
      if (entry.partialKey === partialKey) found.push(copyEntry(entry));
    }
    return found.sort((a, b) => b.createdAt - a.createdAt || b.insertedAt - a.insertedAt);
  }

  async size(): Promise<number> {
    this.#check();
    return this.#entries.size;
  }

  async counters(): Promise<Counters> {
    this.#check();
    return { ...this.#counters };
  }

  async addCounters(delta: Partial<Counters>): Promise<void> {
    this.#check();
    for (const name of checkedCounterNames(delta)) this.#counters[name] += delta[name] ?? 0;
  }

  async readKeyRing(): Promise<Buffer | undefined> {
    this.#check();
    return this.#keyRing && Buffer.from(this.#keyRing);
  }

  async writeKeyRing(data: Buffer, expected?: Buffer | null): Promise<boolean> {
    this.#check();
    if (expected !== undefined && !sameRing(this.#keyRing, expected)) return false;
    this.#keyRing = Buffer.from(data);
    return true;
  }

  async terminate(): Promise<void> {
    this.#open = false;
    this.#entries.clear();
  }

  #check(): void {
    if (!this.#open) throw new SessctlError(`the session store ${this.url} has been closed`);
  }
}
