// The wire shapes of materialization: one feature's run outcome (`materialize --json`) and the scheduler's events
// (`worker --json`, one per line), with the inverse of the outcome.
import { z } from "zod";
import type { FeatureRunResult } from "../engine/features/materialize.js";
import type { SchedulerEvent } from "../engine/features/schedule.js";
import { wireInt, wireNumber } from "./wire.js";

export const runResultShape = z.object({
  feature: z.string(),
  run_id: z.string().nullable(),
  resumed: z.boolean(),
  status: z.enum(["running", "interrupted", "succeeded", "partial", "locked"]),
  total: wireInt.nullable(),
  already_written: wireInt,
  computed: wireInt,
  written: wireInt,
  failed: wireInt,
  errors: z.array(z.object({ entity_id: z.string(), error: z.string() })),
  error: z.string().nullable(),
  started_at: z.string(),
  duration_ms: wireNumber,
});
export type RunResultJson = z.output<typeof runResultShape>;

/** One feature's materialization (or refresh) outcome; `errors` capped at `maxErrors`. */
export function runResultJson(r: FeatureRunResult, maxErrors = Infinity): RunResultJson {
  return {
    feature: r.feature,
    run_id: r.runId,
    resumed: r.resumed,
    status: r.status,
    total: r.total,
    already_written: r.alreadyWritten,
    computed: r.computed,
    written: r.written,
    failed: r.failed,
    errors: r.errors.slice(0, maxErrors).map((e) => ({ entity_id: e.entityId, error: e.error })),
    error: r.error,
    started_at: r.startedAt,
    duration_ms: r.durationMs,
  };
}

/** The inverse of `runResultJson` (the errors as far as they were sent). */
export function runResultFromJson(json: RunResultJson): FeatureRunResult {
  return {
    feature: json.feature,
    runId: json.run_id,
    resumed: json.resumed,
    status: json.status,
    total: json.total,
    alreadyWritten: json.already_written,
    computed: json.computed,
    written: json.written,
    failed: json.failed,
    errors: json.errors.map((e) => ({ entityId: e.entity_id, error: e.error })),
    error: json.error,
    startedAt: json.started_at,
    durationMs: json.duration_ms,
  };
}

export type SchedulerEventJson =
  | { type: "scheduled"; feature: string; at: string }
  | { type: "started"; feature: string; run_id: string; resumed: boolean }
  | { type: "finished"; feature: string; result: RunResultJson }
  | { type: "skipped"; feature: string; reason: "locked" | "not-due" }
  | { type: "error"; feature: string; error: string };

export function schedulerEventJson(e: SchedulerEvent): SchedulerEventJson {
  switch (e.type) {
    case "scheduled":
      return { type: e.type, feature: e.feature, at: e.at };
    case "started":
      return { type: e.type, feature: e.feature, run_id: e.runId, resumed: e.resumed };
    case "finished":
      return { type: e.type, feature: e.feature, result: runResultJson(e.result, 20) };
    case "skipped":
      return { type: e.type, feature: e.feature, reason: e.reason };
    case "error":
      return { type: e.type, feature: e.feature, error: e.error };
  }
}
