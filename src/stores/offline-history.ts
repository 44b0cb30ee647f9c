// Rules of offline history every OfflineStore backend shares (no driver imports): run ids, the run id of values
// computed on read, rows as the databases return them, argument checks of pointInTime and endRun, and the errors
// of a user's entities query.
import { randomUUID } from "node:crypto";
import { FabraError } from "../errors.js";
import { fromEpochMicros, nowDatetime } from "../record/datetime.js";
import { newContextId } from "../record/id.js";
import type {
  FeatureValueRow,
  MaterializationRun,
  PitEventKeys,
  PitFeature,
  PitOptions,
  PitResult,
  RunOutcome,
  RunTrigger,
} from "./types.js";

/** Values computed on read have no run; they get a run id of their own (`read:<uuid>`) so each is kept. */
export const READ_RUN_PREFIX = "read:";

/** The run id a row is stored under: its run, or a fresh `read:<uuid>` for a value computed on read. */
export const storedRunId = (runId: string | null): string => runId ?? READ_RUN_PREFIX + randomUUID();

/** The run id a caller sees: null for values computed on read. */
export const visibleRunId = (stored: string): string | null => (stored.startsWith(READ_RUN_PREFIX) ? null : stored);

/** A new run id: `run_` + a UUIDv7, so later runs sort after earlier ones. */
export const newRunId = (): string => `run_${newContextId().slice(4)}`;

/** A history row as a database returns it (times as epoch microseconds: bigint from DuckDB, text from Postgres). */
export interface StoredValueRow {
  feature: string;
  entity_id: string;
  value_json: string;
  computed_us: bigint | string;
  known_us: bigint | string;
  run_id: string;
}

/** A run row as a database returns it. */
export interface StoredRunRow {
  run_id: string;
  feature: string;
  trigger: string;
  status: string;
  started_us: bigint | string;
  finished_us: bigint | string | null;
  entities_written: bigint | string;
  entities_failed: bigint | string;
  error: string | null;
  attempt: number | bigint | string;
}

export const toValueRow = (r: StoredValueRow): FeatureValueRow => ({
  feature: r.feature,
  entityId: r.entity_id,
  valueJson: r.value_json,
  computedAt: fromEpochMicros(BigInt(r.computed_us)),
  knownAt: fromEpochMicros(BigInt(r.known_us)),
  runId: visibleRunId(r.run_id),
});

export const toRun = (r: StoredRunRow): MaterializationRun => ({
  runId: r.run_id,
  feature: r.feature,
  trigger: r.trigger as RunTrigger,
  status: r.status as MaterializationRun["status"],
  startedAt: fromEpochMicros(BigInt(r.started_us)),
  finishedAt: r.finished_us === null ? null : fromEpochMicros(BigInt(r.finished_us)),
  entitiesWritten: Number(r.entities_written),
  entitiesFailed: Number(r.entities_failed),
  error: r.error,
  attempt: Number(r.attempt),
});

/** A run just begun. */
export const newRun = (feature: string, trigger: RunTrigger): MaterializationRun => ({
  runId: newRunId(),
  feature,
  trigger,
  status: "running",
  startedAt: nowDatetime(),
  finishedAt: null,
  entitiesWritten: 0,
  entitiesFailed: 0,
  error: null,
  attempt: 1,
});

const FINAL: readonly string[] = ["interrupted", "succeeded", "partial"];

/** endRun takes only a final status. */
export function checkFinalStatus(outcome: RunOutcome): void {
  if (!FINAL.includes(outcome.status)) {
    throw new FabraError("INVALID_ARGUMENT", `endRun: ${JSON.stringify(outcome.status)} is not a final run status`);
  }
}

export function unknownRun(runId: string): FabraError {
  return new FabraError("NOT_FOUND", `No materialization run ${runId}`, { hint: "Runs are created by beginRun." });
}

/** maxAgeMs must be a non-negative number. */
export function checkPitFeatures(features: PitFeature[]): void {
  for (const f of features) {
    if (f.maxAgeMs !== undefined && !(Number.isFinite(f.maxAgeMs) && f.maxAgeMs >= 0)) {
      throw new FabraError(
        "INVALID_ARGUMENT",
        `maxAgeMs of ${f.name} is ${f.maxAgeMs}; it must be a non-negative number`,
      );
    }
  }
}

/** The two arrays of key events have one entry per event. */
export function checkPitKeys(events: PitEventKeys): number {
  const n = events.entityIds.length;
  if (events.timestamps.length !== n) {
    throw new FabraError("INVALID_ARGUMENT", `pointInTime: ${n} entity ids but ${events.timestamps.length} timestamps`);
  }
  return n;
}

/** Every value missing: no events or no features. */
export function emptyPitResult(n: number, featureCount: number, options: PitOptions): PitResult {
  const nulls = () => Array.from({ length: featureCount }, () => new Array<string | null>(n).fill(null));
  return options.includeComputedAt ? { values: nulls(), computedAt: nulls() } : { values: nulls() };
}

/** The entities query as it is run: trimmed, without a trailing semicolon. */
export const entityQueryText = (sql: string): string => sql.trim().replace(/;\s*$/, "");

export function entityQueryFailed(err: unknown, text: string, where: string): FabraError {
  const message = (err instanceof Error ? err.message : String(err)).split("\n")[0] ?? "";
  return new FabraError("INVALID_DEFINITION", `The entities query failed: ${message}`, {
    hint: `Query: ${text}. It runs against the offline store (${where}); its first column is the entity id.`,
    cause: err,
  });
}

/** A null id is a definition error naming the row. */
export function checkEntityIds(ids: (string | null)[], text: string): string[] {
  const nullAt = ids.indexOf(null);
  if (nullAt >= 0) {
    throw new FabraError("INVALID_DEFINITION", `The entities query returned a null id (row ${nullAt + 1})`, {
      hint: `Filter nulls out: ... WHERE <id column> IS NOT NULL. Query: ${text}`,
    });
  }
  return ids as string[];
}
