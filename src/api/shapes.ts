// The JSON shapes results take on the wire (HTTP API) and in the CLI's `--format json` output, in one place so
// both agree. Field names are snake_case like the record's own.
import type { ContextResult } from "../define/types.js";
import type { VerifyResult } from "../record/verify.js";
import type { LedgerRow, MaterializationRun } from "../stores/types.js";
import type { Comparison } from "../engine/ledger/compare.js";
import type { FeatureRunResult } from "../engine/features/materialize.js";
import type { ReplayResult } from "../engine/context/replay.js";
import type { FeatureValue } from "../engine/runtime.js";
import type { SchedulerEvent } from "../engine/features/schedule.js";

export function verificationJson(v: VerifyResult) {
  return { context_id: v.contextId, ok: v.ok, checks: v.checks, failed: v.failed };
}

export function assemblyJson(r: ContextResult) {
  return {
    context_id: r.id,
    content: r.content,
    token_count: r.tokenCount,
    dropped: r.dropped,
    meta: {
      budget_exceeded: r.meta.budgetExceeded,
      freshness_status: r.meta.freshnessStatus,
      freshness_violations: r.meta.freshnessViolations,
      latency_ms: r.meta.latencyMs,
      estimated_cost_usd: r.meta.estimatedCostUsd,
      persisted: r.meta.persisted,
    },
    record_hash: r.meta.recordHash,
  };
}

export function recordSummaryJson(r: LedgerRow) {
  return {
    context_id: r.contextId,
    created_at: r.createdAt,
    context_function: r.contextFunction,
    environment: r.environment,
    token_count: r.tokenCount,
    record_hash: r.recordHash,
    previous_context_id: r.previousContextId,
  };
}

/** A page of records, newest first (or as ordered); `next_cursor` is the last id when the page is full. */
export function recordPageJson(rows: LedgerRow[], limit: number) {
  const last = rows[rows.length - 1];
  return { items: rows.map(recordSummaryJson), next_cursor: rows.length === limit && last ? last.contextId : null };
}

/** A feature value with its provenance; `served_from` is cache, computed, fallback or history. */
export function featureValueJson(v: Omit<FeatureValue, "source"> & { source: string }) {
  return { name: v.name, entity_id: v.entityId, value: v.value, as_of: v.asOf, freshness_ms: v.freshnessMs, served_from: v.source };
}

export function materializationRunJson(r: MaterializationRun) {
  return {
    run_id: r.runId,
    feature: r.feature,
    trigger: r.trigger,
    status: r.status,
    started_at: r.startedAt,
    finished_at: r.finishedAt,
    entities_written: r.entitiesWritten,
    entities_failed: r.entitiesFailed,
    error: r.error,
  };
}

/** One feature's materialization (or refresh) outcome; `errors` capped at `maxErrors`. */
export function runResultJson(r: FeatureRunResult, maxErrors = Infinity) {
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

export function schedulerEventJson(e: SchedulerEvent) {
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

export function comparisonJson(c: Comparison) {
  return { verified: c.verified, verification: { a: verificationJson(c.verification.a), b: verificationJson(c.verification.b) }, diff: c.diff };
}

export function replayJson(r: ReplayResult) {
  return {
    original_id: r.original.context_id,
    context_id: r.replay.id,
    mode: r.live ? "live" : "recorded",
    same_content: r.sameContent,
    content: r.replay.content,
    token_count: r.replay.tokenCount,
    record_hash: r.replay.meta.recordHash,
    persisted: r.replay.meta.persisted,
    diff: r.diff,
  };
}

export type ReplayJson = ReturnType<typeof replayJson>;
