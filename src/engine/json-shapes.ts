// The JSON shapes results take on the wire (HTTP API) and in `--format json`, in one place so both agree.
// Field names are snake_case like the record's own.
import type { ContextResult } from "../define/types.js";
import type { VerifyResult } from "../record/verify.js";
import type { LedgerRow } from "../stores/types.js";
import type { Comparison } from "./compare.js";
import type { ReplayResult } from "./replay.js";

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
