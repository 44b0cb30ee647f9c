// Health probes of a Postgres database for `fabra doctor` and GET /ready: reachable, version and migrations (on a
// connection of its own, as the stores refuse to open on a schema that is not current), ledger and feature-history
// writability (inserts in a transaction that is rolled back, so nothing is ever left behind), pgvector and the
// vector indexes' dimensions.
import { randomUUID } from "node:crypto";
import { nowDatetime } from "../../record/datetime.js";
import { maskUrl } from "../../util/mask-url.js";
import { failedCheck } from "../check.js";
import type { StoreCheck } from "../types.js";
import { migrationStatus } from "./migrate.js";
import { vectorExtension } from "./pgvector-extension.js";
import { formatPgVersion, PgDatabase, type PgTarget } from "./pool.js";
import { plural } from "../../util/plural.js";

/** The database behind `target`: reachable, its version, and whether fabra's migrations are all applied (`current`). */
export async function probeDatabase(target: PgTarget): Promise<{ checks: StoreCheck[]; current: boolean }> {
  const label = `${target.service} (Postgres)`;
  let db: PgDatabase;
  try {
    db = await PgDatabase.open(target);
  } catch (err) {
    return { checks: [failedCheck(label, err)], current: false };
  }
  const checks: StoreCheck[] = [];
  try {
    checks.push({
      name: label,
      state: "ok",
      detail: `Postgres ${formatPgVersion(db.server.versionNum)} at ${maskUrl(target.url)}, schema "${target.schema}"`,
    });
    const status = await migrationStatus(db);
    if (status.changed.length > 0) {
      checks.push({
        name: "migrations",
        state: "fail",
        detail: `${status.changed.length === 1 ? "migration" : "migrations"} ${status.changed.join(", ")} ${status.changed.length === 1 ? "differs" : "differ"} from this fabra's`,
        fix: "Use the fabra version that migrated this database.",
      });
      return { checks, current: false };
    }
    if (status.pending.length > 0) {
      checks.push({
        name: "migrations",
        state: "fail",
        detail: `missing ${status.pending.map((m) => `${m.version} (${m.name})`).join(", ")} in schema "${target.schema}"`,
        fix: "Run `fabra migrate`.",
      });
      return { checks, current: false };
    }
    checks.push({
      name: "migrations",
      state: "ok",
      detail: `schema "${target.schema}" at migration ${Math.max(0, ...status.applied)}`,
    });
    return { checks, current: true };
  } catch (err) {
    checks.push(failedCheck(`${label} checks`, err));
    return { checks, current: false };
  } finally {
    await db.close();
  }
}

/** The ledger's append-only triggers are on, and a row inserts (in a transaction rolled back). */
export async function probeLedger(db: PgDatabase): Promise<StoreCheck> {
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
      return {
        name,
        state: "fail",
        detail: "the ledger's append-only triggers are missing or disabled",
        fix: "Re-create them (see migration 1) or restore the schema; records must not be alterable.",
      };
    }
    return {
      name,
      state: "ok",
      detail: "insert accepted (in a transaction rolled back: nothing written); UPDATE/DELETE refused by triggers",
    };
  } catch (err) {
    return failedCheck(name, err);
  }
}

/** A value and a run written, read back through the point-in-time index, then rolled back. */
export async function probeHistory(db: PgDatabase): Promise<StoreCheck> {
  const name = "feature history writable";
  try {
    const runId = `run_doctor-probe-${randomUUID()}`;
    const now = nowDatetime();
    const read = await db.withClient(async (c) => {
      await c.query("BEGIN");
      try {
        await c.query(
          `INSERT INTO ${db.ident("fabra_materialize_runs")} (run_id, feature, trigger, status, started_at) VALUES ($1, $2, 'manual', 'running', $3::timestamptz)`,
          [runId, runId, now],
        );
        await c.query(
          `INSERT INTO ${db.ident("fabra_feature_values")} (feature, entity_id, value_json, computed_at, run_id, known_at) VALUES ($1, 'probe', '12.0', $2::timestamptz, $1, $2::timestamptz)`,
          [runId, now],
        );
        return await c.query<{ value_json: string }>(
          `SELECT value_json FROM ${db.ident("fabra_feature_values")} WHERE feature = $1 AND entity_id = 'probe' AND computed_at <= $2::timestamptz
           ORDER BY computed_at DESC, known_at DESC, run_id COLLATE "C" DESC LIMIT 1`,
          [runId, now],
        );
      } finally {
        await c.query("ROLLBACK");
      }
    });
    if (read[0]?.value_json !== "12.0") {
      return {
        name,
        state: "fail",
        detail: "a value written was not read back as written",
        fix: "Check the fabra_feature_values table against migration 3 (`fabra migrate`).",
      };
    }
    return {
      name,
      state: "ok",
      detail: "value and run inserted and read back point-in-time (in a transaction rolled back: nothing written)",
    };
  } catch (err) {
    return failedCheck(name, err);
  }
}

/** pgvector (a warning when searching by exact scan) and every vector index's dimensions against the embedder's. */
export async function probeVector(db: PgDatabase, embedderDims: number): Promise<StoreCheck[]> {
  try {
    const checks: StoreCheck[] = [];
    const ext = await vectorExtension(db);
    checks.push(
      ext.installed
        ? { name: "pgvector", state: "ok", detail: `vector ${ext.installed}: HNSW cosine indexes` }
        : ext.available
          ? {
              name: "pgvector",
              state: "warn",
              detail: `vector ${ext.available} is on the server but not created in this database; searching by exact scan`,
              fix: "Run `fabra migrate` (it creates the extension when allowed).",
            }
          : {
              name: "pgvector",
              state: "warn",
              detail:
                "not installed on this Postgres server; searching by exact scan (correct, but its cost grows with the number of chunks)",
              fix: "Install pgvector on the server (e.g. the postgresql-<version>-pgvector package) and run `fabra migrate` for HNSW indexes.",
            },
    );
    const indexes = await db.query<{ name: string; dimensions: number }>(
      `SELECT name, dimensions FROM ${db.ident("fabra_vector_indexes")} ORDER BY name`,
    );
    const wrong = indexes.filter((i) => Number(i.dimensions) !== embedderDims);
    checks.push(
      wrong.length === 0
        ? {
            name: "vector indexes",
            state: "ok",
            detail: `${plural(indexes.length, "index", "indexes")}, all ${embedderDims}-dimension like the embedder`,
          }
        : {
            name: "vector indexes",
            state: "fail",
            detail: `${wrong.map((i) => `"${i.name}" is ${i.dimensions}-dimension`).join(", ")}; the embedder makes ${embedderDims}`,
            fix: "Re-index those documents into new indexes, or restore the embedder config they were built with.",
          },
    );
    return checks;
  } catch (err) {
    return [failedCheck(`${db.target.service} (pgvector)`, err)];
  }
}
