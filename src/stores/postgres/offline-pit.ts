// The point-in-time join on Postgres: the events go in as arrays (unnest ... WITH ORDINALITY), and each feature is a
// LEFT JOIN LATERAL (... WHERE entity_id = e.entity_id AND computed_at <= e.ts ORDER BY computed_at DESC,
// known_at DESC, run_id COLLATE "C" DESC LIMIT 1): one backward probe of the (feature, entity_id, computed_at,
// known_at, run_id) index per event and feature, whatever the history's size (by known time, known_at <= e.ts too). A max age is a lower bound computed exactly in microseconds here.
// Big inputs go in slices, all read in one REPEATABLE READ READ ONLY transaction (one snapshot).
import { FabraError } from "../../errors.js";
import { fromEpochMicros, normalFormMicros, toEpochMicros } from "../../record/datetime.js";
import { checkPitFeatures, checkPitKeys, emptyPitResult } from "../offline-history.js";
import { epochMicrosSql, isConnectionError, type PgDatabase, type PgQueryable } from "./pool.js";
import type { PitEventKeys, PitFeature, PitOptions, PitResult } from "../types.js";
import { describePgHistoryTable, type PgHistorySource } from "./history-table.js";

/** Events per statement. */
export const PIT_CHUNK = 20_000;

/** 0001-01-01T00:00:00Z: nothing in history is older, so a lower bound below it is no bound. */
const MIN_MICROS = -62135596800000000n;

/** A datetime as Postgres reads it (normal form; other ISO text is normalized, invalid text is INVALID_RECORD). */
export function pgTimestamp(text: string): string {
  return normalFormMicros(text) !== null ? text : fromEpochMicros(toEpochMicros(text));
}

const micros = (text: string): bigint => normalFormMicros(text) ?? toEpochMicros(text);

/** Runs idempotent work again, once, when the connection dropped under it. */
export async function retryOnDroppedConnection<T>(db: PgDatabase, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof FabraError && isConnectionError(err.cause))) throw err;
    db.stats.retries++;
    return fn();
  }
}

export async function pointInTime(
  db: PgDatabase,
  table: string,
  events: PitEventKeys,
  features: PitFeature[],
  options: PitOptions,
): Promise<PitResult> {
  checkPitFeatures(features);
  const n = checkPitKeys(events);
  if (n === 0 || features.length === 0) return emptyPitResult(n, features.length, options);
  const timestamps = events.timestamps.map(pgTimestamp);
  const eventMicros = features.some((f) => f.maxAgeMs !== undefined) ? timestamps.map(micros) : null;
  const bounds = features.map((f) => {
    if (f.maxAgeMs === undefined || eventMicros === null) return null;
    const age = BigInt(Math.round(f.maxAgeMs * 1000));
    return eventMicros.map((t) => (t - age < MIN_MICROS ? "-infinity" : fromEpochMicros(t - age)));
  });
  const sources = await Promise.all(
    features.map((f) => (f.table ? describePgHistoryTable(db, f.name, f.table) : null)),
  );
  const { sql, paramsFor } = joinStatement(table, features, bounds, options, sources);
  const result = emptyPitResult(n, features.length, options);
  const valueKeys = features.map((_, k) => `v${k}`);
  const timeKeys = features.map((_, k) => `t${k}`);
  const place = (rows: Record<string, unknown>[], offset: number) => {
    for (let k = 0; k < features.length; k++) {
      const values = result.values[k] as (string | null)[];
      const times = result.computedAt?.[k];
      const valueKey = valueKeys[k] as string;
      const timeKey = timeKeys[k] as string;
      for (const row of rows) {
        const i = offset + (row.i as number) - 1;
        values[i] = row[valueKey] as string | null;
        if (times) {
          const at = row[timeKey] as string | null;
          times[i] = at === null ? null : fromEpochMicros(BigInt(at));
        }
      }
    }
  };
  const slice = (from: number) =>
    paramsFor(
      events.entityIds.slice(from, from + PIT_CHUNK),
      timestamps.slice(from, from + PIT_CHUNK),
      from,
      PIT_CHUNK,
    );
  if (n <= PIT_CHUNK) {
    place(await db.query(sql, slice(0), { retry: true }), 0);
    return result;
  }
  await retryOnDroppedConnection(db, () =>
    db.withClient(async (c: PgQueryable) => {
      await c.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      try {
        for (let from = 0; from < n; from += PIT_CHUNK) place(await c.query(sql, slice(from)), from);
      } finally {
        await c.query("ROLLBACK").catch(() => undefined);
      }
    }),
  );
  return result;
}

/** The join's SQL for these features, and its parameters for a slice of events (exported for plan checks). */
export function joinStatement(
  table: string,
  features: PitFeature[],
  bounds: (string[] | null)[],
  options: PitOptions,
  sources: (PgHistorySource | null)[] = [],
) {
  const select = ["e.i::int AS i"];
  const joins: string[] = [];
  const boundColumns: string[] = [];
  const boundArrays: string[] = [];
  // $1 entity ids, $2 event times, $3.. feature names, then one lower-bound array per feature with a max age.
  let next = 3 + features.length;
  features.forEach((_, k) => {
    const own = sources[k] ?? null;
    // A user's table (history-table.ts) is probed the same way, by its own expressions; its tie-break is the value.
    const at = own ? own.computedAt : "f.computed_at";
    const known = own ? own.knownAt : "f.known_at";
    let lower = "";
    if (bounds[k] !== null) {
      boundArrays.push(`$${next++}::timestamptz[]`);
      boundColumns.push(`lo${k}`);
      lower = ` AND ${at} >= e.lo${k}`;
    }
    if (options.knownTime) lower += ` AND ${known} <= e.ts`;
    select.push(`h${k}.value_json AS v${k}`);
    if (options.includeComputedAt)
      select.push(
        `CASE WHEN h${k}.computed_at IS NULL THEN NULL ELSE ${epochMicrosSql(`h${k}.computed_at`)} END AS t${k}`,
      );
    if (own) {
      // The feature's name parameter is still bound (the numbering is shared): typed here so Postgres accepts it.
      joins.push(`LEFT JOIN LATERAL (
      SELECT ${own.valueJson} AS value_json, ${at} AS computed_at FROM ${own.qualified} f
      WHERE $${3 + k}::text IS NOT NULL AND ${own.entityMatch} AND ${at} <= e.ts${lower}
      ORDER BY ${at} DESC, ${known} DESC, ${own.valueJson} COLLATE "C" DESC LIMIT 1
    ) h${k} ON TRUE`);
      return;
    }
    joins.push(`LEFT JOIN LATERAL (
      SELECT f.value_json, f.computed_at FROM ${table} f
      WHERE f.feature = $${3 + k} AND f.entity_id = e.entity_id AND f.computed_at <= e.ts${lower}
      ORDER BY f.computed_at DESC, f.known_at DESC, f.run_id COLLATE "C" DESC LIMIT 1
    ) h${k} ON TRUE`);
  });
  const source = `unnest($1::text[], $2::timestamptz[]${boundArrays.map((a) => `, ${a}`).join("")}) WITH ORDINALITY AS e(entity_id, ts, ${[...boundColumns, "i"].join(", ")})`;
  const sql = `SELECT ${select.join(", ")} FROM ${source}\n${joins.join("\n")}`;
  const paramsFor = (entityIds: string[], ts: string[], from: number, size: number): unknown[] => [
    entityIds,
    ts,
    ...features.map((f) => f.name),
    ...bounds.filter((b): b is string[] => b !== null).map((b) => b.slice(from, from + size)),
  ];
  return { sql, paramsFor };
}
