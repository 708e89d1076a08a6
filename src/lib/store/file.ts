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
import { accessSync, closeSync, constants as fsConstants, mkdirSync, openSync, statSync, statfsSync, type Stats } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type BetterSqlite3 from 'better-sqlite3';
import { SessctlError } from '../errors.js';
import {
  Halt,
  zeroCounters,
  checkedCounterNames,
  type Counters,
  type Entry,
  type FoldFn,
  type FoldOptions,
  type Role,
  type SessionKey,
  type SessionStore,
  type StoreCapabilities,
  type StoreSpace,
} from './types.js';
import { sameRing } from './keyring.js';

/**
 * Bumped when the schema changes; kept in PRAGMA user_version.
 * 1: sessions keyed by `key` (rowid table plus the key's index).
 * 2: rows placed at a slot computed from the key (see slotOf): a lookup is
 *    one descent of the table's B-tree instead of the key index and then the
 *    table. Files of schema 1 are migrated when opened.
 */
export const SCHEMA_VERSION = 2;

/** How long a writer waits for another process's write lock before failing. */
export const BUSY_TIMEOUT_MS = 5000;

/** mmap by default for lookups: 1 GiB of address space, mapped as pages are read. */
export const DEFAULT_MMAP_BYTES = 1024 ** 3;

/** Rows read per page in foldl: constant memory, and no statement left open while the callback runs. */
const FOLD_PAGE = 512;

/**
 * The sessions table. A row lives at `slot = slotOf(key)` (the rowid), so a
 * lookup reads that one row and checks its key. Two keys with the same slot
 * (rare: 53-bit hashes) cannot both live there: the later one takes any free
 * rowid and records its slot in `home`. Invariant: a row is either at its
 * slot (home NULL) or elsewhere with `home` set while another row holds
 * its slot; deleting a row pulls a row waiting for that rowid into it. So an
 * empty slot is a definite miss, and only a slot held by another key sends
 * a lookup to the key index.
 */
function sessionsTable(name: string): string {
  return `
CREATE TABLE IF NOT EXISTS ${name} (
  slot        INTEGER PRIMARY KEY,
  key         TEXT NOT NULL UNIQUE,
  home        INTEGER,
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
);`;
}

const SCHEMA = `${sessionsTable('sessions')}
CREATE INDEX IF NOT EXISTS sessions_home ON sessions (home) WHERE home IS NOT NULL;
CREATE INDEX IF NOT EXISTS sessions_expires_at ON sessions (expires_at);
CREATE INDEX IF NOT EXISTS sessions_partial_key ON sessions (partial_key) WHERE partial_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS sessions_sni ON sessions (sni) WHERE sni IS NOT NULL;
CREATE TABLE IF NOT EXISTS counters (
  name  TEXT PRIMARY KEY,
  value INTEGER NOT NULL DEFAULT 0
);
INSERT OR IGNORE INTO counters (name) VALUES ('hits'), ('misses'), ('timeouts'), ('cache_full'), ('inserts'), ('removals'), ('admin_inserts'), ('admin_removals');
CREATE TABLE IF NOT EXISTS meta (
  name  TEXT PRIMARY KEY,
  value BLOB NOT NULL
);
`;

/**
 * A key's slot: a 53-bit hash (two 32-bit FNV-1a passes), a safe integer so
 * no BigInt is needed. The same in every process and version: it is stored.
 */
export function slotOf(key: string): number {
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  return (a >>> 0) + (b & 0x1fffff) * 0x100000000;
}

const OUR_TABLES = new Set(['sessions', 'counters', 'meta']);

const COLUMNS = 'key, role, partial_key, der, created_at, inserted_at, expires_at, protocol, cipher, sni, alpn, has_ticket';

/** What reads select: the entry's columns and the DER's size. */
const SELECTED = `${COLUMNS}, size`;
/** The same without the DER (foldl with withDer false): copying it out is half the cost of a pass. */
const SELECTED_WITHOUT_DER = SELECTED.replace('der,', "X'' AS der,");

/** What a lookup selects: without the key, which the caller has. */
const LOOKUP_COLUMNS = SELECTED.replace('key, ', '');

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

/** A looked-up row: the entry's columns without the key, which the caller has. */
type LookupRow = Row extends [unknown, ...infer Rest] ? Rest : never;

function toEntry(row: Row | [...Row, rowid: number]): Entry {
  const [key, role, partialKey, der, createdAt, insertedAt, expiresAt, protocol, cipher, sni, alpn, hasTicket, size] = row;
  return entryOf(key, role, partialKey, der, createdAt, insertedAt, expiresAt, protocol, cipher, sni, alpn, hasTicket, size);
}

/** Where lookupSlot puts whether the key matched: after the entry's columns. */
const LOOKUP_MINE = 12;

function lookupEntry(key: string, row: LookupRow | [...LookupRow, mine: number]): Entry {
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
  /**
   * Open for reading only, never creating or changing a file (list, get,
   * stats, explain): works on a file this user may read but not write. A
   * missing file (when `create` allows one) or an empty one reads as an
   * empty cache and stays as it is.
   */
  readOnly?: boolean;
  /** Default: a "warning: ..." line on stderr. */
  onWarning?: (message: string) => void;
  /**
   * Read the file through mmap, up to this many bytes (PRAGMA mmap_size; URL
   * `file:PATH?mmap=512M`); default DEFAULT_MMAP_BYTES, 0 turns it off.
   * Measured at 1M sessions (bench/store): 139k lookups/s against 106k/s
   * without it (docs/BENCHMARKS.md). Passes over the whole store (foldl, pageByKey) read
   * without it, so `stats` or `list` do not map the whole file into memory.
   * The price (sqlite.org/mmap.html): a disk I/O error on a mapped page, or
   * the file truncated by something other than SQLite, is a SIGBUS that ends
   * the process rather than an error. `?mmap=0` for disks that fail that way.
   */
  mmapBytes?: number;
  /**
   * Tests only: another slot function (see slotOf), to make keys collide.
   * Every process using a file must use the same one.
   */
  slotOf?: (key: string) => number;
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
  } else if (code === 'SQLITE_FULL' || (code.startsWith('SQLITE_IOERR') && diskFull(file))) reason = 'the disk is full';
  else if (code.startsWith('SQLITE_READONLY')) reason = 'permission denied: this user may not write the file (or create its -wal and -shm files in its directory)';
  else if (code.startsWith('SQLITE_CANTOPEN')) reason = 'unable to open the database file (check that it and its directory exist and are readable and writable)';
  else if (code === 'EACCES' || code === 'EPERM') reason = 'permission denied';
  else if (code === 'ENOENT') reason = 'no such file';
  else reason = message;
  const prefix = opening ? `cannot open session cache ${file}` : `session cache ${file}`;
  return new SessctlError(`${prefix}: ${reason}`, { cause: err });
}

interface Statements {
  /** The row at a slot, and last whether its key is the one asked for (`key = ?`, 0 or 1). */
  lookupSlot: BetterSqlite3.Statement<[string, number], [...LookupRow, mine: number]>;
  /** By the key index: only when the slot is held by another key. */
  lookupKey: BetterSqlite3.Statement<[string], LookupRow>;
  slotTaken: BetterSqlite3.Statement<[number], number>;
  upsert: BetterSqlite3.Statement<unknown[]>;
  slotOfKey: BetterSqlite3.Statement<[string], number>;
  removeSlot: BetterSqlite3.Statement<[number]>;
  waitingFor: BetterSqlite3.Statement<[number], number>;
  moveHome: BetterSqlite3.Statement<[number, number]>;
  page: BetterSqlite3.Statement<[number, number], [...Row, rowid: number]>;
  pageWithoutDer: BetterSqlite3.Statement<[number, number], [...Row, rowid: number]>;
  pageByKey: BetterSqlite3.Statement<[string, number], Row>;
  select: BetterSqlite3.Statement<[string], Row>;
  count: BetterSqlite3.Statement<[], number>;
  counters: BetterSqlite3.Statement<[], { name: string; value: number }>;
  addCounter: BetterSqlite3.Statement<[string, number]>;
  readMeta: BetterSqlite3.Statement<[string], Buffer>;
  writeMeta: BetterSqlite3.Statement<[string, Buffer]>;
}

/** The cache file store (`file:PATH` or a plain path). Open it with `FileStore.open`. */
export class FileStore implements SessionStore {
  readonly kind = 'file';
  readonly capabilities: StoreCapabilities = { persistent: true, sharedCounters: true, keyRing: true };

  readonly #db: BetterSqlite3.Database;
  readonly #mmapBytes: number;
  readonly #slotOf: (key: string) => number;
  readonly #st: Statements;
  readonly #insertTx: (entries: Iterable<Entry>) => number;
  readonly #deleteTx: (key: string) => boolean;
  readonly #addCountersTx: (delta: [string, number][]) => void;
  readonly #writeKeyRingTx: (data: Buffer, expected: Buffer | null | undefined) => boolean;
  /**
   * The file as opened: a later `rm` or `mv` of the path does not move this
   * process to another file. Undefined for a read-only view of a missing or
   * empty file (an empty database in memory: nothing on disk is touched).
   */
  readonly #opened: Stats | undefined;

  private constructor(readonly url: string, readonly file: string, db: BetterSqlite3.Database, mmapBytes: number, slotFn: (key: string) => number, opened: Stats | undefined) {
    this.#db = db;
    this.#opened = opened;
    this.#mmapBytes = mmapBytes;
    this.#slotOf = slotFn;
    db.pragma(`mmap_size = ${mmapBytes}`);
    const p = <T>(sql: string): T => db.prepare(sql) as T;
    const raw = <T>(sql: string): T => db.prepare(sql).raw() as T;
    this.#st = {
      // Not the key itself, only whether it matches: decoding a 64-character string per lookup costs about 15%.
      lookupSlot: raw(`SELECT ${LOOKUP_COLUMNS}, key = ? FROM sessions WHERE slot = ?`),
      lookupKey: raw(`SELECT ${LOOKUP_COLUMNS} FROM sessions WHERE key = ?`),
      slotTaken: p<BetterSqlite3.Statement<[number], number>>('SELECT 1 FROM sessions WHERE slot = ?').pluck(),
      // An upsert, not INSERT OR REPLACE: a replaced entry keeps its row (and slot), which foldl pages by.
      upsert: p(`INSERT INTO sessions (slot, home, ${COLUMNS}, size) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET ${UPSERT_SET}`),
      slotOfKey: p<BetterSqlite3.Statement<[string], number>>('SELECT slot FROM sessions WHERE key = ?').pluck(),
      removeSlot: p('DELETE FROM sessions WHERE slot = ?'),
      waitingFor: p<BetterSqlite3.Statement<[number], number>>('SELECT slot FROM sessions WHERE home = ? LIMIT 1').pluck(),
      moveHome: p('UPDATE sessions SET slot = ?, home = NULL WHERE slot = ?'),
      // The rowid last, so the row's first columns are an entry's.
      page: raw(`SELECT ${SELECTED}, rowid FROM sessions WHERE rowid > ? ORDER BY rowid LIMIT ?`),
      pageWithoutDer: raw(`SELECT ${SELECTED_WITHOUT_DER}, rowid FROM sessions WHERE rowid > ? ORDER BY rowid LIMIT ?`),
      pageByKey: raw(`SELECT ${SELECTED} FROM sessions WHERE key > ? ORDER BY key LIMIT ?`),
      select: raw(`SELECT ${SELECTED} FROM sessions WHERE partial_key = ? ORDER BY created_at DESC, inserted_at DESC`),
      count: p<BetterSqlite3.Statement<[], number>>('SELECT count(*) FROM sessions').pluck(),
      counters: p('SELECT name, value FROM counters'),
      // An upsert: a file made before a counter existed has no row for it.
      addCounter: p('INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + excluded.value'),
      readMeta: p<BetterSqlite3.Statement<[string], Buffer>>('SELECT value FROM meta WHERE name = ?').pluck(),
      writeMeta: p('INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)'),
    };
    const st = this.#st;
    // IMMEDIATE: take the write lock up front, so the busy timeout applies and
    // two writers never deadlock upgrading read locks.
    this.#insertTx = db.transaction((entries: Iterable<Entry>) => {
      let n = 0;
      for (const entry of entries) {
        const slot = slotFn(entry.key);
        // A slot taken (by this key, or by another): insert off-slot; an
        // existing key then takes the ON CONFLICT path and keeps its row.
        const taken = st.slotTaken.get(slot) !== undefined;
        st.upsert.run(taken ? null : slot, taken ? slot : null, ...toParams(entry));
        n += 1;
      }
      if (n > 0) st.addCounter.run('inserts', n);
      return n;
    }).immediate;
    this.#deleteTx = db.transaction((key: string) => {
      let freed = st.slotOfKey.get(key);
      if (freed === undefined) return false;
      st.removeSlot.run(freed);
      // Keep the invariant: a row waiting for the freed rowid moves in (and so on down the chain).
      for (let waiting = st.waitingFor.get(freed); waiting !== undefined; waiting = st.waitingFor.get(freed)) {
        st.moveHome.run(freed, waiting);
        freed = waiting;
      }
      st.addCounter.run('removals', 1);
      return true;
    }).immediate;
    this.#addCountersTx = db.transaction((delta: [string, number][]) => {
      for (const [name, value] of delta) st.addCounter.run(name, value);
    }).immediate;
    this.#writeKeyRingTx = db.transaction((data: Buffer, expected: Buffer | null | undefined) => {
      if (expected !== undefined && !sameRing(st.readMeta.get('key_ring'), expected)) return false;
      st.writeMeta.run('key_ring', data);
      return true;
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
    const readOnly = options.readOnly === true;
    const existing = statOrUndefined(file);
    if (existing?.isDirectory()) throw new SessctlError(`cannot open session cache ${file}: it is a directory`);
    if (existing === undefined) {
      if (!create) throw new SessctlError(`cannot open session cache ${file}: no such file`);
      if (readOnly) return FileStore.#empty(file, options);
      try {
        mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
        // Create the file ourselves so it is 0600 from its first byte; SQLite
        // then gives -wal and -shm the database file's mode (os_unix.c, findCreateFileMode).
        closeSync(openSync(file, 'wx', 0o600));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw storeError(file, err, true);
      }
    }

    // Say "permission denied" before SQLite says "unable to open" or, later, "readonly database".
    try {
      accessSync(file, readOnly ? fsConstants.R_OK : fsConstants.R_OK | fsConstants.W_OK);
    } catch (err) {
      const what = !readOnly && canRead(file) ? 'write' : 'read';
      throw new SessctlError(`cannot open session cache ${file}: permission denied (this user may not ${what} it)`, { cause: err });
    }
    if (readOnly && existing!.size === 0) return FileStore.#empty(file, options);

    const Database = await loadDriver(file);
    let db: BetterSqlite3.Database | undefined;
    let store: FileStore;
    try {
      db = readOnly ? openReadOnly(Database, file) : new Database(file, { fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
      const slotFn = options.slotOf ?? slotOf;
      const state = prepareDatabase(db, file, slotFn, readOnly);
      if (state === 'empty') {
        db.close();
        return FileStore.#empty(file, options);
      }
      if (state === 'outdated') {
        // The one change a reader makes: the documented one-time migration of
        // an older file, when this user may write it (README "Stores").
        db.close();
        db = undefined;
        if (!canWrite(file)) {
          throw new SessctlError(`cannot read session cache ${file}: it was written by an earlier sessctl and must be migrated once by a user who may write it (e.g. its owner running sessctl stats)`);
        }
        db = new Database(file, { fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
        prepareDatabase(db, file, slotFn);
      }
      store = new FileStore(options.url ?? file, file, db, Math.max(0, Math.floor(options.mmapBytes ?? DEFAULT_MMAP_BYTES)), slotFn, statSync(file));
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

  /** A read-only view of a file that holds no cache yet: an empty database in memory, nothing on disk touched. */
  static async #empty(file: string, options: FileStoreOptions): Promise<FileStore> {
    const Database = await loadDriver(file);
    const db = new Database(':memory:');
    db.exec(SCHEMA);
    return new FileStore(options.url ?? file, file, db, 0, options.slotOf ?? slotOf, undefined);
  }

  async lookup(key: SessionKey): Promise<Entry | undefined> {
    // Not through #run: a closure per lookup shows at 100k lookups/s.
    if (!this.#db.open) throw this.#closed();
    try {
      const row = this.#st.lookupSlot.get(key, this.#slotOf(key));
      if (row === undefined) return undefined;
      if (row[LOOKUP_MINE] === 1) return lookupEntry(key, row);
      // The slot is another key's: this one, if present, lives elsewhere.
      const elsewhere = this.#st.lookupKey.get(key);
      return elsewhere && lookupEntry(key, elsewhere);
    } catch (err) {
      throw storeError(this.file, err);
    }
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
    // (Except where two keys share a slot, which 53-bit slots make rare: a
    // delete meanwhile may move the other one to its slot, across the cursor.)
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

  async writeKeyRing(data: Buffer, expected?: Buffer | null): Promise<boolean> {
    return this.#run(() => this.#writeKeyRingTx(data, expected));
  }

  async space(): Promise<StoreSpace> {
    return this.#run(() => {
      const pageSize = this.#db.pragma('page_size', { simple: true }) as number;
      const free = this.#db.pragma('freelist_count', { simple: true }) as number;
      if (this.#opened === undefined) return { fileBytes: 0, freeBytes: 0 };
      const onDisk = (f: string) => statOrUndefined(f)?.size ?? 0;
      return { fileBytes: onDisk(this.file) + onDisk(`${this.file}-wal`), freeBytes: free * pageSize };
    });
  }

  /**
   * Give free pages back to the file system. Files made by this sessctl have
   * auto_vacuum=INCREMENTAL: `PRAGMA incremental_vacuum` moves the last pages
   * into the free ones and truncates, a cost in proportion to what was freed.
   * Older files (auto_vacuum off) only shrink with `full`: VACUUM rewrites
   * the whole file (and switches it to incremental), holding the write lock
   * meanwhile (sqlite.org/lang_vacuum.html). Then a TRUNCATE checkpoint, so
   * the -wal file does not keep the space instead (best effort: a reader
   * in the middle of a read keeps it until the next checkpoint).
   */
  async compact(options: { full?: boolean } = {}): Promise<StoreSpace> {
    this.#run(() => {
      if (options.full) {
        this.#db.pragma('auto_vacuum = INCREMENTAL');
        this.#db.exec('VACUUM');
      } else if (this.#db.pragma('auto_vacuum', { simple: true }) === INCREMENTAL) {
        this.#db.pragma('incremental_vacuum');
      }
      this.#db.pragma('wal_checkpoint(TRUNCATE)');
    });
    return this.space();
  }

  /** Whether free pages are given back after a flush (files created by this sessctl) or only by `compact({ full })`. */
  get incrementalVacuum(): boolean {
    return this.#run(() => this.#db.pragma('auto_vacuum', { simple: true }) === INCREMENTAL);
  }

  /**
   * Whether the path still names the file this store has open. After `rm` or
   * `mv` (or a restore over it) this process goes on with the old file, which
   * no other process sees and whose sessions are gone when this one stops.
   */
  async health(): Promise<string | undefined> {
    if (this.#opened === undefined) return undefined;
    let now: Stats | undefined;
    try {
      now = statOrUndefined(this.file);
    } catch (err) {
      return (err as Error).message;
    }
    const what = now === undefined ? 'removed' : now.ino !== this.#opened.ino || now.dev !== this.#opened.dev ? 'replaced' : undefined;
    if (what === undefined) return undefined;
    return `the cache file ${this.file} was ${what} while this process had it open: it still uses the old file, which other processes do not see and which is lost when it stops; restart it`;
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

/** PRAGMA auto_vacuum's value for INCREMENTAL. */
const INCREMENTAL = 2;

function hasTables(db: BetterSqlite3.Database): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' LIMIT 1").get() !== undefined;
}

/** Whether the file system holding `file` has no room left (SQLite reports a failed -shm or -wal write as an I/O error). */
function diskFull(file: string): boolean {
  try {
    return statfsSync(path.dirname(path.resolve(file))).bavail === 0;
  } catch {
    return false;
  }
}

function canWrite(file: string): boolean {
  try {
    accessSync(file, fsConstants.W_OK);
    accessSync(path.dirname(path.resolve(file)), fsConstants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function canRead(file: string): boolean {
  try {
    accessSync(file, fsConstants.R_OK);
    return true;
  } catch {
    return false;
  }
}

async function loadDriver(file: string): Promise<typeof BetterSqlite3> {
  // better-sqlite3 reads SQLITE_USE_URI once, when its addon loads (at the
  // first Database made): URI file names let openReadOnly ask for
  // ?immutable=1. Only names starting with "file:" are URIs, and open.ts
  // strips that prefix from every path it passes.
  const before = process.env.SQLITE_USE_URI;
  process.env.SQLITE_USE_URI = '1';
  try {
    const Database = (await import('better-sqlite3')).default;
    new Database(':memory:').close();
    return Database;
  } catch (err) {
    throw new SessctlError(`cannot open session cache ${file}: the SQLite driver (better-sqlite3) failed to load: ${(err as Error).message}`, { cause: err });
  } finally {
    if (before === undefined) delete process.env.SQLITE_USE_URI;
    else process.env.SQLITE_USE_URI = before;
  }
}

/**
 * Open the cache file for reading only, creating and changing nothing.
 * SQLite's rules for a WAL database (sqlite.org/wal.html, "Read-Only
 * Databases"): a reader needs the -shm file; it may be read-only (another
 * user's: SQLite then reads it without writing), but if it is missing the
 * reader must create it, in the file's directory. So: with a -wal file
 * present (a writer has the file open, or left it unfinished), open read-only
 * and use it; without one, every committed page is in the main file, and
 * `immutable=1` reads that alone and creates no -wal or -shm (a reader
 * therefore works in a directory it cannot write). The price of immutable:
 * a writer that opens the file meanwhile and checkpoints during a long read
 * could make that read fail as corrupt; it would not change the file.
 */
function openReadOnly(Database: typeof BetterSqlite3, file: string): BetterSqlite3.Database {
  if (statOrUndefined(`${file}-wal`) !== undefined) return new Database(file, { readonly: true, fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
  try {
    return new Database(`${pathToFileURL(path.resolve(file)).href}?immutable=1`, { readonly: true, fileMustExist: true });
  } catch (err) {
    // URIs off (better-sqlite3 loaded earlier by someone else): SQLite found no file of that name.
    if ((err as { code?: string }).code !== 'SQLITE_CANTOPEN') throw err;
    return new Database(file, { readonly: true, fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
  }
}

/**
 * Check the file is ours (or empty), then pragmas, then the schema: created
 * (or migrated) on first use. Read-only: nothing is written; a file
 * without the schema yet is 'empty', one of an older schema 'outdated'.
 */
function prepareDatabase(db: BetterSqlite3.Database, file: string, slotFn: (key: string) => number, readOnly = false): 'ready' | 'empty' | 'outdated' {
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
  if (readOnly) {
    if (version === SCHEMA_VERSION) return 'ready';
    if (version === 0) return 'empty';
    return 'outdated';
  }
  // A new file gives pages freed by removals back (compact()); auto_vacuum can
  // only be chosen before the first table (sqlite.org/pragma.html#pragma_auto_vacuum).
  if (version === 0 && !hasTables(db)) db.pragma('auto_vacuum = INCREMENTAL');
  if (db.pragma('journal_mode', { simple: true }) !== 'wal') db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  if (version === SCHEMA_VERSION) return 'ready';
  db.transaction(() => {
    // Re-read under the write lock: another process may have just created or migrated it.
    const now = db.pragma('user_version', { simple: true }) as number;
    if (now === SCHEMA_VERSION) return;
    if (now === 1) migrateToSlots(db, slotFn);
    else refuseForeign();
    db.exec(SCHEMA);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
  return 'ready';
}

/**
 * Schema 1 to 2: the same rows, placed at their slots (a colliding key
 * off-slot, as update() would put it), written in slot order so the new
 * table is appended to, not split. One transaction: other processes wait
 * (busy timeout, then "locked") and then see the new table.
 */
function migrateToSlots(db: BetterSqlite3.Database, slotFn: (key: string) => number): void {
  db.function('sessctl_slot', { deterministic: true }, (key: unknown) => slotFn(String(key)));
  const columns = `${COLUMNS}, size`;
  db.exec(`
${sessionsTable('sessions_v2')}
INSERT OR IGNORE INTO sessions_v2 (slot, home, ${columns}) SELECT sessctl_slot(key), NULL, ${columns} FROM sessions ORDER BY 1;
INSERT INTO sessions_v2 (slot, home, ${columns})
  SELECT NULL, sessctl_slot(key), ${columns} FROM sessions WHERE key NOT IN (SELECT key FROM sessions_v2) ORDER BY rowid;
DROP TABLE sessions;
ALTER TABLE sessions_v2 RENAME TO sessions;
`);
}
