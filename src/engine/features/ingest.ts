// Ingested events (`POST /v1/ingest/{event}`, the Python implementation's route): an event names an entity, and
// every feature that declares the event in its `triggers` is recomputed for that entity. The route only validates
// and enqueues (EventQueue: Redis Streams in production, in-process in local mode); consumers (ingest-consumer.ts)
// do the recompute.
//
// An event on the queue is JSON in the Python implementation's shape (its AxiomEvent), so either side can read the
// other's: `{"id", "event_type", "entity_id", "payload", "timestamp"}`, `timestamp` being the event time.
//
// The recompute writes through the push path (push.ts: history and the online cache in one step) under the run id
// `event:<event id>`: history keeps one value per (feature, entity, run), so an event delivered twice (a consumer died
// before its acknowledgement) adds nothing the second time. History has the value from the event's time (known now);
// the cache takes it as a refresh does (computed now, it replaces whatever a read cached meanwhile).
import { randomUUID } from "node:crypto";
import type { Definitions } from "../../define/collect.js";
import type { FeatureTrigger } from "../../define/feature.js";
import { errorMessage, FabraError } from "../../errors.js";
import { normalizeDatetime, nowDatetime } from "../../record/datetime.js";
import { isJsonObject, type JsonObject, type JsonValue, parseJson, toJsonText, toPlain } from "../../record/json.js";
import type { EventQueue, OfflineStore, OnlineStore, QueuedEvent } from "../../stores/types.js";
import { entityIdOf } from "./entity-id.js";
import { pushValues, type PushedValue } from "./push.js";
import { computeFeature } from "./read.js";

/** An event type: letters, digits and underscores (the Python route's rule), at most 128 of them. */
export const EVENT_TYPE_PATTERN = /^[A-Za-z0-9_]{1,128}$/;

/** An event as it travels on the queue. */
export interface IngestedEvent {
  /** A UUID, kept across redeliveries and retries (the recompute's run id derives from it). */
  id: string;
  eventType: string;
  entityId: string;
  payload: JsonObject;
  /** Event time (normal form): when it happened; default when it was received. */
  timestamp: string;
}

/** What a client sends: the entity, the event's data, and optionally when it happened. */
export interface IngestInput {
  entityId: unknown;
  payload?: JsonValue;
  eventTime?: string;
}

export interface IngestAccepted {
  /** The queue's entry id (the Redis stream entry id), as the Python route's `msg_id`. */
  msgId: string;
  eventId: string;
  /** Features the event recomputes (empty: no feature declares it; the event is still accepted, as in Python). */
  features: string[];
}

/** Every event type some feature declares, with the features it triggers (both sorted). */
export function eventTriggers(definitions: Definitions): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [name, def] of definitions.features) {
    for (const event of def.options.triggers ?? []) {
      const list = out.get(event) ?? [];
      if (!list.includes(name)) list.push(name);
      out.set(event, list);
    }
  }
  for (const list of out.values()) list.sort();
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function checkEventType(eventType: string): string {
  if (!EVENT_TYPE_PATTERN.test(eventType))
    throw new FabraError(
      "INVALID_ARGUMENT",
      `Event type ${JSON.stringify(eventType)} must be alphanumeric (underscores allowed), at most 128 characters`,
      { hint: "Use e.g. POST /v1/ingest/user_updated." },
    );
  return eventType;
}

/** Validates an event and gives it its id and event time (400-class errors name what is wrong). */
export function makeEvent(eventType: string, input: IngestInput, receivedAt = nowDatetime()): IngestedEvent {
  checkEventType(eventType);
  const entityId = entityIdOf(input.entityId);
  if (entityId === null)
    throw new FabraError(
      "INVALID_ARGUMENT",
      input.entityId === undefined
        ? "The event has no entity_id"
        : `The event's entity_id is ${JSON.stringify(toJsonText(input.entityId))}, not an entity id`,
      {
        hint: 'Send {"entity_id": "u_1", "payload": {...}}, or the payload as the body with ?entity_id=u_1 (the Python form).',
      },
    );
  const payload = input.payload ?? {};
  if (!isJsonObject(payload))
    throw new FabraError("INVALID_ARGUMENT", "The event's payload must be a JSON object", {
      hint: 'Send e.g. "payload": {"plan": "pro"}, or leave it out.',
    });
  let timestamp = receivedAt;
  if (input.eventTime !== undefined) {
    try {
      timestamp = normalizeDatetime(input.eventTime, "event_time");
    } catch {
      throw new FabraError("INVALID_ARGUMENT", `The event_time ${JSON.stringify(input.eventTime)} is not a datetime`, {
        hint: "Use an ISO-8601 datetime, e.g. 2026-03-01T09:00:00Z (no offset = UTC), or leave it out (now).",
      });
    }
  }
  return { id: randomUUID(), eventType, entityId, payload, timestamp };
}

/** The event as queue data (the Python implementation's AxiomEvent JSON; numbers kept exactly). */
export function encodeEvent(event: IngestedEvent): string {
  return toJsonText({
    id: event.id,
    event_type: event.eventType,
    entity_id: event.entityId,
    payload: event.payload,
    timestamp: event.timestamp,
  });
}

/** A queue entry as an event, or INVALID_INPUT with why it is malformed (it is then dead-lettered, never retried). */
export function decodeEvent(entry: QueuedEvent): IngestedEvent {
  const bad = (why: string) =>
    new FabraError("INVALID_INPUT", `malformed event ${entry.entryId} in ${entry.eventType}: ${why}`, {
      hint: 'Publish {"data": "<JSON with id, entity_id, payload, timestamp>"}, as POST /v1/ingest/{event} does.',
    });
  if (entry.data === null) throw bad("it has no data field");
  let parsed: JsonValue;
  try {
    parsed = parseJson(entry.data, "event data");
  } catch (err) {
    throw bad(`its data is not JSON (${errorMessage(err)})`);
  }
  if (!isJsonObject(parsed)) throw bad("its data is not a JSON object");
  const id = parsed.id;
  if (typeof id !== "string" || id === "") throw bad("it has no id");
  if (parsed.event_type !== undefined && parsed.event_type !== entry.eventType)
    throw bad(`its event_type ${JSON.stringify(parsed.event_type)} is not its stream's`);
  const entityId = entityIdOf(parsed.entity_id);
  if (entityId === null) throw bad("it has no entity_id (a non-empty string)");
  const payload = parsed.payload ?? {};
  if (!isJsonObject(payload)) throw bad("its payload is not a JSON object");
  let timestamp: string;
  try {
    timestamp = normalizeDatetime(String(parsed.timestamp), "timestamp");
  } catch {
    throw bad(`its timestamp ${JSON.stringify(toJsonText(parsed.timestamp ?? null))} is not a datetime`);
  }
  return { id, eventType: entry.eventType, entityId, payload, timestamp };
}

/** Validates and enqueues an event; answers once the queue has it (XADD done, or in the in-process queue). */
export async function ingestEvent(
  deps: { definitions: Definitions; events: EventQueue },
  eventType: string,
  input: IngestInput,
): Promise<IngestAccepted> {
  const event = makeEvent(eventType, input);
  const msgId = await deps.events.publish(event.eventType, encodeEvent(event));
  return { msgId, eventId: event.id, features: eventTriggers(deps.definitions).get(event.eventType) ?? [] };
}

export interface RecomputeDeps {
  definitions: Definitions;
  offline: OfflineStore;
  online: OnlineStore;
}

export interface RecomputeResult {
  features: string[];
  /** Values written to history (0 when a redelivered event's values were already there is still reported as written). */
  written: number;
  cached: number;
}

/**
 * Recomputes every feature the event triggers for its entity, and writes them (history with event time = the event's
 * time, known now; the online cache, as a refresh) in one push under run id `event:<id>`. All the
 * features are computed before anything is written: one that fails fails the event (retried), leaving nothing half
 * done. Returns once the values are durable.
 */
export async function recomputeForEvent(deps: RecomputeDeps, event: IngestedEvent): Promise<RecomputeResult> {
  const features = eventTriggers(deps.definitions).get(event.eventType) ?? [];
  if (features.length === 0) return { features, written: 0, cached: 0 };
  const trigger: FeatureTrigger = {
    event: event.eventType,
    eventId: event.id,
    payload: toPlain(event.payload) as Record<string, unknown>,
    eventTime: event.timestamp,
  };
  const values: PushedValue[] = [];
  for (const name of features) {
    const def = deps.definitions.features.get(name);
    if (!def) continue;
    try {
      values.push({
        feature: name,
        entityId: event.entityId,
        value: await computeFeature(def, event.entityId, trigger),
        eventTime: event.timestamp,
      });
    } catch (err) {
      throw new FabraError(
        "FEATURE_COMPUTE_FAILED",
        `Feature ${name} failed for ${JSON.stringify(event.entityId)} on event ${event.eventType}: ${errorMessage(err)}`,
        { hint: "Fix the feature function; the event is retried, then dead-lettered.", cause: err },
      );
    }
  }
  const result = await pushValues(deps, values, { runId: `event:${event.id}`, refreshCache: true });
  return { features, written: result.written, cached: result.cached };
}
