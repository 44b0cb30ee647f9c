// Offline feature history on embedded DuckDB: one row per computed value, kind-preserving JSON text, unique per
// (feature, entity, run) so a re-run of a materialization never duplicates a value; materialization runs; the
// point-in-time join (duckdb-pit.ts).
import { DuckDBTimestampValue, listValue, SELECT_STATEMENT } from "./driver.js";
import { FabraError } from "../../errors.js";
import { nowDatetime, toEpochMicros } from "../../record/datetime.js";
import { DuckDatabase } from "./database.js";
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
import {
  checkEntityIds,
  checkFinalStatus,
  entityQueryFailed,
  entityQueryText,
  newRun,
  toRun,
  toValueRow,
  unknownRun,
  type StoredRunRow,
  type StoredValueRow,
} from "../offline-history.js";
import { pointInTime } from "./offline-pit.js";
import { describeDuckHistoryTable } from "./history-table.js";
import { importFile } from "./offline-import.js";
import { ensureTiesTable, writeValues } from "./offline-write.js";

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS fabra_feature_values (
     feature VARCHAR NOT NULL,
     entity_id VARCHAR NOT NULL,
     value_json VARCHAR NOT NULL,
     computed_at TIMESTAMP NOT NULL,
     run_id VARCHAR NOT NULL,
     known_at TIMESTAMP NOT NULL,
     PRIMARY KEY (feature, entity_id, run_id)
   )`,
  `CREATE TABLE IF NOT EXISTS fabra_materialize_runs (
     run_id VARCHAR PRIMARY KEY,
     feature VARCHAR NOT NULL,
     trigger VARCHAR NOT NULL,
     status VARCHAR NOT NULL,
     started_at TIMESTAMP NOT NULL,
     finished_at TIMESTAMP,
     entities_written BIGINT NOT NULL DEFAULT 0,
     entities_failed BIGINT NOT NULL DEFAULT 0,
     error VARCHAR,
     attempt INTEGER NOT NULL DEFAULT 1
   )`,
  // Per connection: batches are appended here, then moved into history with ON CONFLICT DO NOTHING (duckdb-write.ts).
  `CREATE TEMP TABLE IF NOT EXISTS fabra_stage_values (
     feature VARCHAR, entity_id VARCHAR, value_json VARCHAR, computed_at TIMESTAMP, run_id VARCHAR, known_at TIMESTAMP
   )`,
  // Event times without an offset are UTC, whatever the machine's zone (this connection only).
  "SET TimeZone = 'UTC'",
];

const RUN_COLUMNS =
  "run_id, feature, trigger, status, epoch_us(started_at) AS started_us, epoch_us(finished_at) AS finished_us, entities_written, entities_failed, error, attempt";

export class DuckDBOfflineStore implements OfflineStore {
  readonly capabilities: OfflineCapabilities = {
    concurrentWriters: false,
    persistent: true,
    sharedAcrossProcesses: false,
    readsEventFiles: true,
  };

  private constructor(readonly db: DuckDatabase) {}

  static async open(path: string): Promise<DuckDBOfflineStore> {
    const db = await DuckDatabase.open(path);
    try {
      for (const sql of SCHEMA) await db.run(sql);
      await ensureTiesTable(db);
    } catch (err) {
      await db.close();
      throw err;
    }
    return new DuckDBOfflineStore(db);
  }

  writeValues(rows: FeatureValueRow[]): Promise<void> {
    return writeValues(this.db, rows);
  }

  importFile(plan: ImportFilePlan): Promise<ImportFileResult> {
    return importFile(this.db, plan);
  }

  async latest(feature: string, entityId: string, asOf?: string): Promise<FeatureValueRow | null> {
    const params: (string | DuckDBTimestampValue)[] = [feature, entityId];
    let bound = "";
    if (asOf !== undefined) {
      params.push(new DuckDBTimestampValue(toEpochMicros(asOf)));
      bound = "AND computed_at <= $3";
    }
    const rows = await this.db.query<StoredValueRow>(
      `SELECT feature, entity_id, value_json, epoch_us(computed_at) AS computed_us, epoch_us(known_at) AS known_us, run_id
       FROM fabra_feature_values WHERE feature = $1 AND entity_id = $2 ${bound}
       ORDER BY computed_at DESC, known_at DESC, run_id DESC LIMIT 1`,
      params,
    );
    return rows[0] ? toValueRow(rows[0]) : null;
  }

  pointInTime(
    events: PitEventKeys | PitEventFile,
    features: PitFeature[],
    options: PitOptions = {},
  ): Promise<PitResult> {
    return pointInTime(this.db, events, features, options);
  }

  async checkHistoryTable(feature: string, table: HistoryTable): Promise<string> {
    return (await this.db.exclusive((c) => describeDuckHistoryTable(c, feature, table, `DuckDB: ${this.db.path}`)))
      .description;
  }

  // ---------------------------------------------------------------- materialization runs

  async beginRun(feature: string, trigger: RunTrigger): Promise<{ run: MaterializationRun; resumed: boolean }> {
    return this.db.transaction(async (run, connection) => {
      const open = (
        await connection.runAndReadAll(
          `SELECT ${RUN_COLUMNS} FROM fabra_materialize_runs WHERE feature = $1 AND status IN ('running', 'interrupted')
           ORDER BY started_at DESC, run_id DESC LIMIT 1`,
          [feature],
        )
      ).getRowObjectsJS() as unknown as StoredRunRow[];
      const existing = open[0];
      if (existing) {
        const attempt = Number(existing.attempt) + 1;
        await run(
          "UPDATE fabra_materialize_runs SET status = 'running', finished_at = NULL, error = NULL, attempt = $2 WHERE run_id = $1",
          [existing.run_id, attempt],
        );
        return {
          run: { ...toRun(existing), status: "running", finishedAt: null, error: null, attempt },
          resumed: true,
        };
      }
      const created = newRun(feature, trigger);
      await run(
        `INSERT INTO fabra_materialize_runs (run_id, feature, trigger, status, started_at) VALUES ($1, $2, $3, 'running', $4)`,
        [created.runId, feature, trigger, new DuckDBTimestampValue(toEpochMicros(created.startedAt))],
      );
      return { run: created, resumed: false };
    });
  }

  async writtenEntities(feature: string, runId: string): Promise<Set<string>> {
    const rows = await this.db.exclusive(async (c) =>
      (
        await c.runAndReadAll("SELECT entity_id FROM fabra_feature_values WHERE feature = $1 AND run_id = $2", [
          feature,
          runId,
        ])
      ).getColumnsJS(),
    );
    return new Set((rows[0] ?? []) as string[]);
  }

  async endRun(runId: string, outcome: RunOutcome): Promise<MaterializationRun> {
    checkFinalStatus(outcome);
    const rows = await this.db.transaction(async (run, connection) => {
      // Fenced (an attempt given): only while the run is still running as that attempt.
      const fence = outcome.attempt === undefined ? "" : " AND status = 'running' AND attempt = $7";
      await run(
        `UPDATE fabra_materialize_runs SET status = $2, finished_at = $3, entities_written = $4, entities_failed = $5, error = $6 WHERE run_id = $1${fence}`,
        [
          runId,
          outcome.status,
          new DuckDBTimestampValue(toEpochMicros(nowDatetime())),
          outcome.entitiesWritten,
          outcome.entitiesFailed,
          outcome.error,
          ...(outcome.attempt === undefined ? [] : [outcome.attempt]),
        ],
      );
      return (
        await connection.runAndReadAll(`SELECT ${RUN_COLUMNS} FROM fabra_materialize_runs WHERE run_id = $1`, [runId])
      ).getRowObjectsJS() as unknown as StoredRunRow[];
    });
    const row = rows[0];
    if (!row) throw unknownRun(runId);
    return toRun(row);
  }

  async latestRuns(features?: string[]): Promise<MaterializationRun[]> {
    if (features && features.length === 0) return [];
    const filter = features ? "WHERE feature IN (SELECT unnest($1::VARCHAR[]))" : "";
    const rows = await this.db.query<StoredRunRow>(
      `SELECT ${RUN_COLUMNS} FROM fabra_materialize_runs ${filter}
       QUALIFY row_number() OVER (PARTITION BY feature ORDER BY started_at DESC, run_id DESC) = 1 ORDER BY feature`,
      features ? [listValue(features)] : [],
    );
    return rows.map(toRun);
  }

  // ---------------------------------------------------------------- entity sources

  /**
   * The user's SQL as ONE SELECT statement (a script of several, or a statement that writes, is refused before
   * anything runs), run inside a transaction that is always rolled back: read-only, as on Postgres.
   */
  async queryEntityIds(sql: string): Promise<string[]> {
    const text = entityQueryText(sql);
    const where = `DuckDB: ${this.db.path}, one read-only SELECT`;
    let columns: unknown[][];
    try {
      columns = await this.db.exclusive(async (c) => {
        const own = await c.extractStatements(text);
        if (own.count !== 1) throw notOneSelect(text, `${own.count} statements`);
        const type = (await own.prepare(0)).statementType;
        if (type !== SELECT_STATEMENT) throw notOneSelect(text, "a statement other than SELECT");
        const wrapped = await c.extractStatements(`SELECT CAST(#1 AS VARCHAR) FROM (${text}\n) AS fabra_entity_query`);
        if (wrapped.count !== 1) throw notOneSelect(text, `${wrapped.count} statements`);
        const query = await wrapped.prepare(0);
        await c.run("BEGIN TRANSACTION");
        try {
          return (await query.runAndReadAll()).getColumnsJS();
        } finally {
          await c.run("ROLLBACK").catch(() => undefined);
        }
      });
    } catch (err) {
      if (err instanceof FabraError && err.code === "INVALID_DEFINITION") throw err;
      throw entityQueryFailed(err, text, where);
    }
    return checkEntityIds((columns[0] ?? []) as (string | null)[], text);
  }

  async probe(): Promise<StoreCheck[]> {
    const rows = await this.db.query<{ v: bigint; r: bigint }>(
      "SELECT (SELECT count(*) FROM fabra_feature_values) AS v, (SELECT count(*) FROM fabra_materialize_runs) AS r",
    );
    const counts = rows[0];
    return [
      {
        name: "feature history (DuckDB)",
        state: "ok",
        detail: `${this.db.path}: ${counts?.v ?? 0} feature values, ${counts?.r ?? 0} materialization runs`,
      },
    ];
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

export function open(path: string): Promise<DuckDBOfflineStore> {
  return DuckDBOfflineStore.open(path);
}

/** A `{ sql }` entity source that is not one SELECT: refused before anything runs (the caller names the feature). */
function notOneSelect(text: string, found: string): FabraError {
  return new FabraError("INVALID_DEFINITION", `The entities query must be one SELECT statement; it is ${found}`, {
    hint: `Query: ${text}. An entities query only reads (it runs read-only against the offline store): write one SELECT whose first column is the entity id, without other statements.`,
  });
}
