// The wire shapes of contexts: an assembly (POST /v1/context/:name, `context run --format json`), a record's
// summary and a page of them (GET /v1/contexts, `context list --json`), and a replay. Each with its inverse, so the
// CLI going through a running server reads the server's answer back into the same values it would compute itself.
import { z } from "zod";
import type { ContextResult } from "../define/types.js";
import type { RecordDiff } from "../record/diff.js";
import type { ContextRecord } from "../record/types.js";
import type { ReplayResult } from "../engine/context/replay.js";
import type { LedgerRow } from "../stores/types.js";
import { wireInt, wireNumber } from "./wire.js";
import { messagesOfContent } from "../engine/context/messages.js";

// ---------------------------------------------------------------- an assembly

/** true: the record is in the ledger; false: it is not; "unknown": the append failed and could not be checked. */
const persistedShape = z.union([z.boolean(), z.literal("unknown")]);

export const droppedItemShape = z.object({
  source_id: z.string(),
  priority: wireNumber,
  token_count: wireInt,
  reason: z.enum(["budget_exceeded", "priority_cutoff"]),
});

export const messageShape = z.object({
  role: z.enum(["system", "user", "assistant", "tool"]),
  content: z.string(),
});

export const assemblyShape = z.object({
  context_id: z.string(),
  content: z.string(),
  /** The included items grouped by role; absent from servers before messages (read back from content). */
  messages: z.array(messageShape).optional(),
  token_count: wireInt,
  dropped: z.array(droppedItemShape),
  meta: z.object({
    budget_exceeded: z.boolean(),
    freshness_status: z.enum(["guaranteed", "degraded", "unknown"]),
    freshness_violations: z.array(z.string()),
    /** Feature reads that fell back, and why (a default counts as stale). */
    feature_fallbacks: z
      .array(
        z.object({
          feature: z.string(),
          entity_id: z.string(),
          served: z.enum(["default", "history", "computed"]),
          reason: z.string(),
        }),
      )
      .default([]),
    latency_ms: wireNumber,
    estimated_cost_usd: wireNumber,
    persisted: persistedShape,
    /** Absent from servers before it existed. */
    interaction_ref: z.string().nullable().optional(),
  }),
  record_hash: z.string(),
});
export type AssemblyJson = z.output<typeof assemblyShape>;

export function assemblyJson(r: ContextResult): AssemblyJson {
  return {
    context_id: r.id,
    content: r.content,
    messages: r.messages,
    token_count: r.tokenCount,
    dropped: r.dropped.map((d) => ({ ...d, priority: Number(d.priority), token_count: Number(d.token_count) })),
    meta: {
      budget_exceeded: r.meta.budgetExceeded,
      freshness_status: r.meta.freshnessStatus,
      freshness_violations: r.meta.freshnessViolations,
      feature_fallbacks: r.meta.featureFallbacks.map((f) => ({
        feature: f.feature,
        entity_id: f.entityId,
        served: f.served,
        reason: f.reason,
      })),
      latency_ms: r.meta.latencyMs,
      estimated_cost_usd: r.meta.estimatedCostUsd,
      persisted: r.meta.persisted,
      interaction_ref: r.meta.interactionRef,
    },
    record_hash: r.meta.recordHash,
  };
}

/** The inverse of `assemblyJson`; the record is not on the wire (fetch it by `context_id`). */
export function assemblyFromJson(json: AssemblyJson, record: ContextRecord): ContextResult {
  const m = json.meta;
  return {
    id: json.context_id,
    content: json.content,
    messages: json.messages ?? messagesOfContent(json.content),
    tokenCount: json.token_count,
    dropped: json.dropped,
    meta: {
      budgetExceeded: m.budget_exceeded,
      freshnessStatus: m.freshness_status,
      freshnessViolations: m.freshness_violations,
      featureFallbacks: m.feature_fallbacks.map((f) => ({
        feature: f.feature,
        entityId: f.entity_id,
        served: f.served,
        reason: f.reason,
      })),
      latencyMs: m.latency_ms,
      estimatedCostUsd: m.estimated_cost_usd,
      recordHash: json.record_hash,
      persisted: m.persisted,
      interactionRef: m.interaction_ref ?? null,
    },
    record,
  };
}

// ---------------------------------------------------------------- records in the ledger

export const recordSummaryShape = z.object({
  context_id: z.string(),
  created_at: z.string(),
  context_function: z.string(),
  environment: z.string(),
  token_count: wireInt,
  record_hash: z.string(),
  previous_context_id: z.string().nullable(),
  /** true when `fabra context import` brought it in, not produced by this deployment (a ledger column, not a record field); absent otherwise. */
  imported: z.boolean().optional(),
});
export type RecordSummaryJson = z.output<typeof recordSummaryShape>;
export type RecordSummary = Omit<LedgerRow, "canonicalText">;

export function recordSummaryJson(r: RecordSummary): RecordSummaryJson {
  return {
    context_id: r.contextId,
    created_at: r.createdAt,
    context_function: r.contextFunction,
    environment: r.environment,
    token_count: r.tokenCount,
    record_hash: r.recordHash,
    previous_context_id: r.previousContextId,
    ...(r.imported === true ? { imported: true } : {}),
  };
}

export function recordSummaryFromJson(json: RecordSummaryJson): RecordSummary {
  return {
    contextId: json.context_id,
    createdAt: json.created_at,
    contextFunction: json.context_function,
    environment: json.environment,
    tokenCount: json.token_count,
    recordHash: json.record_hash,
    previousContextId: json.previous_context_id,
    ...(json.imported === true ? { imported: true } : {}),
  };
}

export const recordPageShape = z.object({ items: z.array(recordSummaryShape), next_cursor: z.string().nullable() });
export type RecordPageJson = z.output<typeof recordPageShape>;

/** A page of records, newest first (or as ordered); `next_cursor` is the last id when the page is full. */
export function recordPageJson(rows: RecordSummary[], limit: number): RecordPageJson {
  const last = rows[rows.length - 1];
  return { items: rows.map(recordSummaryJson), next_cursor: rows.length === limit && last ? last.contextId : null };
}

export function recordPageFromJson(json: RecordPageJson): { rows: RecordSummary[]; nextCursor: string | null } {
  return { rows: json.items.map(recordSummaryFromJson), nextCursor: json.next_cursor };
}

// ---------------------------------------------------------------- a replay

export const replayShape = z.object({
  original_id: z.string(),
  context_id: z.string(),
  mode: z.enum(["live", "recorded"]),
  same_content: z.boolean().nullable(),
  /** The contents differ only by the order of their parts (likely object key order); absent from older servers. */
  only_order_differs: z.boolean().optional(),
  content: z.string(),
  token_count: wireInt,
  record_hash: z.string(),
  persisted: persistedShape,
  // Already snake_case and display-only: taken as the server computed it.
  diff: z.custom<RecordDiff>(
    (v) => typeof v === "object" && v !== null && typeof (v as { summary?: unknown }).summary === "string",
    "a record diff",
  ),
});
/** What the CLI renders: the replay as the server (or this process) computed it. */
export type ReplayJson = z.output<typeof replayShape>;

export function replayJson(r: ReplayResult): ReplayJson {
  return {
    original_id: r.original.context_id,
    context_id: r.replay.id,
    mode: r.live ? "live" : "recorded",
    same_content: r.sameContent,
    only_order_differs: r.onlyOrderDiffers,
    content: r.replay.content,
    token_count: r.replay.tokenCount,
    record_hash: r.replay.meta.recordHash,
    persisted: r.replay.meta.persisted,
    diff: r.diff,
  };
}
