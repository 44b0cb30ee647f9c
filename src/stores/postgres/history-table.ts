// A feature's history in a user-managed Postgres table or view, joined in place by the LATERAL probe
// (offline-pit.ts). Described from the catalog: a bare name is looked up in fabra's schema, then the role's search
// path; `schema.table` in that schema (`db.table` only in this database). Names are matched exactly, then ignoring case
// (an unquoted CREATE TABLE folds to lower case), and quoted as the catalog spells them. Values are encoded by the
// column's type as history keeps them (kind-preserving JSON text): integers as integers, double/real/numeric as
// floats (NaN and infinities as null), text as a JSON string, json/jsonb as stored, arrays and records as JSON,
// times as normal-form datetimes. An entity column of a text type is compared as it is (its index serves the probe).
import pg from "pg";
import { describeHistoryColumns, historyColumns, missingHistoryTable, type DescribedColumn } from "../history-table.js";
import type { HistoryTable } from "../types.js";
import type { PgDatabase } from "./pool.js";

/** SQL pieces over the table aliased `f`, for the probe of one event `e`. */
export interface PgHistorySource {
  qualified: string;
  /** The condition that f's entity is e.entity_id. */
  entityMatch: string;
  computedAt: string;
  knownAt: string;
  valueJson: string;
  description: string;
}

const TEXT = /^(text|character varying(\(\d+\))?|varchar|name|citext)$/;
const TIME = /^(timestamp|date$)/;

export async function describePgHistoryTable(
  db: PgDatabase,
  feature: string,
  table: HistoryTable,
): Promise<PgHistorySource> {
  const parts = table.table;
  const where = `Postgres schema "${db.target.schema}"`;
  const name = parts.at(-1) as string;
  const schema = parts.length >= 2 ? (parts.at(-2) as string) : null;
  if (parts.length === 3) {
    const current = (await db.query<{ d: string }>("SELECT current_database() AS d", [], { retry: true }))[0]?.d;
    if (current !== parts[0])
      throw missingHistoryTable(feature, table, `${where}: database "${parts[0]}" is not this one (${current})`, []);
  }
  // The schemas to look in, in order: the named one, or fabra's then the search path's.
  const schemas = schema !== null ? [schema] : [db.target.schema];
  if (schema === null)
    schemas.push(
      ...(await db.query<{ s: string }>("SELECT unnest(current_schemas(false)) AS s", [], { retry: true })).map(
        (r) => r.s,
      ),
    );
  const rows = await db.query<{ schema: string; table: string; column: string; type: string; pos: number }>(
    `SELECT n.nspname AS schema, c.relname AS table, a.attname AS column, format_type(a.atttypid, NULL) AS type, a.attnum AS pos
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f') AND lower(c.relname) = lower($1) AND lower(n.nspname) = ANY($2::text[])
     ORDER BY a.attnum`,
    [name, schemas.map((s) => s.toLowerCase())],
    { retry: true },
  );
  const rank = (r: { schema: string; table: string }) => {
    let i = schemas.indexOf(r.schema);
    if (i < 0) i = schemas.findIndex((s) => s.toLowerCase() === r.schema.toLowerCase());
    return i * 2 + (r.table === name ? 0 : 1);
  };
  const best = [...rows].sort((a, b) => rank(a) - rank(b))[0];
  if (!best) {
    const known = (
      await db.query<{ t: string }>(
        `SELECT DISTINCT c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f') AND n.nspname = ANY($1::text[]) AND c.relname NOT LIKE 'fabra\\_%' ORDER BY 1`,
        [schemas],
        { retry: true },
      )
    ).map((r) => r.t);
    throw missingHistoryTable(feature, table, `${where}, then the search path`, known);
  }
  const described: DescribedColumn[] = rows
    .filter((r) => r.schema === best.schema && r.table === best.table)
    .map((r) => ({ name: r.column, type: r.type }));
  const columns = historyColumns(feature, table, described, (type) => TIME.test(type));
  const qualified = `${pg.escapeIdentifier(best.schema)}.${pg.escapeIdentifier(best.table)}`;
  const entity = `f.${pg.escapeIdentifier(columns.entity.name)}`;
  const computedAt = timeSql(columns.timestamp);
  return {
    qualified,
    entityMatch: TEXT.test(columns.entity.type) ? `${entity} = e.entity_id` : `${entity}::text = e.entity_id`,
    computedAt,
    knownAt: columns.known ? `coalesce(${timeSql(columns.known)}, ${computedAt})` : computedAt,
    valueJson: valueSql(columns.value),
    description: describeHistoryColumns(`${best.schema}.${best.table}`, columns),
  };
}

function timeSql(column: DescribedColumn): string {
  const v = `f.${pg.escapeIdentifier(column.name)}`;
  if (column.type === "timestamp with time zone") return v;
  if (column.type === "date") return `(${v}::timestamp AT TIME ZONE 'UTC')`;
  return `(${v} AT TIME ZONE 'UTC')`;
}

function valueSql(column: DescribedColumn): string {
  const v = `f.${pg.escapeIdentifier(column.name)}`;
  const t = column.type;
  let encoded: string;
  if (t === "boolean") encoded = `CASE WHEN ${v} THEN 'true' ELSE 'false' END`;
  else if (t === "smallint" || t === "integer" || t === "bigint") encoded = `${v}::text`;
  else if (t === "double precision" || t === "real" || t === "numeric") {
    // Postgres writes 12.0 as "12": a float keeps its point (history's form is Python's repr: 12.0, 1e+20).
    const d = t === "numeric" ? `${v}::float8` : v;
    encoded = `CASE WHEN ${d} IN ('NaN', 'Infinity', '-Infinity') THEN 'null' WHEN ${d}::text ~ '[.e]' THEN ${d}::text ELSE ${d}::text || '.0' END`;
  } else if (t === "json" || t === "jsonb") encoded = `${v}::text`;
  else if (t === "timestamp with time zone" || t === "timestamp without time zone")
    encoded = `to_jsonb(to_char(${timeSql(column)} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') || CASE WHEN extract(microseconds from ${v})::bigint % 1000000 = 0 THEN '' ELSE '.' || lpad((extract(microseconds from ${v})::bigint % 1000000)::text, 6, '0') END || 'Z')::text`;
  else if (TEXT.test(t) || t.startsWith("character")) encoded = `to_jsonb(${v}::text)::text`;
  else if (t.endsWith("[]")) encoded = `to_jsonb(${v})::text`;
  else encoded = `to_jsonb(${v}::text)::text`;
  return `CASE WHEN ${v} IS NULL THEN 'null' ELSE ${encoded} END`;
}
