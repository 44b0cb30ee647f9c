// The point-in-time join on DuckDB: one ASOF LEFT JOIN per feature against its history, events either appended
// from memory or read straight from a CSV/Parquet file by DuckDB (no round trip through JS; io/event-file.ts
// builds the file's relation).
// Ties on computed_at go to the greatest known_at, then run_id: for a feature whose history has ties
// (offline-write.ts tracks it) the join key is the struct (computed_at, known_at, run_id) and an event's key is
// (its time, infinity, a string above every run id), so a value at exactly the event's time is still visible; other
// features join on computed_at alone (cheaper). By known time (options.knownTime) a grouped join takes arg_max.
import type { DuckDBConnection, DuckDBValue } from "@duckdb/node-api";
import { DuckDBTimestampValue } from "./driver.js";
import { normalForm } from "../../io/duckdb-sql.js";
import { csvAwareError, describeEventFile, eventRelation, rowObjects } from "../../io/event-file.js";
import type { DuckDatabase } from "./database.js";
import { checkPitFeatures, checkPitKeys, emptyPitResult } from "../offline-history.js";
import type { PitEventFile, PitEventKeys, PitFeature, PitOptions, PitResult } from "../types.js";
import { epochMicros, featuresWithTies } from "./offline-write.js";
import { describeDuckHistoryTable } from "./history-table.js";

let tableCounter = 0;

export async function pointInTime(
  db: DuckDatabase,
  events: PitEventKeys | PitEventFile,
  features: PitFeature[],
  options: PitOptions,
): Promise<PitResult> {
  checkPitFeatures(features);
  return events.kind === "keys" ? joinKeys(db, events, features, options) : joinFile(db, events, features, options);
}

// ---------------------------------------------------------------- events from memory

async function joinKeys(
  db: DuckDatabase,
  events: PitEventKeys,
  features: PitFeature[],
  options: PitOptions,
): Promise<PitResult> {
  const n = checkPitKeys(events);
  if (n === 0 || features.length === 0) return emptyPitResult(n, features.length, options);
  const micros = events.timestamps.map(epochMicros);
  const table = `fabra_pit_events_${++tableCounter}`;
  return db.exclusive(async (c) => {
    await c.run(`CREATE TEMP TABLE ${table} (rn INTEGER, entity_id VARCHAR, ts TIMESTAMP)`);
    try {
      const appender = await c.createAppender(table, "main", "temp");
      try {
        for (let i = 0; i < n; i++) {
          appender.appendInteger(i);
          appender.appendVarchar(events.entityIds[i] as string);
          appender.appendTimestamp(new DuckDBTimestampValue(micros[i] as bigint));
          appender.endRow();
        }
        appender.flushSync();
      } finally {
        appender.closeSync();
      }
      const source = `SELECT rn AS __fabra_rn, entity_id AS __fabra_entity, ts AS __fabra_ts FROM temp.main.${table}`;
      const columns = await runJoin(c, source, [], features, options, [], `DuckDB: ${db.path}`);
      return splitResult(columns, 0, features.length, options);
    } finally {
      await c.run(`DROP TABLE IF EXISTS temp.main.${table}`);
    }
  });
}

// ---------------------------------------------------------------- events from a file

async function joinFile(
  db: DuckDatabase,
  events: PitEventFile,
  features: PitFeature[],
  options: PitOptions,
): Promise<PitResult> {
  return db.exclusive(async (c) => {
    const relation = eventRelation(
      events,
      await describeEventFile(c, events.path, events.format),
      features.map((f) => f.name),
    );
    let result: unknown[][];
    try {
      result = await runJoin(
        c,
        relation.source,
        [events.path],
        features,
        options,
        relation.select,
        `DuckDB: ${db.path}`,
      );
    } catch (err) {
      throw await csvAwareError(err, events.path, events.format);
    }
    const columns = relation.columns.map((d) => d.name);
    const rows = rowObjects(columns, result.slice(0, columns.length));
    return { ...splitResult(result, columns.length, features.length, options), events: rows };
  });
}

// ---------------------------------------------------------------- the join

async function runJoin(
  c: DuckDBConnection,
  source: string,
  sourceParams: DuckDBValue[],
  features: PitFeature[],
  options: PitOptions,
  eventSelect: string[],
  where: string,
): Promise<unknown[][]> {
  const params: DuckDBValue[] = [...sourceParams];
  const param = (v: DuckDBValue) => {
    params.push(v);
    return `$${params.length}`;
  };
  const tied = await featuresWithTies(
    c,
    features.filter((f) => f.table === undefined).map((f) => f.name),
  );
  // A feature read from a user's table joins that table where it is (history-table.ts), always by the tie key.
  const sources = new Map<number, string>();
  for (const [i, f] of features.entries())
    if (f.table) sources.set(i, (await describeDuckHistoryTable(c, f.name, f.table, where)).relation);
  const keyed = tied.size > 0 || sources.size > 0;
  const ctes = [
    `e AS (SELECT *${keyed ? `, {'t': __fabra_ts, 'k': 'infinity'::TIMESTAMP, 'r': chr(1114111)} AS __fabra_k` : ""} FROM (${source}))`,
  ];
  const select = [...eventSelect];
  const joins: string[] = [];
  features.forEach((f, i) => {
    const own = sources.get(i);
    const name = own === undefined ? param(f.name) : "";
    const history = own === undefined ? `(SELECT * FROM fabra_feature_values WHERE feature = ${name})` : `(${own})`;
    if (options.knownTime) {
      // Known time: a value counts only once it was known; no ASOF join takes a second bound, so the latest
      // (computed_at, known_at, run_id) of each event's candidates is taken by arg_max.
      ctes.push(
        `h${i} AS (SELECT e.__fabra_rn AS rn, arg_max(f.value_json, {'t': f.computed_at, 'k': f.known_at, 'r': f.run_id}) AS value_json, max(f.computed_at) AS computed_at, true AS k
          FROM e JOIN ${history} f ON f.entity_id = e.__fabra_entity AND f.computed_at <= e.__fabra_ts AND f.known_at <= e.__fabra_ts
          GROUP BY e.__fabra_rn)`,
      );
      joins.push(`LEFT JOIN h${i} ON e.__fabra_rn = h${i}.rn`);
    } else {
      const byRun = own !== undefined || tied.has(f.name);
      ctes.push(
        `h${i} AS (SELECT entity_id, ${byRun ? "{'t': computed_at, 'k': known_at, 'r': run_id}" : "computed_at"} AS k, computed_at, value_json FROM ${history})`,
      );
      joins.push(
        `ASOF LEFT JOIN h${i} ON e.__fabra_entity = h${i}.entity_id AND ${byRun ? "e.__fabra_k" : "e.__fabra_ts"} >= h${i}.k`,
      );
    }
    const fresh =
      f.maxAgeMs === undefined
        ? `h${i}.k IS NOT NULL`
        : `h${i}.computed_at >= e.__fabra_ts - to_microseconds(CAST(${param(BigInt(Math.round(f.maxAgeMs * 1000)))} AS BIGINT))`;
    select.push(`CASE WHEN ${fresh} THEN h${i}.value_json END`);
    if (options.includeComputedAt) select.push(`CASE WHEN ${fresh} THEN ${normalForm(`h${i}.computed_at`)} END`);
  });
  // No ORDER BY: the event's position comes back as the last column and the rows are put in place in JS (cheaper).
  select.push("CAST(e.__fabra_rn AS INTEGER)");
  const sql = `WITH ${ctes.join(",\n")}\nSELECT ${select.join(", ")} FROM e ${joins.join(" ")}`;
  const columns = (await c.runAndReadAll(sql, params)).getColumnsJS() as unknown[][];
  const position = columns.pop() as number[];
  return columns.map((col) => {
    const ordered = new Array<unknown>(col.length);
    for (let i = 0; i < col.length; i++) ordered[position[i] as number] = col[i];
    return ordered;
  });
}

function splitResult(columns: unknown[][], offset: number, featureCount: number, options: PitOptions): PitResult {
  const per = options.includeComputedAt ? 2 : 1;
  const values: (string | null)[][] = [];
  const computedAt: (string | null)[][] = [];
  for (let f = 0; f < featureCount; f++) {
    values.push(columns[offset + f * per] as (string | null)[]);
    if (options.includeComputedAt) computedAt.push(columns[offset + f * per + 1] as (string | null)[]);
  }
  return options.includeComputedAt ? { values, computedAt } : { values };
}
