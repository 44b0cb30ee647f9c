// Backfill: a file of (entity, event time, value) rows into a feature's offline history, kind-preserving, in
// transactional batches. Idempotent: every row is stored under the run id `import:<digest>:<line>`, the digest being
// of the feature, the column names and the file's bytes, so the same file imported again only meets rows already
// stored (kept as they are). Values are known at the import's time (or at --known-time-column's); among values of one
// entity at the same event time the later known wins, then the later line. A batch with a bad row is not written.
// A store that imports files itself (OfflineStore.importFile, CSV and Parquet: DuckDB in SQL,
// stores/duckdb/offline-import.ts; Postgres by COPY of rows staged in DuckDB, stores/postgres/offline-import.ts) does
// the whole import; otherwise (JSON lines) the rows are read here through an in-memory DuckDB (io/history-file.ts)
// and written with writeValues.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { resolve } from "node:path";
import type { Definitions } from "../../define/collect.js";
import { entityName } from "../../define/feature.js";
import { FabraError } from "../../errors.js";
import {
  type HistoryFileColumns,
  type HistoryFileError,
  type HistoryFileRow,
  historyFileFormat,
  readHistoryFile,
} from "../../io/history-file.js";
import { fromEpochMicros, nowDatetime } from "../../record/datetime.js";
import { encodeValue } from "../../record/values.js";
import type { FeatureValueRow, OfflineStore } from "../../stores/types.js";
import { unknownFeature } from "./read.js";
import { refuseHistoryWrite } from "./history-table.js";

export interface ImportHistoryOptions {
  feature: string;
  /** A CSV (header row), Parquet or JSON lines file. */
  file: string;
  /** Default: the first of entity_id, <entity>_id, <entity>, id the file has. */
  entityColumn?: string;
  /** Default: the first of timestamp, ts, event_time, time the file has. */
  timestampColumn?: string;
  /** Default: the first of value, <feature> the file has. */
  valueColumn?: string;
  /** When each value was known (default: every value is known at the import's time). */
  knownTimeColumn?: string;
  /** Rows per transaction (default 10 000). */
  batchSize?: number;
  /** Base directory of a relative path (default: process.cwd()). */
  cwd?: string;
  /** Called after each batch with the rows done so far and the total. */
  onProgress?: (done: number, total: number) => void;
}

export interface ImportHistorySummary {
  feature: string;
  file: string;
  /** Data rows in the file. */
  rows: number;
  /** Rows in batches that were written (rows already stored by an earlier import of the same file included). */
  written: number;
  batches: number;
  failedBatches: number;
  /** Bad rows with their line (CSV: the header is line 1), in file order. */
  badRows: HistoryFileError[];
  /** The run id prefix of this file's rows (`import:<digest>`). */
  runPrefix: string;
  /** When the values were known (unless the file gives known times). */
  knownAt: string;
  columns: HistoryFileColumns;
}

export interface ImportHistoryDeps {
  definitions: Definitions;
  offline: OfflineStore;
}

const DEFAULT_BATCH = 10_000;

export async function importHistory(
  deps: ImportHistoryDeps,
  options: ImportHistoryOptions,
): Promise<ImportHistorySummary> {
  const def = deps.definitions.features.get(options.feature);
  if (!def) throw unknownFeature(options.feature, deps.definitions.features.keys());
  refuseHistoryWrite(def, options.feature, "features import");
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new FabraError("INVALID_ARGUMENT", `batchSize is ${batchSize}; it must be a whole number of at least 1`);
  const path = resolve(options.cwd ?? process.cwd(), options.file);
  const format = historyFileFormat(path);
  const entity = entityName(def);
  const knownAt = nowDatetime();
  // The columns (given, or found by their default names) once the file's header is read, and the run id prefix.
  let chosen: { columns: HistoryFileColumns; runPrefix: string } | null = null;
  const prepare = async (names: string[]) => {
    const pick = (given: string | undefined, candidates: string[], what: string, flag: string): string => {
      if (given !== undefined) return given;
      const found = candidates.find((c) => names.includes(c));
      if (found !== undefined) return found;
      throw new FabraError(
        "INVALID_ARGUMENT",
        `${options.file} has no ${what} column (looked for ${candidates.join(", ")})`,
        {
          hint: `Name it with --${flag}-column. Its columns: ${names.join(", ") || "(none)"}.`,
        },
      );
    };
    const columns: HistoryFileColumns = {
      entityColumn: pick(options.entityColumn, ["entity_id", `${entity}_id`, entity, "id"], "entity id", "entity"),
      timestampColumn: pick(
        options.timestampColumn,
        ["timestamp", "ts", "event_time", "time"],
        "event time",
        "timestamp",
      ),
      valueColumn: pick(options.valueColumn, ["value", options.feature], "value", "value"),
      ...(options.knownTimeColumn === undefined ? {} : { knownTimeColumn: options.knownTimeColumn }),
    };
    const digest = await fileDigest(path, [options.feature, JSON.stringify(columns)]);
    chosen = { columns, runPrefix: `import:${digest}` };
    return chosen;
  };
  const summaryOf = (): ImportHistorySummary => {
    const { columns, runPrefix } = chosen as unknown as { columns: HistoryFileColumns; runPrefix: string };
    return {
      feature: options.feature,
      file: options.file,
      rows: 0,
      written: 0,
      batches: 0,
      failedBatches: 0,
      badRows: [],
      runPrefix,
      knownAt,
      columns,
    };
  };
  if (deps.offline.importFile && format !== "jsonl") {
    // The store reads the file itself (DuckDB: staged, checked and moved into history in SQL).
    const done = await deps.offline.importFile({
      feature: options.feature,
      path,
      format,
      prepare,
      knownAt,
      batchSize,
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    });
    return { ...summaryOf(), ...done };
  }
  const file = await readHistoryFile(path, format, async (names) => (await prepare(names)).columns);
  const summary = summaryOf();
  const { runPrefix } = summary;
  const total = file.rows.length;
  summary.rows = total;
  for (let from = 0; from < total; from += batchSize) {
    const slice = file.rows.slice(from, from + batchSize);
    summary.batches++;
    const bad = slice.filter((r): r is HistoryFileError => "error" in r);
    if (bad.length > 0) {
      summary.failedBatches++;
      summary.badRows.push(...bad);
    } else {
      await deps.offline.writeValues(
        (slice as HistoryFileRow[]).map((r) => valueRow(options.feature, runPrefix, knownAt, r)),
      );
      summary.written += slice.length;
    }
    options.onProgress?.(Math.min(from + batchSize, total), total);
  }
  return summary;
}

function valueRow(feature: string, runPrefix: string, knownAt: string, r: HistoryFileRow): FeatureValueRow {
  return {
    feature,
    entityId: r.entityId,
    valueJson: encodeValue(r.value),
    computedAt: fromEpochMicros(r.eventMicros),
    knownAt: r.knownMicros === undefined ? knownAt : fromEpochMicros(r.knownMicros),
    // Zero-padded, so among ties the later line is the greater run id.
    runId: `${runPrefix}:${String(r.line).padStart(12, "0")}`,
  };
}

async function fileDigest(path: string, salt: string[]): Promise<string> {
  const hash = createHash("sha256");
  for (const s of salt) hash.update(`${s}\u0000`);
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  } catch (err) {
    throw new FabraError("FILE_NOT_FOUND", `Cannot read ${path}`, { hint: "Check the path.", cause: err });
  }
  return hash.digest("hex").slice(0, 24);
}
