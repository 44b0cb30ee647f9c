// One embedded DuckDB file per process, shared by the stores that live in it (ledger, offline history, chunks).
// Opening checks the file's schema version (schema-version.ts) and maps DuckDB's file-lock error to LEDGER_LOCKED
// naming the process that holds the file; every query goes through `query`/`run`, which serialize work on a
// connection (a transaction is never interleaved with another caller's statements) and map driver errors to FabraErrors.
import { mkdirSync, realpathSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { DuckDBConnection, DuckDBPreparedStatement, DuckDBValue } from "@duckdb/node-api";
import { DuckDBInstance } from "./driver.js";
import { FabraError } from "../../errors.js";
import { ensureSchemaVersion } from "./schema-version.js";

interface OpenFile {
  instance: DuckDBInstance;
  users: number;
}

const open = new Map<string, Promise<OpenFile>>();

/** Statements queryPrepared keeps prepared per connection (the least recently used one goes past this). */
const MAX_PREPARED = 32;

/**
 * The one name of the file `path` names (absolute, symlinks resolved as far as the path exists): per-file state (the
 * instance, the ledger's journal) is keyed by it, so two names of one file never get two instances or two journals
 * writing over each other's frames.
 */
export function canonicalPath(path: string): string {
  if (path === ":memory:") return path;
  const absolute = resolve(path);
  let rest = "";
  for (let at = absolute; ; at = dirname(at)) {
    try {
      return join(realpathSync(at), rest);
    } catch {
      if (dirname(at) === at) return absolute;
      rest = rest === "" ? basename(at) : join(basename(at), rest);
    }
  }
}

const LOCKED = /Could not set lock on file "([^"]*)": Conflicting lock is held in (.*?) \(PID (\d+)\)/;

/** A connection to a DuckDB file with serialized access; close() releases the file when its last user is gone. */
export class DuckDatabase {
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** queryPrepared's statements by SQL text, least recently used first. */
  private readonly prepared = new Map<string, DuckDBPreparedStatement>();

  private constructor(
    readonly path: string,
    private readonly connection: DuckDBConnection,
    /** The same object for every connection to one open instance of the file (a key for per-file state). */
    readonly file: object,
    /** The file's canonical path (canonicalPath): what per-file state is keyed by. */
    readonly key: string,
  ) {}

  static async open(path: string): Promise<DuckDatabase> {
    const key = canonicalPath(path);
    let entry = open.get(key);
    if (!entry) {
      entry = createInstance(path);
      open.set(key, entry);
      entry.catch(() => open.delete(key));
    }
    const file = await entry;
    file.users++;
    try {
      return new DuckDatabase(path, await file.instance.connect(), file, key);
    } catch (err) {
      file.users--;
      throw mapDuckError(err, path);
    }
  }

  /** Runs `fn` alone on this connection (queued behind earlier calls). */
  exclusive<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    if (this.closed)
      return Promise.reject(
        new FabraError("STORE_UNAVAILABLE", `The DuckDB file ${this.path} is closed`, {
          hint: "This is a bug: a store was used after close().",
        }),
      );
    const run = this.queue.then(() => fn(this.connection));
    this.queue = run.catch(() => undefined);
    return run.catch((err: unknown) => {
      throw mapDuckError(err, this.path);
    });
  }

  /** Rows as plain JS objects (BIGINT as bigint). */
  query<T = Record<string, unknown>>(sql: string, params: DuckDBValue[] = []): Promise<T[]> {
    return this.exclusive(async (c) => (await c.runAndReadAll(sql, params)).getRowObjectsJS() as T[]);
  }

  /**
   * query(), through a statement prepared once per SQL text on this connection (parsed and planned once): for the
   * small reads run again and again, such as an inclusion proof's.
   */
  queryPrepared<T = Record<string, unknown>>(sql: string, params: DuckDBValue[] = []): Promise<T[]> {
    return this.exclusive(async (c) => {
      let statement = this.prepared.get(sql);
      if (statement) this.prepared.delete(sql);
      else {
        statement = await c.prepare(sql);
        const [oldest, old] = this.prepared.entries().next().value ?? [];
        if (this.prepared.size >= MAX_PREPARED && oldest !== undefined) {
          this.prepared.delete(oldest);
          old?.destroySync();
        }
      }
      this.prepared.set(sql, statement);
      statement.bind(params);
      return (await statement.runAndReadAll()).getRowObjectsJS() as T[];
    });
  }

  /** Runs a statement; returns the number of rows it changed. */
  run(sql: string, params: DuckDBValue[] = []): Promise<number> {
    return this.exclusive(async (c) => Number((await c.run(sql, params)).rowsChanged));
  }

  /** Runs `fn` in one transaction: all of it is written, or none of it. `connection` is for appenders. */
  transaction<T>(
    fn: (run: (sql: string, params?: DuckDBValue[]) => Promise<number>, connection: DuckDBConnection) => Promise<T>,
  ): Promise<T> {
    return this.exclusive(async (c) => {
      await c.run("BEGIN TRANSACTION");
      try {
        const result = await fn(async (sql, params = []) => Number((await c.run(sql, params)).rowsChanged), c);
        await c.run("COMMIT");
        return result;
      } catch (err) {
        await c.run("ROLLBACK").catch(() => undefined);
        throw err;
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.queue;
    this.closed = true;
    for (const statement of this.prepared.values()) statement.destroySync();
    this.prepared.clear();
    this.connection.closeSync();
    const entry = open.get(this.key);
    if (!entry) return;
    const file = await entry;
    if (--file.users === 0) {
      open.delete(this.key);
      file.instance.closeSync();
    }
  }
}

async function createInstance(path: string): Promise<OpenFile> {
  if (path !== ":memory:") {
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (err) {
      throw new FabraError("STORE_UNAVAILABLE", `Cannot create the directory for ${path}: ${(err as Error).message}`, {
        hint: "Point FABRA_DUCKDB_PATH (or stores.offline.path) at a writable location.",
      });
    }
  }
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(path);
  } catch (err) {
    throw mapDuckError(err, path);
  }
  if (path === ":memory:") return { instance, users: 0 };
  // Once per file and process, before any store reads it: the file's schema version (refused if newer, upgraded if older).
  try {
    const connection = await instance.connect();
    try {
      await ensureSchemaVersion(connection, path);
    } finally {
      connection.closeSync();
    }
  } catch (err) {
    instance.closeSync();
    throw mapDuckError(err, path);
  }
  return { instance, users: 0 };
}

/** Driver errors → FabraErrors; FabraErrors pass through. */
export function mapDuckError(err: unknown, path: string): FabraError {
  if (err instanceof FabraError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const locked = LOCKED.exec(message);
  if (locked) {
    return new FabraError(
      "LEDGER_LOCKED",
      `The DuckDB file ${path} is in use by another process (PID ${locked[3]}: ${locked[2]})`,
      {
        hint:
          "An embedded DuckDB file has one writer at a time. Stop that process, wait for it to finish, or point this " +
          "command at another file with FABRA_DUCKDB_PATH. For many processes on one project, use production mode: " +
          'stores.offline { type: "postgres" } (every command works there; see "Production mode" in the README).',
        cause: err,
        details: { pid: Number(locked[3]), holder: locked[2] },
      },
    );
  }
  return new FabraError("STORE_UNAVAILABLE", `DuckDB (${path}): ${message}`, {
    hint: "Check the file is a fabra DuckDB file and the disk is writable; FABRA_DEBUG=1 shows the driver's stack.",
    cause: err,
  });
}
