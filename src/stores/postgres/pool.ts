// Postgres plumbing shared by every Postgres backend: one pool per URL per process (connected and checked once,
// before any work starts), bound-parameter queries with timing and a timeout (server statement_timeout plus a
// client-side timer, so a hung server or socket never wedges a caller), transactions, one retry of idempotent work
// after a dropped connection, a connection that timed out or broke never reused, and driver errors mapped to
// FabraErrors naming the service and the URL (password masked).
import pg from "pg";
import { FabraError } from "../../errors.js";
import { maskUrl } from "../../util/mask-url.js";
import { copyIn } from "./copy-in.js";

/** Where a Postgres backend connects, and what the user calls it in errors. */
export interface PgTarget {
  url: string;
  /** Schema holding fabra's tables (created by `fabra migrate`). */
  schema: string;
  poolSize?: number;
  /** How long one statement may take (default DEFAULT_STATEMENT_TIMEOUT_MS); the first opener of a URL's pool sets it. */
  statementTimeoutMs?: number;
  /** e.g. "stores.offline": named in every error so the user knows which setting to fix. */
  service: string;
}

export interface PgServerInfo {
  /** server_version_num, e.g. 150020. */
  versionNum: number;
  version: string;
}

/** The part of a pg client a query needs: a pool, or one client inside a transaction. */
export interface PgQueryable {
  /** `timeoutMs`: this statement may run longer than the pool's statement timeout (the caller raised it in SQL). */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[], opts?: { timeoutMs?: number }): Promise<T[]>;
}

/** One client to itself (a transaction, a session): statements, and COPY FROM STDIN of a whole binary stream. */
export interface PgSession extends PgQueryable {
  /** `sql` is a `COPY ... FROM STDIN (FORMAT binary)`, `data` the rows encoded (encodeCopyBinary); rows copied. */
  copyIn(sql: string, data: Buffer): Promise<number>;
}

/** pg's query config: the client-side timer a little past the server's timeout, so the server's error wins. */
function queryConfig(sql: string, params: unknown[], timeoutMs: number | undefined): pg.QueryConfig {
  return timeoutMs === undefined
    ? { text: sql, values: params }
    : ({ text: sql, values: params, query_timeout: timeoutMs + CLIENT_TIMER_MARGIN_MS } as pg.QueryConfig);
}

export const MIN_POSTGRES_VERSION = 130000;

/** Default time one statement may take (stores.offline.statementTimeoutMs). */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 10_000;

/** How much longer than the statement timeout the client waits for any answer before giving the connection up. */
const CLIENT_TIMER_MARGIN_MS = 1_000;

interface SharedPool {
  pool: pg.Pool;
  server: PgServerInfo;
  users: number;
}

const pools = new Map<string, Promise<SharedPool>>();

/** Statistics of one store's database work (shown by `fabra doctor`, read by benchmarks). */
export interface PgStats {
  queries: number;
  errors: number;
  retries: number;
  totalMs: number;
}

export class PgDatabase implements PgQueryable {
  readonly stats: PgStats = { queries: 0, errors: 0, retries: 0, totalMs: 0 };
  private closed = false;

  private constructor(
    readonly target: PgTarget,
    private readonly shared: SharedPool,
  ) {}

  /** Opens (or joins) the pool for `target.url` and checks the server answers; throws STORE_UNAVAILABLE if not. */
  static async open(target: PgTarget): Promise<PgDatabase> {
    let entry = pools.get(target.url);
    if (!entry) {
      entry = createPool(target);
      pools.set(target.url, entry);
      entry.catch(() => pools.delete(target.url));
    }
    const shared = await entry;
    shared.users++;
    return new PgDatabase(target, shared);
  }

  get server(): PgServerInfo {
    return this.shared.server;
  }

  /** A table (or other object) in this store's schema, quoted for SQL text. */
  ident(name: string): string {
    return `${pg.escapeIdentifier(this.target.schema)}.${pg.escapeIdentifier(name)}`;
  }

  /** Rows of one statement. `retry`: the statement is idempotent, so it is run once more after a dropped connection. */
  async query<T = Record<string, unknown>>(
    sql: string,
    params: unknown[] = [],
    opts: { retry?: boolean; timeoutMs?: number } = {},
  ): Promise<T[]> {
    this.checkOpen();
    const config = queryConfig(sql, params, opts.timeoutMs);
    try {
      return await this.timed(() => this.shared.pool.query(config)).then((r) => r.rows as T[]);
    } catch (err) {
      if (!opts.retry || !isConnectionError(err)) throw this.failed(err);
      this.stats.retries++;
      try {
        return await this.timed(() => this.shared.pool.query(config)).then((r) => r.rows as T[]);
      } catch (again) {
        throw this.failed(again);
      }
    }
  }

  /** Runs `fn` on one client inside BEGIN ... COMMIT: all of it is written, or none of it. */
  async transaction<T>(fn: (tx: PgSession) => Promise<T>): Promise<T> {
    return this.withClient(async (client) => {
      await client.query("BEGIN");
      try {
        const result = await fn(client);
        await client.query("COMMIT");
        return result;
      } catch (err) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw err;
      }
    });
  }

  /** Runs `fn` with one client of the pool to itself (session settings, advisory locks, transactions). */
  async withClient<T>(fn: (client: PgSession) => Promise<T>): Promise<T> {
    this.checkOpen();
    let client: pg.PoolClient;
    try {
      client = await this.shared.pool.connect();
    } catch (err) {
      throw this.failed(err);
    }
    let broken: Error | undefined;
    // A checked-out client whose connection drops emits "error"; without a listener that would crash the process.
    const onError = (err: Error) => {
      broken = err;
    };
    client.on("error", onError);
    const session: PgSession = {
      query: async <R>(sql: string, params: unknown[] = [], opts: { timeoutMs?: number } = {}) => {
        try {
          return (await this.timed(() => client.query(queryConfig(sql, params, opts.timeoutMs)))).rows as R[];
        } catch (err) {
          // The client gave up waiting: the connection is in an unknown state (the socket may hang), never reused.
          if (isConnectionError(err) || isClientTimeout(err)) broken = err as Error;
          throw err;
        }
      },
      copyIn: async (sql: string, data: Buffer) => {
        try {
          return await this.timed(() => copyIn(client, sql, data));
        } catch (err) {
          if (isConnectionError(err)) broken = err as Error;
          throw err;
        }
      },
    };
    try {
      return await fn(session);
    } catch (err) {
      throw this.failed(err);
    } finally {
      // A client whose connection broke is destroyed, never handed to the next caller.
      client.removeListener("error", onError);
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (--this.shared.users > 0) return;
    pools.delete(this.target.url);
    await this.shared.pool.end();
  }

  /** Maps an error from this database to a FabraError (FabraErrors pass through). */
  failed(err: unknown): FabraError {
    this.stats.errors++;
    return mapPgError(err, this.target);
  }

  private async timed<R>(fn: () => Promise<R>): Promise<R> {
    const started = performance.now();
    try {
      return await fn();
    } finally {
      this.stats.queries++;
      this.stats.totalMs += performance.now() - started;
    }
  }

  private checkOpen(): void {
    if (this.closed)
      throw new FabraError("STORE_UNAVAILABLE", `${this.target.service}: the Postgres store was used after close()`, {
        hint: "This is a bug in fabra.",
      });
  }
}

async function createPool(target: PgTarget): Promise<SharedPool> {
  const statementTimeoutMs = target.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  const pool = new pg.Pool({
    connectionString: target.url,
    max: target.poolSize ?? 10,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    // TCP keepalive probes start after 10 s idle, so a dead peer is noticed even on an idle connection.
    keepAliveInitialDelayMillis: 10_000,
    // The server cancels a statement running longer than this...
    statement_timeout: statementTimeoutMs,
    // ...and the client gives up a little later if no answer comes at all (a hung server or socket). A client whose
    // query failed is released with the error by pg's pool.query (and by withClient), so the pool drops it and
    // opens a fresh connection: the pool heals by itself once the server is back.
    query_timeout: statementTimeoutMs + CLIENT_TIMER_MARGIN_MS,
    application_name: "fabra",
  });
  // An idle client whose connection drops emits here; the pool discards it and the next query opens a new one.
  pool.on("error", () => undefined);
  try {
    const rows = (await pool.query("SELECT current_setting('server_version_num')::int AS num, version() AS text"))
      .rows as { num: number; text: string }[];
    const server = { versionNum: Number(rows[0]?.num ?? 0), version: String(rows[0]?.text ?? "") };
    if (server.versionNum < MIN_POSTGRES_VERSION) {
      throw new FabraError(
        "STORE_UNAVAILABLE",
        `${target.service}: Postgres at ${maskUrl(target.url)} is version ${formatPgVersion(server.versionNum)}; fabra needs 13 or newer`,
        {
          hint: "Upgrade the server, or point the URL at a Postgres 13+ server.",
        },
      );
    }
    return { pool, server, users: 0 };
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw mapPgError(err, target);
  }
}

export function formatPgVersion(num: number): string {
  return `${Math.floor(num / 10000)}.${num % 10000}`;
}

const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "57P01",
  "57P02",
  "57P03",
  "08000",
  "08003",
  "08006",
  "08001",
  "08004",
]);

/** The connection (not the statement) failed: safe to retry idempotent work on a fresh connection. */
export function isConnectionError(err: unknown): boolean {
  if (err instanceof FabraError) return false;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string" && CONNECTION_CODES.has(code)) return true;
  const message = err instanceof Error ? err.message : String(err);
  return /Connection terminated|connection error|not queryable|timeout exceeded when trying to connect|socket hang up/i.test(
    message,
  );
}

/** The statement ran out of time: cancelled by the server (57014 under statement_timeout) or given up by the client. */
export function isTimeoutError(err: unknown): boolean {
  if (err instanceof FabraError) return false;
  const code = (err as { code?: unknown } | null)?.code;
  if (code === "57014") return true;
  const message = err instanceof Error ? err.message : String(err);
  return /Query read timeout|canceling statement due to statement timeout/i.test(message);
}

/** The client-side timer fired: no answer came at all (unlike 57014, where the server answered with a cancel). */
function isClientTimeout(err: unknown): boolean {
  return err instanceof Error && !(err instanceof FabraError) && /Query read timeout/.test(err.message);
}

/** Driver errors → FabraErrors that say which service, where (masked) and what to do. */
export function mapPgError(err: unknown, target: PgTarget): FabraError {
  if (err instanceof FabraError) return err;
  const code = String((err as { code?: unknown } | null)?.code ?? "");
  const message = err instanceof Error ? err.message : String(err);
  const where = `${target.service}: Postgres at ${maskUrl(target.url)}`;
  const fixUrl = `Check the URL (FABRA_POSTGRES_URL or ${target.service}.url); \`fabra doctor\` checks every store.`;
  const unavailable = (what: string, hint: string) =>
    new FabraError("STORE_UNAVAILABLE", `${where} ${what}`, {
      hint,
      cause: err,
      details: { service: target.service, url: maskUrl(target.url), code },
    });
  switch (code) {
    case "ECONNREFUSED":
      return unavailable("refused the connection (is it running?)", `Start Postgres, or fix the host/port. ${fixUrl}`);
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return unavailable("is unknown: the host name does not resolve", fixUrl);
    case "28P01":
    case "28000":
      return unavailable(
        `refused the login: ${message}`,
        "Check the user and password in the URL, and pg_hba.conf on the server.",
      );
    case "3D000":
      return unavailable(
        `has no such database: ${message}`,
        `Create it (e.g. \`createdb <name>\`), or fix the database name in the URL.`,
      );
    case "42501":
      return unavailable(
        `denied permission: ${message}`,
        `Grant the role the privileges fabra needs, or run \`fabra migrate\` as the owner of schema "${target.schema}".`,
      );
    case "42P01":
    case "3F000":
      return new FabraError(
        "SCHEMA_OUTDATED",
        `${where} has no fabra tables in schema "${target.schema}" (${message})`,
        {
          hint: "Run `fabra migrate` to create them.",
          cause: err,
        },
      );
  }
  if (isTimeoutError(err)) {
    return unavailable(
      `did not answer in time: ${message}`,
      `The server is slow, hung or unreachable. If the statement needs longer, raise ${target.service}.statementTimeoutMs (default ${DEFAULT_STATEMENT_TIMEOUT_MS} ms). ${fixUrl}`,
    );
  }
  if (isConnectionError(err)) {
    return unavailable(`is not reachable: ${message}`, `Check the server is up and reachable from here. ${fixUrl}`);
  }
  return new FabraError("STORE_UNAVAILABLE", `${where}: ${message}`, {
    hint: "FABRA_DEBUG=1 shows the driver's stack; `fabra doctor` checks the setup.",
    cause: err,
    details: { service: target.service, code },
  });
}

/**
 * SQL for a timestamptz column as exact epoch microseconds (bigint; pg hands it over as a string). Exact on every
 * supported version: whole seconds and the microseconds within the second are extracted separately.
 */
export function epochMicrosSql(column: string): string {
  return `(extract(epoch from date_trunc('second', ${column}))::bigint * 1000000 + extract(microseconds from ${column})::bigint % 1000000)`;
}
