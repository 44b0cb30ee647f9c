// Push: values that changed outside fabra, written to offline history and the online cache in one step (Feast's
// push sources). Each value holds from its event time (default: now) and is known now; the cache takes it unless
// it already holds a value with a later event time (a late push never hides a fresher value).
import { randomUUID } from "node:crypto";
import type { Definitions } from "../../define/collect.js";
import { FabraError } from "../../errors.js";
import { datetimeToMs, normalizeDatetime, nowDatetime } from "../../record/datetime.js";
import type { JsonValue } from "../../record/json.js";
import { encodeValue } from "../../record/values.js";
import type { FeatureValueRow, OfflineStore, OnlineStore } from "../../stores/types.js";
import { requireEntityId } from "./entity-id.js";
import { ttlMsOf, unknownFeature } from "./read.js";
import { refuseHistoryWrite } from "./history-table.js";

export interface PushedValue {
  feature: string;
  entityId: unknown;
  /** A record value (kind-preserving JSON value). */
  value: JsonValue;
  /** From when the value holds (ISO-8601; default: now). */
  eventTime?: string;
}

export interface PushDeps {
  definitions: Definitions;
  offline: OfflineStore;
  online: OnlineStore;
}

export interface PushResult {
  /** Values written to history. */
  written: number;
  /** Of those, values the online cache took (the others were older than the cached value). */
  cached: number;
  /** The run id the values were stored under (`push:<uuid>`). */
  runId: string;
}

/** Most values one push may carry. */
export const MAX_PUSH = 10_000;

export interface PushOptions {
  /**
   * The run id to store the values under (default `push:<uuid>`). A stable one makes the push idempotent: history
   * keeps one value per (feature, entity, run), so the same values pushed again add nothing (an ingested event's
   * recompute, redelivered after a crash, uses `event:<event id>`).
   */
  runId?: string;
  /**
   * The cache takes every value, whatever it holds (a refresh's rule, as materialize writes it), instead of only
   * values not older than the cached one. For a recompute: computed now, it is the newest word on the entity even
   * when its event time is earlier than a value a read computed meanwhile.
   */
  refreshCache?: boolean;
}

export async function pushValues(
  deps: PushDeps,
  values: PushedValue[],
  options: PushOptions = {},
): Promise<PushResult> {
  if (values.length === 0)
    throw new FabraError("INVALID_ARGUMENT", "The push holds no values", {
      hint: 'Send {"feature": "user_tier", "entity_id": "u_1", "value": "gold"} or {"pushes": [...]}.',
    });
  if (values.length > MAX_PUSH)
    throw new FabraError("INVALID_ARGUMENT", `The push holds ${values.length} values; at most ${MAX_PUSH} per call`, {
      hint: "Split it, or backfill big files with `fabra features import`.",
    });
  const knownAt = nowDatetime();
  // One run id per push; in a batch each value gets its own (`<run id>:<n>`), since history keeps one value per
  // (feature, entity, run) and a batch may carry several event times of one entity.
  const runId = options.runId ?? `push:${randomUUID()}`;
  const rows: FeatureValueRow[] = values.map((v, i) => {
    const where = values.length === 1 ? "the push" : `push ${i + 1}`;
    const def = deps.definitions.features.get(v.feature);
    if (!def) throw unknownFeature(v.feature, deps.definitions.features.keys());
    refuseHistoryWrite(def, v.feature, "a push");
    const entityId = requireEntityId(v.entityId, `The entity id of ${where}`);
    let computedAt = knownAt;
    if (v.eventTime !== undefined) {
      try {
        computedAt = normalizeDatetime(v.eventTime);
      } catch {
        throw new FabraError("INVALID_ARGUMENT", `The event_time of ${where} is ${JSON.stringify(v.eventTime)}`, {
          hint: "Use an ISO-8601 datetime, e.g. 2026-03-01T09:00:00Z (no offset = UTC).",
        });
      }
    }
    const rowRunId = values.length === 1 ? runId : `${runId}:${i + 1}`;
    return { feature: v.feature, entityId, valueJson: encodeValue(v.value), computedAt, knownAt, runId: rowRunId };
  });
  await deps.offline.writeValues(rows);
  // The newest pushed value per key, then only where it is not older than what the cache holds.
  const newest = new Map<string, FeatureValueRow>();
  for (const r of rows) {
    const key = `${r.feature}\u0000${r.entityId}`;
    const seen = newest.get(key);
    if (!seen || datetimeToMs(r.computedAt) >= datetimeToMs(seen.computedAt)) newest.set(key, r);
  }
  const candidates = [...newest.values()];
  const cached = options.refreshCache
    ? candidates.map(() => null)
    : await deps.online.getMany(candidates.map((r) => ({ feature: r.feature, entityId: r.entityId })));
  const entries = candidates
    .filter((r, i) => {
      const c = cached[i];
      return c === null || c === undefined || datetimeToMs(c.asOf) <= datetimeToMs(r.computedAt);
    })
    .map((r) => ({
      key: { feature: r.feature, entityId: r.entityId },
      value: { valueJson: r.valueJson, asOf: r.computedAt },
      ttlMs: ttlMsOf(deps.definitions.features.get(r.feature) as Parameters<typeof ttlMsOf>[0]),
    }));
  if (entries.length > 0) await deps.online.setMany(entries);
  return { written: rows.length, cached: entries.length, runId };
}
