// Point-in-time training data: each event row gets each feature's value as it was at the event's time (the latest
// value computed at or before it, never after; null before the first value or when older than the feature's max
// age). Events are rows in memory or a CSV/Parquet file (read by io/event-file.ts); the offline store does the join
// (DuckDB: ASOF LEFT JOIN reading the file itself). A feature with `history: { table }` is joined against that table
// of the user's, where it is (nothing copied). Errors are never swallowed: a bad row, column or file fails the
// whole call.
import { stat } from "node:fs/promises";
import { basename, resolve } from "node:path";
import type { Definitions } from "../../define/collect.js";
import { FabraError } from "../../errors.js";
import { normalFormMicros, normalizeDatetime, toDatetime } from "../../record/datetime.js";
import { entityName, type FeatureDef } from "../../define/feature.js";
import { historyTableOf } from "./history-table.js";
import { eventFileColumns, readEventFile } from "../../io/event-file.js";
import type { OfflineStore, PitEventFile, PitFeature, PitResult } from "../../stores/types.js";
import { parseDuration } from "../../util/duration.js";
import { unknownFeature } from "./read.js";
import { decodeForUser } from "../../record/values.js";

export interface TrainingDataOptions {
  /** Event rows (objects), or the path of a CSV file (with a header row) or Parquet file of them. */
  entities: Record<string, unknown>[] | string;
  /** Feature names, or `{ name, ttl }` to give one feature a max age (a duration: older values → null). */
  features: (string | { name: string; ttl?: string | number })[];
  /**
   * Column holding the entity id. Default: the first of `entity_id`, `<entity>_id`, `<entity>` (for the requested
   * features' entities) and `id` that the events have.
   */
  entityColumn?: string;
  /**
   * Column holding the event time: Date, ISO-8601 text (no offset = UTC) or epoch ms. Default: the first of
   * `timestamp`, `ts`, `event_time`, `time` that the events have.
   */
  timestampColumn?: string;
  /** Max age for every feature without its own ttl. */
  ttl?: string | number;
  /** Also add `<feature>_as_of` columns: when each joined value was computed. */
  includeAsOf?: boolean;
  /** Base directory of a relative events path (default: process.cwd()). */
  cwd?: string;
  /**
   * Join only values fabra already knew at each event's time (known_at <= event time), so values backfilled later
   * do not leak into earlier rows. Default: join on event time alone.
   */
  knownTime?: boolean;
}

export interface TrainingDataDeps {
  definitions: Definitions;
  offline: OfflineStore;
}

export interface TrainingTable {
  /** The event columns (a file's in file order, even with no events), then the added feature and `_as_of` columns. */
  columns: string[];
  rows: Record<string, unknown>[];
  /** The entity and timestamp columns joined on (given, or found by their default names). */
  entityColumn: string;
  timestampColumn: string;
}

const TIMESTAMP_COLUMNS = ["timestamp", "ts", "event_time", "time"];

/** The training rows, in event order: every event column plus one column per feature (and `_as_of` columns). */
export async function getTrainingData(
  deps: TrainingDataDeps,
  options: TrainingDataOptions,
): Promise<Record<string, unknown>[]> {
  return (await getTrainingTable(deps, options)).rows;
}

/** The training rows with their columns, and the entity and timestamp columns they were joined on. */
export async function getTrainingTable(deps: TrainingDataDeps, options: TrainingDataOptions): Promise<TrainingTable> {
  const features = resolveFeatures(deps.definitions, options);
  const outputNames = features.flatMap((f) => (options.includeAsOf ? [f.name, `${f.name}_as_of`] : [f.name]));
  const pitOptions = { includeComputedAt: options.includeAsOf === true, knownTime: options.knownTime === true };
  if (typeof options.entities !== "string" && !Array.isArray(options.entities)) {
    throw new FabraError(
      "INVALID_ARGUMENT",
      "entities must be an array of event rows or the path of a CSV/Parquet file",
      {
        hint: 'Pass e.g. [{ entity_id: "u_1", timestamp: "2026-03-01T09:00:00Z" }] or "events.parquet".',
      },
    );
  }
  const file =
    typeof options.entities === "string" ? await eventFile(options.entities, options.cwd ?? process.cwd()) : null;
  const given = typeof options.entities === "string" ? [] : options.entities;
  // A file's header is read only when needed: to find a default column, or for the columns of an empty file.
  const header: { columns: string[] | null } = { columns: null };
  const eventColumns = async () =>
    (header.columns ??= file ? await eventFileColumns(file.path, file.format) : Object.keys(given[0] ?? {}));
  // The first candidate the events have. A file without one is an error naming them all; rows in memory fall back to
  // the first candidate (each row missing it is then reported by its index).
  const defaultColumn = async (candidates: string[], what: "entity" | "timestamp") => {
    const columns = await eventColumns();
    const found = candidates.find((c) => columns.includes(c));
    if (found !== undefined || !file) return found ?? (candidates[0] as string);
    throw new FabraError(
      "INVALID_ARGUMENT",
      `${basename(file.path)} has no ${what} column: none of ${candidates.join(", ")} (its columns: ${columns.join(", ") || "none"})`,
      {
        hint: `Name the column with --${what}-column (${what}Column in getTrainingData).`,
      },
    );
  };
  const entityCandidates = [
    "entity_id",
    ...entityNames(deps.definitions, features).flatMap((e) => [`${e}_id`, e]),
    "id",
  ];
  if (file && (options.entityColumn === undefined || options.timestampColumn === undefined)) {
    // The header is read anyway: a named column it lacks is reported first, with the columns there are.
    const columns = await eventColumns();
    if (options.entityColumn !== undefined) missingColumn(columns, options.entityColumn, "entity", file);
    if (options.timestampColumn !== undefined) missingColumn(columns, options.timestampColumn, "timestamp", file);
  }
  const entityColumn = options.entityColumn ?? (await defaultColumn(entityCandidates, "entity"));
  const timestampColumn = options.timestampColumn ?? (await defaultColumn(TIMESTAMP_COLUMNS, "timestamp"));

  let rows: Record<string, unknown>[];
  let result: PitResult;
  if (file) {
    file.entityColumn = entityColumn;
    file.timestampColumn = timestampColumn;
    if (deps.offline.capabilities.readsEventFiles) {
      result = await deps.offline.pointInTime(file, features, pitOptions);
      rows = result.events ?? [];
    } else {
      // The store does not read files: io/ reads the events (same parsing, column types and errors as DuckDB's join).
      rows = await readEventFile(
        file,
        features.map((f) => f.name),
      );
      result = await deps.offline.pointInTime(
        keysOf(rows, entityColumn, timestampColumn, file.path),
        features,
        pitOptions,
      );
    }
  } else {
    rows = given;
    result = await deps.offline.pointInTime(
      keysOf(rows, entityColumn, timestampColumn, "entities"),
      features,
      pitOptions,
    );
  }
  const columns =
    rows.length > 0 ? Object.keys(rows[0] as object).filter((c) => !outputNames.includes(c)) : await eventColumns();
  // Rows read from a file are ours to extend; the caller's rows are copied.
  const merged = merge(rows, features, outputNames, result, options.includeAsOf === true, file !== null);
  return { columns: [...columns, ...outputNames], rows: merged, entityColumn, timestampColumn };
}

/** The entities of the requested features, each once, in request order. */
function entityNames(definitions: Definitions, features: PitFeature[]): string[] {
  const names = features.map((f) => definitions.features.get(f.name)).flatMap((def) => (def ? [entityName(def)] : []));
  return [...new Set(names)];
}

function missingColumn(columns: string[], column: string, what: "entity" | "timestamp", file: PitEventFile): void {
  if (columns.includes(column)) return;
  throw new FabraError(
    "INVALID_ARGUMENT",
    `${basename(file.path)} has no ${what} column "${column}" (its columns: ${columns.join(", ")})`,
    {
      hint: `Name the column with --${what}-column (${what}Column in getTrainingData).`,
    },
  );
}

function resolveFeatures(definitions: Definitions, options: TrainingDataOptions): PitFeature[] {
  if (!Array.isArray(options.features) || options.features.length === 0) {
    throw new FabraError("INVALID_ARGUMENT", "No features requested", {
      hint: 'Name at least one feature: features: ["user_tier"].',
    });
  }
  const defaultTtl = options.ttl === undefined ? undefined : parseDuration(options.ttl, "ttl");
  const seen = new Set<string>();
  return options.features.map((f) => {
    const { name, ttl } = typeof f === "string" ? { name: f, ttl: undefined } : f;
    if (!definitions.features.has(name)) throw unknownFeature(name, definitions.features.keys());
    if (seen.has(name))
      throw new FabraError("INVALID_ARGUMENT", `Feature ${name} is requested twice`, {
        hint: "Name each feature once.",
      });
    seen.add(name);
    const maxAgeMs = ttl === undefined ? defaultTtl : parseDuration(ttl, `ttl of ${name}`);
    const table = historyTableOf(definitions.features.get(name) as FeatureDef, name);
    return { name, ...(maxAgeMs === undefined ? {} : { maxAgeMs }), ...(table === undefined ? {} : { table }) };
  });
}

/** The events file, checked to exist; its entity and timestamp columns are filled in once known. */
async function eventFile(path: string, cwd: string): Promise<PitEventFile> {
  const full = resolve(cwd, path);
  const lower = full.toLowerCase();
  const format = /\.parquet$|\.pq$/.test(lower)
    ? "parquet"
    : /\.(csv|tsv|txt)(\.gz|\.zst)?$/.test(lower)
      ? "csv"
      : null;
  if (!format) {
    throw new FabraError("INVALID_ARGUMENT", `Cannot tell the format of the events file ${path}`, {
      hint: "Use a .csv file (with a header row) or a .parquet file.",
    });
  }
  try {
    if ((await stat(full)).isDirectory())
      throw new FabraError("FILE_UNREADABLE", `The events file ${path} is a directory`, {
        hint: "Pass a .csv or .parquet file.",
      });
  } catch (err) {
    if (err instanceof FabraError) throw err;
    if ((err as NodeJS.ErrnoException).code === "ENOENT")
      throw new FabraError("FILE_NOT_FOUND", `No such events file: ${path}`, { hint: "Check the path." });
    throw new FabraError("FILE_UNREADABLE", `Cannot read the events file ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return { kind: "file", path: full, format, entityColumn: "", timestampColumn: "" };
}

function keysOf(rows: Record<string, unknown>[], entityColumn: string, timestampColumn: string, source: string) {
  const entityIds = new Array<string>(rows.length);
  const timestamps = new Array<string>(rows.length);
  rows.forEach((row, i) => {
    if (typeof row !== "object" || row === null)
      throw new FabraError("INVALID_ARGUMENT", `${source}[${i}] is not an object`, {
        hint: "Each event is an object with an entity id and a timestamp.",
      });
    const id = row[entityColumn];
    if (typeof id === "string" && id !== "") entityIds[i] = id;
    else if ((typeof id === "number" && Number.isInteger(id)) || typeof id === "bigint") entityIds[i] = String(id);
    else {
      throw new FabraError(
        "INVALID_ARGUMENT",
        `${source}[${i}].${entityColumn} is ${JSON.stringify(id) ?? String(id)}, not an entity id`,
        {
          hint:
            id === undefined
              ? `Each event needs an entity id in "${entityColumn}" (set entityColumn to the column that has it).`
              : "Entity ids are strings or whole numbers.",
        },
      );
    }
    timestamps[i] = eventTime(row[timestampColumn], `${source}[${i}].${timestampColumn}`, timestampColumn);
  });
  return { kind: "keys" as const, entityIds, timestamps };
}

function eventTime(value: unknown, where: string, column: string): string {
  if (value instanceof Date) return toDatetime(value);
  if (typeof value === "number") return toDatetime(value);
  if (typeof value === "string") {
    if (normalFormMicros(value) !== null) return value; // already normal form (the common bulk case)
    try {
      return normalizeDatetime(value, where);
    } catch (err) {
      throw new FabraError("INVALID_ARGUMENT", (err as Error).message, {
        hint: "Use ISO-8601 text (e.g. 2026-03-01T09:15:02Z; no offset = UTC), a Date, or epoch milliseconds.",
      });
    }
  }
  throw new FabraError("INVALID_ARGUMENT", `${where} is ${JSON.stringify(value) ?? String(value)}, not a datetime`, {
    hint:
      value === undefined
        ? `Each event needs a time in "${column}" (set timestampColumn to the column that has it).`
        : "Use a Date, ISO-8601 text, or epoch milliseconds.",
  });
}

function merge(
  rows: Record<string, unknown>[],
  features: PitFeature[],
  outputNames: string[],
  result: PitResult,
  includeAsOf: boolean,
  owned: boolean,
): Record<string, unknown>[] {
  const names = features.map((f) => f.name);
  const asOfNames = features.map((f) => `${f.name}_as_of`);
  const out = new Array<Record<string, unknown>>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as Record<string, unknown>;
    // Rows read from a file were checked by the store (column names are the file's); the caller's are checked here.
    if (!owned) {
      for (const name of outputNames) {
        if (Object.hasOwn(row, name)) {
          throw new FabraError(
            "INVALID_ARGUMENT",
            `Event ${i} already has a column "${name}", which the training data adds`,
            {
              hint: "Rename that column of the events; feature values are added as columns named after the features.",
            },
          );
        }
      }
    }
    const joined: Record<string, unknown> = owned ? row : { ...row };
    for (let k = 0; k < names.length; k++) {
      const text = (result.values[k] as (string | null)[])[i];
      joined[names[k] as string] = text === null || text === undefined ? null : decodeForUser(text);
      if (includeAsOf) joined[asOfNames[k] as string] = result.computedAt?.[k]?.[i] ?? null;
    }
    out[i] = joined;
  }
  return out;
}
