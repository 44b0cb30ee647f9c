// Offline feature history on Postgres (migration 3): one row per computed value, kind-preserving JSON text,
// unique per (feature, entity, run), written in idempotent batches (unnest arrays, ON CONFLICT DO NOTHING) by any
// number of processes; materialization runs; the point-in-time join (postgres-pit.ts); the entities query of a
// feature run read-only with a statement timeout. Events files are read by the engine (readsEventFiles: false).
import pg from "pg";
import { FabraError } from "../../errors.js";
import { nowDatetime } from "../../record/datetime.js";
import { openMigrated } from "./migrate.js";
import { epochMicrosSql, isConnectionError, type PgDatabase, type PgQueryable, type PgTarget } from "./pool.js";
import {
  checkEntityIds,
  checkFinalStatus,
  entityQueryFailed,
  entityQueryText,
  newRun,
  storedRunId,
  toRun,
  toValueRow,
  unknownRun,
  type StoredRunRow,
  type StoredValueRow,
} from "../offline-history.js";
import type {
  FeatureValueRow,
  HistoryTable,
  ImportFilePlan,
  ImportFileResult,
  MaterializationRun,
  OfflineCapabilities,
  OfflineStore,
  PitEventFile,
  PitEventKeys,
  PitFeature,
  PitOptions,
  PitResult,
  RunOutcome,
  RunTrigger,
  StoreCheck,
} from "../types.js";
import { probeHistory } from "./probe.js";
import { describePgHistoryTable } from "./history-table.js";
import { importFile } from "./offline-import.js";
import { pgTimestamp, pointInTime, retryOnDroppedConnection } from "./offline-pit.js";

/** Rows per INSERT statement; a bigger batch is several statements in one transaction. */
const WRITE_CHUNK = 5000;
const UNIQUE_VIOLATION = "23505";
const DEFAULT_ENTITY_QUERY_TIMEOUT_MS = 60_000;

export interface PostgresOfflineOptions {
  /** Statement timeout of a feature's entities query (default 60s). */
  entityQueryTimeoutMs?: number;
}

const VALUE_COLUMNS = `feature, entity_id, value_json, ${epochMicrosSql("computed_at")} AS computed_us, ${epochMicrosSql("known_at")} AS known_us, run_id`;
const RUN_COLUMNS = `run_id, feature, trigger, status, ${epochMicrosSql("started_at")} AS started_us,
  CASE WHEN finished_at IS NULL THEN NULL ELSE ${epochMicrosSql("finished_at")} END AS finished_us, entities_written, entities_failed, error, attempt`;

export class PostgresOfflineStore implements OfflineStore {
  readonly capabilities: OfflineCapabilities = {
    concurrentWriters: true,
    persistent: true,
    sharedAcrossProcesses: true,
    readsEventFiles: false,
  };
  private readonly values: string;
  private readonly runs: string;

  private constructor(
    readonly db: PgDatabase,
    private readonly options: PostgresOfflineOptions,
  ) {
    this.values = db.ident("fabra_feature_values");
    this.runs = db.ident("fabra_materialize_runs");
  }

  static async open(target: PgTarget, options: PostgresOfflineOptions = {}): Promise<PostgresOfflineStore> {
    const db = await openMigrated(target);
    return new PostgresOfflineStore(db, options);
  }

  /**
   * One INSERT ... SELECT FROM unnest(arrays) per chunk, ON CONFLICT DO NOTHING: a (feature, entity, run) already
   * stored (or twice in the batch) keeps its first value. Idempotent (read-value run ids are drawn before the
   * first attempt), so after a dropped connection the whole batch is written again on a fresh one.
   */
  async writeValues(rows: FeatureValueRow[]): Promise<void> {
    if (rows.length === 0) return;
    const columns: [string[], string[], string[], string[], string[], string[]] = [[], [], [], [], [], []];
    for (const r of rows) {
      columns[0].push(r.feature);
      columns[1].push(r.entityId);
      columns[2].push(r.valueJson);
      columns[3].push(pgTimestamp(r.computedAt));
      columns[4].push(storedRunId(r.runId));
      columns[5].push(r.knownAt === undefined ? (columns[3].at(-1) as string) : pgTimestamp(r.knownAt));
    }
    const sql = `INSERT INTO ${this.values} (feature, entity_id, value_json, computed_at, run_id, known_at)
      SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::timestamptz[])
      ON CONFLICT (feature, entity_id, run_id) DO NOTHING`;
    if (rows.length <= WRITE_CHUNK) {
      await this.db.query(sql, columns, { retry: true });
      return;
    }
    await retryOnDroppedConnection(this.db, () =>
      this.db.transaction(async (tx) => {
        for (let i = 0; i < rows.length; i += WRITE_CHUNK)
          await tx.query(
            sql,
            columns.map((c) => c.slice(i, i + WRITE_CHUNK)),
          );
      }),
    );
  }

  /** The file staged in an in-memory DuckDB, each batch sent with COPY ... FROM STDIN (offline-import.ts). */
  importFile(plan: ImportFilePlan): Promise<ImportFileResult> {
    return importFile(this.db, this.values, plan);
  }

  async latest(feature: string, entityId: string, asOf?: string): Promise<FeatureValueRow | null> {
    const params: string[] = [feature, entityId];
    let bound = "";
    if (asOf !== undefined) {
      params.push(pgTimestamp(asOf));
      bound = "AND computed_at <= $3::timestamptz";
    }
    const rows = await this.db.query<StoredValueRow>(
      `SELECT ${VALUE_COLUMNS} FROM ${this.values} WHERE feature = $1 AND entity_id = $2 ${bound}
       ORDER BY computed_at DESC, known_at DESC, run_id COLLATE "C" DESC LIMIT 1`,
      params,
      { retry: true },
    );
    return rows[0] ? toValueRow(rows[0]) : null;
  }

  pointInTime(
    events: PitEventKeys | PitEventFile,
    features: PitFeature[],
    options: PitOptions = {},
  ): Promise<PitResult> {
    if (events.kind === "file") {
      throw new FabraError(
        "INVALID_ARGUMENT",
        "The Postgres offline store does not read events files (capabilities.readsEventFiles is false)",
        {
          hint: "Pass the events as keys; getTrainingData reads CSV/Parquet files itself for this store.",
        },
      );
    }
    return pointInTime(this.db, this.values, events, features, options);
  }

  async checkHistoryTable(feature: string, table: HistoryTable): Promise<string> {
    return (await describePgHistoryTable(this.db, feature, table)).description;
  }

  // ---------------------------------------------------------------- materialization runs

  /** Resumes the feature's unfinished run or starts one; the partial unique index allows one unfinished run per feature. */
  async beginRun(feature: string, trigger: RunTrigger): Promise<{ run: MaterializationRun; resumed: boolean }> {
    const attempt = () =>
      this.db.transaction(async (tx) => {
        const open = await tx.query<StoredRunRow>(
          `SELECT ${RUN_COLUMNS} FROM ${this.runs} WHERE feature = $1 AND status IN ('running', 'interrupted')
           ORDER BY started_at DESC, run_id DESC LIMIT 1 FOR UPDATE`,
          [feature],
        );
        const existing = open[0];
        if (existing) {
          const attempt = Number(existing.attempt) + 1;
          await tx.query(
            `UPDATE ${this.runs} SET status = 'running', finished_at = NULL, error = NULL, attempt = $2 WHERE run_id = $1`,
            [existing.run_id, attempt],
          );
          return {
            run: { ...toRun(existing), status: "running" as const, finishedAt: null, error: null, attempt },
            resumed: true,
          };
        }
        const created = newRun(feature, trigger);
        await tx.query(
          `INSERT INTO ${this.runs} (run_id, feature, trigger, status, started_at) VALUES ($1, $2, $3, 'running', $4::timestamptz)`,
          [created.runId, feature, trigger, created.startedAt],
        );
        return { run: created, resumed: false };
      });
    try {
      return await attempt();
    } catch (err) {
      // Another process began a run of this feature at the same moment: resume that one.
      if (!(err instanceof FabraError && err.details?.code === UNIQUE_VIOLATION)) throw err;
      return attempt();
    }
  }

  async writtenEntities(feature: string, runId: string): Promise<Set<string>> {
    const rows = await this.db.query<{ entity_id: string }>(
      `SELECT entity_id FROM ${this.values} WHERE feature = $1 AND run_id = $2`,
      [feature, runId],
      { retry: true },
    );
    return new Set(rows.map((r) => r.entity_id));
  }

  async endRun(runId: string, outcome: RunOutcome): Promise<MaterializationRun> {
    checkFinalStatus(outcome);
    // Fenced (an attempt given): only while the run is still running as that attempt; else it is read as stored.
    // Retrying is safe either way: the same values again, or (fenced) nothing once the first try ended it.
    const fenced = outcome.attempt !== undefined;
    const rows = await this.db.query<StoredRunRow>(
      `UPDATE ${this.runs} SET status = $2, finished_at = $3::timestamptz, entities_written = $4, entities_failed = $5, error = $6
       WHERE run_id = $1${fenced ? " AND status = 'running' AND attempt = $7" : ""} RETURNING ${RUN_COLUMNS}`,
      [
        runId,
        outcome.status,
        nowDatetime(),
        outcome.entitiesWritten,
        outcome.entitiesFailed,
        outcome.error,
        ...(fenced ? [outcome.attempt] : []),
      ],
      { retry: true },
    );
    if (fenced && rows.length === 0)
      rows.push(
        ...(await this.db.query<StoredRunRow>(`SELECT ${RUN_COLUMNS} FROM ${this.runs} WHERE run_id = $1`, [runId], {
          retry: true,
        })),
      );
    const row = rows[0];
    if (!row) throw unknownRun(runId);
    return toRun(row);
  }

  async latestRuns(features?: string[]): Promise<MaterializationRun[]> {
    if (features && features.length === 0) return [];
    const rows = await this.db.query<StoredRunRow>(
      `SELECT DISTINCT ON (feature) ${RUN_COLUMNS} FROM ${this.runs} ${features ? "WHERE feature = ANY($1::text[])" : ""}
       ORDER BY feature, started_at DESC, run_id DESC`,
      features ? [features] : [],
      { retry: true },
    );
    return rows.map(toRun);
  }

  // ---------------------------------------------------------------- entity sources

  /**
   * The user's SQL in a READ ONLY transaction with a statement timeout, with fabra's schema first on the search
   * path (then the role's own). Bound parameters make it one statement (the extended protocol refuses several).
   */
  async queryEntityIds(sql: string): Promise<string[]> {
    const text = entityQueryText(sql);
    const timeoutMs = this.options.entityQueryTimeoutMs ?? DEFAULT_ENTITY_QUERY_TIMEOUT_MS;
    const where = `Postgres schema "${this.db.target.schema}", read-only, ${timeoutMs} ms statement timeout`;
    const ids = await this.db.withClient(async (c) => {
      await c.query("BEGIN READ ONLY");
      try {
        await c.query(
          "SELECT set_config('statement_timeout', $1, true), set_config('search_path', $2 || ', ' || current_setting('search_path'), true)",
          [`${Math.max(1, Math.round(timeoutMs))}ms`, pg.escapeIdentifier(this.db.target.schema)],
        );
        const rows = await runUserQuery(c, text, where, timeoutMs);
        return rows.map((r) => r.id);
      } finally {
        await c.query("ROLLBACK").catch(() => undefined);
      }
    });
    return checkEntityIds(ids, text);
  }

  /** A value and a run written and read back point-in-time (rolled back: nothing written). */
  async probe(): Promise<StoreCheck[]> {
    return [await probeHistory(this.db)];
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

async function runUserQuery(
  c: PgQueryable,
  text: string,
  where: string,
  timeoutMs: number,
): Promise<{ id: string | null }[]> {
  try {
    // The alias list renames only the first column (the id), whatever the query calls it; LIMIT NULL is no limit.
    return await c.query<{ id: string | null }>(
      `SELECT CAST(q.fabra_entity_id AS text) AS id FROM (${text}) AS q(fabra_entity_id) LIMIT $1`,
      [null],
      { timeoutMs },
    );
  } catch (err) {
    if (isConnectionError(err)) throw err;
    const code = (err as { code?: unknown }).code;
    if (code === "57014") {
      throw new FabraError(
        "INVALID_DEFINITION",
        `The entities query ran longer than ${timeoutMs} ms and was cancelled`,
        {
          hint: `Make it faster (an index, fewer rows), or materialize with --entities FILE. Query: ${text}`,
          cause: err,
        },
      );
    }
    if (code === "25006") {
      throw new FabraError(
        "INVALID_DEFINITION",
        "The entities query tried to write; it runs in a read-only transaction",
        {
          hint: `Select the entity ids only. Query: ${text}`,
          cause: err,
        },
      );
    }
    throw entityQueryFailed(err, text, where);
  }
}

export function open(target: PgTarget, options?: PostgresOfflineOptions): Promise<PostgresOfflineStore> {
  return PostgresOfflineStore.open(target, options);
}
