// Freshness against a context's SLA: which features and chunks are too old, and the resulting status.
import type { FreshnessStatus } from "../../record/types.js";

export interface FreshnessInput {
  /** `stale`: counts as over the SLA whatever its age (a fallback default). */
  features: { name: string; freshness_ms: number; stale?: boolean }[];
  chunks: { chunk_id: string; freshness_ms: number; included: boolean }[];
}

export interface FreshnessVerdict {
  status: FreshnessStatus;
  /** Feature names and chunk ids over the SLA, in the order they were read. */
  violations: string[];
}

/**
 * No SLA → `unknown`; anything over it (or `stale`) → `degraded`; else `guaranteed`. Dropped chunks never count.
 */
export function judgeFreshness(slaMs: number | null, input: FreshnessInput): FreshnessVerdict {
  if (slaMs === null) return { status: "unknown", violations: [] };
  const violations: string[] = [];
  for (const f of input.features) {
    if ((f.stale === true || f.freshness_ms > slaMs) && !violations.includes(f.name)) violations.push(f.name);
  }
  for (const c of input.chunks)
    if (c.included && c.freshness_ms > slaMs && !violations.includes(c.chunk_id)) violations.push(c.chunk_id);
  return { status: violations.length > 0 ? "degraded" : "guaranteed", violations };
}
