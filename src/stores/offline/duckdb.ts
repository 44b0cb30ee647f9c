// Offline feature history on embedded DuckDB: one row per computed value, kind-preserving JSON text,
// unique per (feature, entity, run) so a re-run of a materialization never duplicates a value.
import { randomUUID } from "node:crypto";
import { fromEpochMicros } from "../../record/datetime.js";
import { DuckDatabase } from "../shared/duckdb-database.js";
import type { FeatureValueRow, OfflineStore } from "../types.js";

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS fabra_feature_values (
     feature VARCHAR NOT NULL,
     entity_id VARCHAR NOT NULL,
     value_json VARCHAR NOT NULL,
     computed_at TIMESTAMP NOT NULL,
     run_id VARCHAR NOT NULL,
     PRIMARY KEY (feature, entity_id, run_id)
   )`,
];

/** Values computed on read have no run; they get a run id of their own so each is kept. */
const READ_RUN_PREFIX = "read:";
const ROWS_PER_STATEMENT = 500;

interface Row {
  feature: string;
  entity_id: string;
  value_json: string;
  computed_us: bigint;
  run_id: string;
}

const toValueRow = (r: Row): FeatureValueRow => ({
  feature: r.feature,
  entityId: r.entity_id,
  valueJson: r.value_json,
  computedAt: fromEpochMicros(r.computed_us),
  runId: r.run_id.startsWith(READ_RUN_PREFIX) ? null : r.run_id,
});

export class DuckDBOfflineStore implements OfflineStore {
  readonly capabilities = { concurrentWriters: false, persistent: true };

  private constructor(readonly db: DuckDatabase) {}

  static async open(path: string): Promise<DuckDBOfflineStore> {
    const db = await DuckDatabase.open(path);
    try {
      for (const sql of SCHEMA) await db.run(sql);
    } catch (err) {
      await db.close();
      throw err;
    }
    return new DuckDBOfflineStore(db);
  }

  async writeValues(rows: FeatureValueRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db.transaction(async (run) => {
      for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
        const batch = rows.slice(i, i + ROWS_PER_STATEMENT);
        const params: string[] = [];
        const tuples = batch.map((r) => {
          params.push(r.feature, r.entityId, r.valueJson, r.computedAt, r.runId ?? READ_RUN_PREFIX + randomUUID());
          const n = params.length;
          return `($${n - 4}, $${n - 3}, $${n - 2}, $${n - 1}::TIMESTAMP, $${n})`;
        });
        await run(`INSERT INTO fabra_feature_values VALUES ${tuples.join(", ")} ON CONFLICT DO NOTHING`, params);
      }
    });
  }

  async latest(feature: string, entityId: string, asOf?: string): Promise<FeatureValueRow | null> {
    const params: string[] = [feature, entityId];
    let bound = "";
    if (asOf !== undefined) {
      params.push(asOf);
      bound = "AND computed_at <= $3::TIMESTAMP";
    }
    const rows = await this.db.query<Row>(
      `SELECT feature, entity_id, value_json, epoch_us(computed_at) AS computed_us, run_id FROM fabra_feature_values
       WHERE feature = $1 AND entity_id = $2 ${bound} ORDER BY computed_at DESC, run_id DESC LIMIT 1`,
      params,
    );
    return rows[0] ? toValueRow(rows[0]) : null;
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

export function open(path: string): Promise<DuckDBOfflineStore> {
  return DuckDBOfflineStore.open(path);
}
