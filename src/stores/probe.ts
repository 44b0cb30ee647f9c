// Health probes of the production stores for `fabra doctor` and `fabra migrate`: connectivity and versions,
// migrations, the pgvector extension, ledger and feature-history writability (inserts in a transaction that is
// rolled back, so nothing is ever left behind) and a Redis round trip. Loaded lazily (it pulls in pg/ioredis).
import { randomUUID } from "node:crypto";
import type { OnlineConfig } from "../config/resolve.js";
import { FabraError } from "../errors.js";
import { nowDatetime } from "../record/datetime.js";
import { maskUrl } from "../util/mask-url.js";
import { applyMigrations, migrationStatus } from "./postgres/migrate.js";
import { ensureHnswIndex, ensureVectorExtension, vectorExtension, type EnsureVectorResult } from "./postgres/pgvector-extension.js";
import { formatPgVersion, PgDatabase, type PgTarget } from "./postgres/pool.js";
import { closeRedis, openRedis, redisVersion, type RedisTarget } from "./redis/client.js";

export type CheckState = "ok" | "warn" | "fail";

export interface Check {
  name: string;
  state: CheckState;
  detail: string;
  /** What to do about a warn/fail. */
  fix?: string;
}

const fail = (name: string, err: unknown): Check => {
  const e = err instanceof FabraError ? err : new FabraError("INTERNAL", String((err as Error)?.message ?? err));
  return { name, state: "fail", detail: e.message, fix: e.hint };
};

/** Postgres: reachable, version, migrations, and for the offline store (ledger, history) inserts that are rolled back. */
export async function probePostgres(target: PgTarget, opts: { ledger: boolean; history?: boolean; vector: boolean; embedderDims: number }): Promise<Check[]> {
  const label = `${target.service} (Postgres)`;
  let db: PgDatabase;
  try {
    db = await PgDatabase.open(target);
  } catch (err) {
    return [fail(label, err)];
  }
  const checks: Check[] = [];
  try {
    checks.push({ name: label, state: "ok", detail: `Postgres ${formatPgVersion(db.server.versionNum)} at ${maskUrl(target.url)}, schema "${target.schema}"` });
    const status = await migrationStatus(db);
    if (status.changed.length > 0) {
      checks.push({ name: "migrations", state: "fail", detail: `migration(s) ${status.changed.join(", ")} differ from this fabra's`, fix: "Use the fabra version that migrated this database." });
    } else if (status.pending.length > 0) {
      checks.push({
        name: "migrations",
        state: "fail",
        detail: `missing ${status.pending.map((m) => `${m.version} (${m.name})`).join(", ")} in schema "${target.schema}"`,
        fix: "Run `fabra migrate`.",
      });
      return checks;
    } else {
      checks.push({ name: "migrations", state: "ok", detail: `schema "${target.schema}" at migration ${Math.max(0, ...status.applied)}` });
    }
    if (opts.ledger) checks.push(await probeLedger(db));
    if (opts.history) checks.push(await probeHistory(db));
    if (opts.vector) checks.push(...(await probeVector(db, opts.embedderDims)));
  } catch (err) {
    checks.push(fail(`${label} checks`, err));
  } finally {
    await db.close();
  }
  return checks;
}

async function probeLedger(db: PgDatabase): Promise<Check> {
  const name = "ledger writable";
  try {
    const triggers = await db.query<{ n: string }>(
      `SELECT count(*) AS n FROM pg_trigger WHERE tgrelid = $1::regclass AND tgname IN ('fabra_context_records_append_only', 'fabra_context_records_no_truncate') AND tgenabled <> 'D'`,
      [db.ident("fabra_context_records")],
    );
    const id = `ctx_doctor-probe-${randomUUID()}`;
    await db.withClient(async (c) => {
      await c.query("BEGIN");
      try {
        await c.query(
          `INSERT INTO ${db.ident("fabra_context_records")} (context_id, created_at, context_function, environment, token_count, record_hash, previous_context_id, canonical_text)
           VALUES ($1, $2::timestamptz, 'fabra_doctor', 'development', 0, 'sha256:probe', NULL, '{}')`,
          [id, nowDatetime()],
        );
      } finally {
        await c.query("ROLLBACK");
      }
    });
    if (Number(triggers[0]?.n ?? 0) < 2) {
      return { name, state: "fail", detail: "the ledger's append-only triggers are missing or disabled", fix: "Re-create them (see migration 1) or restore the schema; records must not be alterable." };
    }
    return { name, state: "ok", detail: "insert accepted (in a transaction rolled back: nothing written); UPDATE/DELETE refused by triggers" };
  } catch (err) {
    return fail(name, err);
  }
}

/** A value and a run written, read back through the point-in-time index, then rolled back. */
async function probeHistory(db: PgDatabase): Promise<Check> {
  const name = "feature history writable";
  try {
    const runId = `run_doctor-probe-${randomUUID()}`;
    const now = nowDatetime();
    const read = await db.withClient(async (c) => {
      await c.query("BEGIN");
      try {
        await c.query(`INSERT INTO ${db.ident("fabra_materialize_runs")} (run_id, feature, trigger, status, started_at) VALUES ($1, $2, 'manual', 'running', $3::timestamptz)`, [
          runId,
          runId,
          now,
        ]);
        await c.query(`INSERT INTO ${db.ident("fabra_feature_values")} (feature, entity_id, value_json, computed_at, run_id) VALUES ($1, 'probe', '12.0', $2::timestamptz, $1)`, [runId, now]);
        return await c.query<{ value_json: string }>(
          `SELECT value_json FROM ${db.ident("fabra_feature_values")} WHERE feature = $1 AND entity_id = 'probe' AND computed_at <= $2::timestamptz
           ORDER BY computed_at DESC, run_id COLLATE "C" DESC LIMIT 1`,
          [runId, now],
        );
      } finally {
        await c.query("ROLLBACK");
      }
    });
    if (read[0]?.value_json !== "12.0") {
      return { name, state: "fail", detail: "a value written was not read back as written", fix: "Check the fabra_feature_values table against migration 3 (`fabra migrate`)." };
    }
    return { name, state: "ok", detail: "value and run inserted and read back point-in-time (in a transaction rolled back: nothing written)" };
  } catch (err) {
    return fail(name, err);
  }
}

async function probeVector(db: PgDatabase, embedderDims: number): Promise<Check[]> {
  const checks: Check[] = [];
  const ext = await vectorExtension(db);
  checks.push(
    ext.installed
      ? { name: "pgvector", state: "ok", detail: `vector ${ext.installed}: HNSW cosine indexes` }
      : ext.available
        ? { name: "pgvector", state: "warn", detail: `vector ${ext.available} is on the server but not created in this database; searching by exact scan`, fix: "Run `fabra migrate` (it creates the extension when allowed)." }
        : { name: "pgvector", state: "warn", detail: "not installed on this Postgres server; searching by exact scan (correct, but its cost grows with the number of chunks)", fix: "Install pgvector on the server (e.g. the postgresql-<version>-pgvector package) and run `fabra migrate` for HNSW indexes." },
  );
  const indexes = await db.query<{ name: string; dimensions: number }>(`SELECT name, dimensions FROM ${db.ident("fabra_vector_indexes")} ORDER BY name`);
  const wrong = indexes.filter((i) => Number(i.dimensions) !== embedderDims);
  checks.push(
    wrong.length === 0
      ? { name: "vector indexes", state: "ok", detail: `${indexes.length} index(es), all ${embedderDims}-dimension like the embedder` }
      : {
          name: "vector indexes",
          state: "fail",
          detail: `${wrong.map((i) => `"${i.name}" is ${i.dimensions}-dimension`).join(", ")}; the embedder makes ${embedderDims}`,
          fix: "Re-index those documents into new indexes, or restore the embedder config they were built with.",
        },
  );
  return checks;
}

/** Redis: reachable, version >= 6, and a write/read/delete round trip under the key prefix. */
export async function probeRedis(target: RedisTarget, online: Extract<OnlineConfig, { type: "redis" }>): Promise<Check[]> {
  const label = `${target.service} (Redis)`;
  let conn;
  try {
    conn = await openRedis(target);
  } catch (err) {
    return [fail(label, err)];
  }
  try {
    const version = await redisVersion(conn);
    const major = Number(version.split(".")[0]);
    const checks: Check[] = [
      major >= 6
        ? { name: label, state: "ok", detail: `Redis ${version} at ${maskUrl(target.url)}, key prefix "${online.keyPrefix}"` }
        : { name: label, state: "fail", detail: `Redis ${version} at ${maskUrl(target.url)}; fabra needs 6 or newer`, fix: "Upgrade Redis to 6+." },
    ];
    const key = `${online.keyPrefix}doctor:${randomUUID()}`;
    const started = performance.now();
    await conn.client.set(key, "probe", "PX", 10_000);
    const back = await conn.client.get(key);
    await conn.client.del(key);
    const ms = performance.now() - started;
    checks.push(
      back === "probe"
        ? { name: "cache writable", state: "ok", detail: `SET/GET/DEL round trip in ${ms.toFixed(1)} ms` }
        : { name: "cache writable", state: "fail", detail: "a value written was not read back", fix: "Check the Redis server (maxmemory policy, replicas answering reads)." },
    );
    return checks;
  } catch (err) {
    return [fail(label, err)];
  } finally {
    await closeRedis(conn);
  }
}

export interface MigrateReport {
  service: string;
  url: string;
  schema: string;
  applied: { version: number; name: string }[];
  alreadyApplied: number;
  vector: (EnsureVectorResult & { hnsw: string[]; exact: string[] }) | null;
}

/** Applies the migrations on one target, and for the vector store the extension and each index's HNSW index. */
export async function migrateTarget(target: PgTarget, opts: { vector: boolean }): Promise<MigrateReport> {
  const db = await PgDatabase.open(target);
  try {
    const result = await applyMigrations(db);
    let vector: MigrateReport["vector"] = null;
    if (opts.vector) {
      const ext = await ensureVectorExtension(db);
      const hnsw: string[] = [];
      const exact: string[] = [];
      if (ext.state === "installed" || ext.state === "created") {
        const indexes = await db.query<{ name: string; dimensions: number }>(`SELECT name, dimensions FROM ${db.ident("fabra_vector_indexes")} ORDER BY name`);
        for (const i of indexes) ((await ensureHnswIndex(db, i.name, Number(i.dimensions))) ? hnsw : exact).push(i.name);
      }
      vector = { ...ext, hnsw, exact };
    }
    return { service: target.service, url: maskUrl(target.url), schema: target.schema, applied: result.applied.map((m) => ({ version: m.version, name: m.name })), alreadyApplied: result.alreadyApplied, vector };
  } finally {
    await db.close();
  }
}
