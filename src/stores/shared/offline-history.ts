// Rules of offline history every OfflineStore backend shares (no driver imports): run ids, the run id of values
// computed on read, argument checks of pointInTime and endRun, and the errors of a user's entities query.
import { randomUUID } from "node:crypto";
import { FabraError } from "../../errors.js";
import { newContextId } from "../../record/id.js";
import type { PitEventKeys, PitFeature, PitOptions, PitResult, RunOutcome } from "../types.js";

/** Values computed on read have no run; they get a run id of their own (`read:<uuid>`) so each is kept. */
export const READ_RUN_PREFIX = "read:";

/** The run id a row is stored under: its run, or a fresh `read:<uuid>` for a value computed on read. */
export const storedRunId = (runId: string | null): string => runId ?? READ_RUN_PREFIX + randomUUID();

/** The run id a caller sees: null for values computed on read. */
export const visibleRunId = (stored: string): string | null => (stored.startsWith(READ_RUN_PREFIX) ? null : stored);

/** A new run id: `run_` + a UUIDv7, so later runs sort after earlier ones. */
export const newRunId = (): string => `run_${newContextId().slice(4)}`;

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
      throw new FabraError("INVALID_ARGUMENT", `maxAgeMs of ${f.name} is ${f.maxAgeMs}; it must be a non-negative number`);
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
