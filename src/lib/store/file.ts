/**
 * The cache file: the embedded default store, one SQLite database shared
 * safely by many processes (a TLS server writing, `sessctl list` reading).
 *
 * Durability: WAL mode with synchronous=NORMAL. A commit is appended to the
 * -wal file before update() resolves, so an acknowledged insert survives the
 * writer being killed (SIGKILL included: the bytes are in the kernel's page
 * cache); only an OS crash or power loss can lose the last few commits, never
 * corrupt the file (sqlite.org/wal.html, "synchronous"). synchronous=FULL
 * would add an fsync to every insert, milliseconds on the TLS handshake path,
 * to protect a cache whose worst loss is a full handshake.
 */
import { closeSync, mkdirSync, openSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { SessctlError } from '../errors.js';
import { checkedCounterNames } from './memory.js';
import {
  Halt,
  zeroCounters,
  type Counters,
  type Entry,
  type FoldFn,
  type FoldOptions,
  type Role,
  type SessionKey,
  type SessionStore,
  type StoreCapabilities,
} from './types.js';

/** Bumped when the schema changes; kept in PRAGMA user_version. */
export const SCHEMA_VERSION = 1;

/** How long a writer waits for another process's write lock before failing. */
export const BUSY_TIMEOUT_MS = 5000;

/** mmap by default for lookups: 1 GiB of address space, mapped as pages are read. */
export const DEFAULT_MMAP_BYTES = 1024 ** 3;

/** Rows read per page in foldl: constant memory, and no statement left open while the callback runs. */
const FOLD_PAGE = 512;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sessions (
  key         TEXT PRIMARY KEY,
  role        TEXT NOT NULL,
  partial_key TEXT,
  der         BLOB NOT NULL,
  created_at  INTEGER NOT NULL,
  inserted_at INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  protocol    TEXT NOT NULL,
  cipher      TEXT NOT NULL,
  sni         TEXT,
  alpn        TEXT,
  has_ticket  INTEGER NOT NULL,
  size        INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_expires_at ON sessions (expires_at);
CREATE INDEX IF NOT EXISTS sessions_partial_key ON sessions (partial_key) WHERE partial_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS sessions_sni ON sessions (sni) WHERE sni IS NOT NULL;
CREATE TABLE IF NOT EXISTS counters (
  name  TEXT PRIMARY KEY,
  value INTEGER NOT NULL DEFAULT 0
);
INSERT OR IGNORE INTO counters (name) VALUES ('hits'), ('misses'), ('timeouts'), ('cache_full'), ('inserts'), ('removals');
CREATE TABLE IF NOT EXISTS meta (
  name  TEXT PRIMARY KEY,
  value BLOB NOT NULL
);
`;

const OUR_TABLES = new Set(['sessions', 'counters', 'meta']);

const COLUMNS = 'key, role, partial_key, der, created_at, inserted_at, expires_at, protocol, cipher, sni, alpn, has_ticket';

/** What reads select: the entry's columns and the DER's size. */
const SELECTED = `${COLUMNS}, size`;
/** The same without the DER (foldl with withDer false): copying it out is half the cost of a pass. */
const SELECTED_WITHOUT_DER = SELECTED.replace('der,', "X'' AS der,");

/** Where `page` puts the rowid: after the selected columns. */
const ROWID = 13;

const UPSERT_SET = `${COLUMNS}, size`
  .split(', ')
  .filter((c) => c !== 'key')
  .map((c) => `${c} = excluded.${c}`)
  .join(', ');

/** A sessions row as better-sqlite3 returns it in raw mode (arrays: much cheaper than objects). */
type Row = [
  key: string,
  role: Role,
  partialKey: string | null,
  der: Buffer,
  createdAt: number,
  insertedAt: number,
  expiresAt: number,
  protocol: string,
  cipher: string,
  sni: string | null,
  alpn: string | null,
  hasTicket: number,
  size: number,
];

/** A row of `lookup`: the entry's columns without the key, which the caller has. */
type LookupRow = Row extends [unknown, ...infer Rest] ? Rest : never;

function toEntry(row: Row | [...Row, rowid: number]): Entry {
  const [key, role, partialKey, der, createdAt, insertedAt, expiresAt, protocol, cipher, sni, alpn, hasTicket, size] = row;
  return entryOf(key, role, partialKey, der, createdAt, insertedAt, expiresAt, protocol, cipher, sni, alpn, hasTicket, size);
}

function lookupEntry(key: string, row: LookupRow): Entry {
  const [role, partialKey, der, createdAt, insertedAt, expiresAt, protocol, cipher, sni, alpn, hasTicket, size] = row;
  return entryOf(key, role, partialKey, der, createdAt, insertedAt, expiresAt, protocol, cipher, sni, alpn, hasTicket, size);
}

function entryOf(...[key, role, partialKey, der, createdAt, insertedAt, expiresAt, protocol, cipher, sni, alpn, hasTicket, size]: Row): Entry {
  const entry: Entry = { key, role, der, size, createdAt, insertedAt, expiresAt, protocol, cipher, hasTicket: hasTicket !== 0 };
  if (partialKey !== null) entry.partialKey = partialKey;
  if (sni !== null) entry.sni = sni;
  if (alpn !== null) entry.alpn = alpn;
  return entry;
}

function toParams(e: Entry): unknown[] {
  return [
    e.key, e.role, e.partialKey ?? null, e.der, e.createdAt, e.insertedAt, e.expiresAt,
    e.protocol, e.cipher, e.sni ?? null, e.alpn ?? null, e.hasTicket ? 1 : 0, e.der.length,
  ];
}

export interface FileStoreOptions {
  /** The URL to report as `store.url` (default: the path). */
  url?: string;
  /** Create the file (and its directory) when missing; default true. */
  create?: boolean;
  /** Default: a "warning: ..." line on stderr. */
  onWarning?: (message: string) => void;
  /**
   * Read the file through mmap, up to this many bytes (PRAGMA mmap_size; URL
   * `file:PATH?mmap=512M`); default DEFAULT_MMAP_BYTES, 0 turns it off.
   * Measured at 1M sessions (bench/store): 87-101k lookups/s against 65-81k/s
   * without it (docs/BENCHMARKS.md). Passes over the whole store (foldl, pageByKey) read
   * without it, so `stats` or `list` do not map the whole file into memory.
   * The price (sqlite.org/mmap.html): a disk I/O error on a mapped page, or
   * the file truncated by something other than SQLite, is a SIGBUS that ends
   * the process rather than an error. `?mmap=0` for disks that fail that way.
   */
  mmapBytes?: number;
}

const defaultWarning = (message: string): void => {
  process.stderr.write(`warning: ${message}\n`);
};

/** Turn an SQLite or file-system failure into the one line an operator can act on. */
function storeError(file: string, err: unknown, opening = false): SessctlError {
  if (err instanceof SessctlError) return err;
  const code = (err as { code?: string }).code ?? '';
  const message = (err as Error).message ?? String(err);
  let reason: string;
  if (code === 'SQLITE_NOTADB') reason = 'file is not a database';
  else if (code.startsWith('SQLITE_CORRUPT')) reason = `the database is corrupt (${message}); move it away and start a new one`;
  else if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    reason = `the database stayed locked by another process for more than ${BUSY_TIMEOUT_MS / 1000} s`;
  } else if (code === 'SQLITE_FULL') reason = 'the disk is full';
  else if (code.startsWith('SQLITE_READONLY')) reason = 'the file (or its directory) is read-only';
  else if (code.startsWith('SQLITE_CANTOPEN')) reason = 'unable to open the database file (check that it and its directory exist and are readable and writable)';
  else if (code === 'EACCES' || code === 'EPERM') reason = 'permission denied';
  else if (code === 'ENOENT') reason = 'no such file';
  else reason = message;
  const prefix = opening ? `cannot open session cache ${file}` : `session cache ${file}`;
  return new SessctlError(`${prefix}: ${reason}`, { cause: err });
}

interface Statements {
  lookup: BetterSqlite3.Statement<[string], LookupRow>;
  upsert: BetterSqlite3.Statement<unknown[]>;
  remove: BetterSqlite3.Statement<[string]>;
  page: BetterSqlite3.Statement<[number, number], [...Row, rowid: number]>;
  pageWithoutDer: BetterSqlite3.Statement<[number, number], [...Row, rowid: number]>;
  pageByKey: BetterSqlite3.Statement<[string, number], Row>;
  select: BetterSqlite3.Statement<[string], Row>;
  count: BetterSqlite3.Statement<[], number>;
  counters: BetterSqlite3.Statement<[], { name: string; value: number }>;
  addCounter: BetterSqlite3.Statement<[number, string]>;
  readMeta: BetterSqlite3.Statement<[string], Buffer>;
  writeMeta: BetterSqlite3.Statement<[string, Buffer]>;
}

/** The cache file store (`file:PATH` or a plain path). Open it with `FileStore.open`. */
export class FileStore implements SessionStore {
  readonly kind = 'file';
  readonly capabilities: StoreCapabilities = { persistent: true, sharedCounters: true, keyRing: true };

  readonly #db: BetterSqlite3.Database;
  readonly #mmapBytes: number;
  readonly #st: Statements;
  readonly #insertTx: (entries: Iterable<Entry>) => number;
  readonly #deleteTx: (key: string) => boolean;
  readonly #addCountersTx: (delta: [string, number][]) => void;

  private constructor(readonly url: string, readonly file: string, db: BetterSqlite3.Database, mmapBytes: number) {
    this.#db = db;
    this.#mmapBytes = mmapBytes;
    db.pragma(`mmap_size = ${mmapBytes}`);
    const p = <T>(sql: string): T => db.prepare(sql) as T;
    const raw = <T>(sql: string): T => db.prepare(sql).raw() as T;
    this.#st = {
      // Without the key column: the caller has it, and decoding a 64-character string per lookup costs about 15%.
      lookup: raw(`SELECT ${SELECTED.replace('key, ', '')} FROM sessions WHERE key = ?`),
      // An upsert, not INSERT OR REPLACE: replacing keeps the row's rowid, which foldl pages by.
      upsert: p(`INSERT INTO sessions (${COLUMNS}, size) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET ${UPSERT_SET}`),
      remove: p('DELETE FROM sessions WHERE key = ?'),
      // The rowid last, so the row's first columns are an entry's.
      page: raw(`SELECT ${SELECTED}, rowid FROM sessions WHERE rowid > ? ORDER BY rowid LIMIT ?`),
      pageWithoutDer: raw(`SELECT ${SELECTED_WITHOUT_DER}, rowid FROM sessions WHERE rowid > ? ORDER BY rowid LIMIT ?`),
      pageByKey: raw(`SELECT ${SELECTED} FROM sessions WHERE key > ? ORDER BY key LIMIT ?`),
      select: raw(`SELECT ${SELECTED} FROM sessions WHERE partial_key = ? ORDER BY created_at DESC, inserted_at DESC`),
      count: p<BetterSqlite3.Statement<[], number>>('SELECT count(*) FROM sessions').pluck(),
      counters: p('SELECT name, value FROM counters'),
      addCounter: p('UPDATE counters SET value = value + ? WHERE name = ?'),
      readMeta: p<BetterSqlite3.Statement<[string], Buffer>>('SELECT value FROM meta WHERE name = ?').pluck(),
      writeMeta: p('INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)'),
    };
    const st = this.#st;
    // IMMEDIATE: take the write lock up front, so the busy timeout applies and
    // two writers never deadlock upgrading read locks.
    this.#insertTx = db.transaction((entries: Iterable<Entry>) => {
      let n = 0;
      for (const entry of entries) {
        st.upsert.run(...toParams(entry));
        n += 1;
      }
      if (n > 0) st.addCounter.run(n, 'inserts');
      return n;
    }).immediate;
    this.#deleteTx = db.transaction((key: string) => {
      const removed = st.remove.run(key).changes > 0;
      if (removed) st.addCounter.run(1, 'removals');
      return removed;
    }).immediate;
    this.#addCountersTx = db.transaction((delta: [string, number][]) => {
      for (const [name, value] of delta) st.addCounter.run(value, name);
    }).immediate;
  }

  /**
   * Open (by default create) the cache file at `file`. A new file and its
   * directory are private (0600 / 0700); an existing file that others can
   * read is used, with a warning, as ssh does for keys.
   */
  static async open(file: string, options: FileStoreOptions = {}): Promise<FileStore> {
    const onWarning = options.onWarning ?? defaultWarning;
    const create = options.create ?? true;
    const existing = statOrUndefined(file);
    if (existing?.isDirectory()) throw new SessctlError(`cannot open session cache ${file}: it is a directory`);
    if (existing === undefined) {
      if (!create) throw new SessctlError(`cannot open session cache ${file}: no such file`);
      try {
        mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
        // Create the file ourselves so it is 0600 from its first byte; SQLite
        // then gives -wal and -shm the database file's mode (os_unix.c, findCreateFileMode).
        closeSync(openSync(file, 'wx', 0o600));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw storeError(file, err, true);
      }
    }

    let Database: typeof BetterSqlite3;
    try {
      Database = (await import('better-sqlite3')).default;
    } catch (err) {
      throw new SessctlError(`cannot open session cache ${file}: the SQLite driver (better-sqlite3) failed to load: ${(err as Error).message}`, { cause: err });
    }
    let db: BetterSqlite3.Database | undefined;
    let store: FileStore;
    try {
      db = new Database(file, { fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
      prepareDatabase(db, file);
      store = new FileStore(options.url ?? file, file, db, Math.max(0, Math.floor(options.mmapBytes ?? DEFAULT_MMAP_BYTES)));
    } catch (err) {
      db?.close();
      throw storeError(file, err, true);
    }
    // Warn only once the file is known to be a session cache (not about some other file).
    if (existing !== undefined && (existing.mode & 0o077) !== 0) {
      const mode = (existing.mode & 0o777).toString(8).padStart(4, '0');
      const what = (existing.mode & 0o044) !== 0 ? 'readable' : 'writable';
      onWarning(`${file} is ${what} by others (mode ${mode}): chmod 600 ${file}`);
    }
    return store;
  }

  async lookup(key: SessionKey): Promise<Entry | undefined> {
    // Not through #run: a closure per lookup shows at 100k lookups/s.
    if (!this.#db.open) throw this.#closed();
    let row: LookupRow | undefined;
    try {
      row = this.#st.lookup.get(key);
    } catch (err) {
      throw storeError(this.file, err);
    }
    return row && lookupEntry(key, row);
  }

  async update(entry: Entry): Promise<void> {
    this.#run(() => this.#insertTx([entry]));
  }

  /**
   * Insert or replace many entries in one transaction (one lock, one commit):
   * what `insert` of many files and bulk loads want. Returns how many.
   */
  async updateMany(entries: Iterable<Entry>): Promise<number> {
    return this.#run(() => this.#insertTx(entries));
  }

  async delete(key: SessionKey): Promise<boolean> {
    return this.#run(() => this.#deleteTx(key));
  }

  async foldl<A>(fn: FoldFn<A>, acc0: A, options: FoldOptions = {}): Promise<A> {
    // better-sqlite3 cannot write on a connection while a statement is being
    // iterated, and the callback may delete (flush does): so read a page at a
    // time and run the callbacks between pages. Pages follow the rowid (keyset
    // pagination on the table's own B-tree: sequential reads, no index hops);
    // update() keeps a replaced row's rowid, so no entry is visited twice.
    let acc = acc0;
    let after = Number.MIN_SAFE_INTEGER;
    const page = options.withDer === false ? this.#st.pageWithoutDer : this.#st.page;
    for (;;) {
      const from = after;
      const rows = this.#scan(() => page.all(from, FOLD_PAGE));
      for (const row of rows) {
        let next = fn(toEntry(row), acc);
        // Await only real promises: a microtask per entry adds up over a million.
        if (isThenable(next)) next = await next;
        if (next instanceof Halt) return next.acc;
        acc = next;
      }
      if (rows.length < FOLD_PAGE) return acc;
      after = rows[rows.length - 1]![ROWID];
    }
  }

  async pageByKey(after: SessionKey | undefined, limit: number): Promise<Entry[]> {
    // '' sorts before every hex key: the first page.
    return this.#scan(() => this.#st.pageByKey.all(after ?? '', limit)).map(toEntry);
  }

  async selectSession(partialKey: string): Promise<Entry[]> {
    return this.#run(() => this.#st.select.all(partialKey)).map(toEntry);
  }

  async size(): Promise<number> {
    return this.#run(() => this.#st.count.get() ?? 0);
  }

  async counters(): Promise<Counters> {
    const counters = zeroCounters();
    for (const { name, value } of this.#run(() => this.#st.counters.all())) {
      if (name in counters) counters[name as keyof Counters] = value;
    }
    return counters;
  }

  async addCounters(delta: Partial<Counters>): Promise<void> {
    const changes = checkedCounterNames(delta)
      .map((name): [string, number] => [name, delta[name] ?? 0])
      .filter(([, value]) => value !== 0);
    if (changes.length > 0) this.#run(() => this.#addCountersTx(changes));
  }

  async readKeyRing(): Promise<Buffer | undefined> {
    return this.#run(() => this.#st.readMeta.get('key_ring'));
  }

  async writeKeyRing(data: Buffer): Promise<void> {
    this.#run(() => this.#st.writeMeta.run('key_ring', data));
  }

  async terminate(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }

  #run<T>(work: () => T): T {
    if (!this.#db.open) throw this.#closed();
    try {
      return work();
    } catch (err) {
      throw storeError(this.file, err);
    }
  }

  /**
   * Run a read that is part of a pass over the whole store without mmap:
   * mapped, every page of the file would stay in this process's memory.
   * (Setting mmap_size unmaps at once; lookups map their pages again.)
   */
  #scan<T>(work: () => T): T {
    if (this.#mmapBytes === 0) return this.#run(work);
    return this.#run(() => {
      this.#db.pragma('mmap_size = 0');
      try {
        return work();
      } finally {
        this.#db.pragma(`mmap_size = ${this.#mmapBytes}`);
      }
    });
  }

  #closed(): SessctlError {
    return new SessctlError(`the session store ${this.url} has been closed`);
  }
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function statOrUndefined(file: string): Stats | undefined {
  try {
    return statSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw storeError(file, err, true);
  }
}

/** Check the file is ours (or empty), then pragmas, then the schema: created on first use. */
function prepareDatabase(db: BetterSqlite3.Database, file: string): void {
  // The first query fails with SQLITE_NOTADB on a file that is not SQLite.
  // Nothing is written before the file is known to be ours or empty.
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new SessctlError(`cannot open session cache ${file}: it was written by a newer sessctl (schema ${version}, this one knows ${SCHEMA_VERSION})`);
  }
  const refuseForeign = (): void => {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
    const foreign = tables.filter((t) => !OUR_TABLES.has(t));
    if (foreign.length > 0) {
      throw new SessctlError(`cannot open session cache ${file}: it is an SQLite database of something else (tables: ${foreign.slice(0, 5).join(', ')})`);
    }
  };
  if (version === 0) refuseForeign();
  if (db.pragma('journal_mode', { simple: true }) !== 'wal') db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  if (version === SCHEMA_VERSION) return;
  db.transaction(() => {
    // Re-read under the write lock: another process may have just created it.
    if (db.pragma('user_version', { simple: true }) === SCHEMA_VERSION) return;
    refuseForeign();
    db.exec(SCHEMA);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
