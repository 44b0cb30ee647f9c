// The wire shapes of features: a value with its provenance (GET /v1/features/:name/:entity, `features get --json`)
// and a materialization run as the offline store keeps it (`features list --json`), each with its inverse.
import { z } from "zod";
import type { FeatureValue } from "../engine/runtime.js";
import type { MaterializationRun } from "../stores/types.js";
import { wireInt, wireNumber } from "./wire.js";

export const featureValueShape = z.object({
  name: z.string(),
  entity_id: z.string(),
  value: z.unknown(),
  as_of: z.string(),
  freshness_ms: wireNumber,
  served_from: z.string(),
  /** A read of history as of a time (`--as-of`, `as_of=`): joined by event time or by known time. */
  joined_by: z.enum(["event_time", "known_time"]).optional(),
});
export type FeatureValueJson = z.output<typeof featureValueShape>;
/** A feature value whose `source` may name any provenance (the CLI's `features get --as-of` reads history). */
export type FeatureValueLike = Omit<FeatureValue, "source"> & {
  source: string;
  joinedBy?: "event_time" | "known_time";
};

/** A feature value with its provenance; `served_from` is cache, computed, fallback or history. */
export function featureValueJson(v: FeatureValueLike): FeatureValueJson {
  return {
    name: v.name,
    entity_id: v.entityId,
    value: v.value,
    as_of: v.asOf,
    freshness_ms: v.freshnessMs,
    served_from: v.source,
    ...(v.joinedBy === undefined ? {} : { joined_by: v.joinedBy }),
  };
}

export function featureValueFromJson(json: FeatureValueJson): FeatureValueLike {
  return {
    name: json.name,
    entityId: json.entity_id,
    value: json.value,
    asOf: json.as_of,
    freshnessMs: json.freshness_ms,
    source: json.served_from,
    ...(json.joined_by === undefined ? {} : { joinedBy: json.joined_by }),
  };
}

export const materializationRunShape = z.object({
  run_id: z.string(),
  feature: z.string(),
  trigger: z.enum(["manual", "schedule"]),
  status: z.enum(["running", "interrupted", "succeeded", "partial"]),
  started_at: z.string(),
  finished_at: z.string().nullable(),
  entities_written: wireInt,
  entities_failed: wireInt,
  error: z.string().nullable(),
  /** The run's generation (1, +1 per resume); absent from servers before it existed. */
  attempt: wireInt.optional(),
});
export type MaterializationRunJson = z.output<typeof materializationRunShape>;

export function materializationRunJson(r: MaterializationRun): MaterializationRunJson {
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
    attempt: r.attempt,
  };
}

export function materializationRunFromJson(json: MaterializationRunJson): MaterializationRun {
  return {
    runId: json.run_id,
    feature: json.feature,
    trigger: json.trigger,
    status: json.status,
    startedAt: json.started_at,
    finishedAt: json.finished_at,
    entitiesWritten: json.entities_written,
    entitiesFailed: json.entities_failed,
    error: json.error,
    attempt: json.attempt ?? 1,
  };
}
