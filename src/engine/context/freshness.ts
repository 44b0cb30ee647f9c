// Freshness against a context's SLA: which features and chunks are too old, and the resulting status.
import type { FreshnessStatus } from "../../record/types.js";

export interface FreshnessInput {
  /** `stale`: counts as over the SLA whatever its age (a fallback default). */
  features: { name: string; freshness_ms: number | bigint; stale?: boolean }[];
  chunks: { chunk_id: string; freshness_ms: number | bigint; included: boolean }[];
}

export interface FreshnessVerdict {
  status: FreshnessStatus;
  /** Feature names and chunk ids over the SLA, in the order they were read. */
  violations: string[];
}

/** The two clocks a context is judged on: features (`freshnessSla`) and included chunks (`chunkFreshnessSla`). */
export interface FreshnessSlas {
  featuresMs: number | null;
  chunksMs: number | null;
}

/**
 * No SLA at all → `unknown`; anything over its SLA (a feature past `featuresMs` or served `stale`, an included
 * chunk past `chunksMs`) → `degraded`; else `guaranteed`. Dropped chunks never count; chunks are judged only when
 * a chunk SLA is set (documents change on another clock than features).
 */
export function judgeFreshness(slas: FreshnessSlas, input: FreshnessInput): FreshnessVerdict {
  const { featuresMs, chunksMs } = slas;
  if (featuresMs === null && chunksMs === null) return { status: "unknown", violations: [] };
  const violations: string[] = [];
  if (featuresMs !== null)
    for (const f of input.features) {
      if ((f.stale === true || f.freshness_ms > featuresMs) && !violations.includes(f.name)) violations.push(f.name);
    }
  if (chunksMs !== null)
    for (const c of input.chunks)
      if (c.included && c.freshness_ms > chunksMs && !violations.includes(c.chunk_id)) violations.push(c.chunk_id);
  return { status: violations.length > 0 ? "degraded" : "guaranteed", violations };
}
