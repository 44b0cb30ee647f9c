// POST /v1/ingest/{event} in local mode (the in-process queue): both body forms (fabra's envelope and the Python
// implementation's payload body with ?entity_id=), the Python answer {msg_id, event_id}, 400s for malformed events,
// the recompute of the triggered features (history at the event's time + the online cache, the payload handed to the
// function), a failed recompute retried after the claim idle time, dead letters (malformed, failed too often) listed
// and retried over HTTP, and a redelivered event adding nothing to history.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFabra, entity, type FabraRuntime, feature, type FeatureTrigger } from "../../src/index.js";
import { addDefinitions, emptyDefinitions } from "../../src/define/collect.js";
import { float } from "../../src/record/json.js";
import { definitionProblems } from "../../src/engine/definition-checks.js";
import {
  decodeEvent,
  encodeEvent,
  eventTriggers,
  makeEvent,
  recomputeForEvent,
} from "../../src/engine/features/ingest.js";
import type { IngestConsumer, IngestConsumerEvent } from "../../src/engine/features/ingest-consumer.js";
import { createApp } from "../../src/server/app.js";
import { createAuth } from "../../src/server/auth.js";
import { counterValue, createServerMetrics } from "../../src/server/metrics.js";
import { ingestObserver } from "../../src/server/services.js";

const user = entity("user");
let flakyCalls = 0;
const seen: (FeatureTrigger | undefined)[] = [];
const plan = feature({ entity: user, triggers: ["user_updated"] }, (_id: string, trigger?: FeatureTrigger) => {
  seen.push(trigger);
  return String(trigger?.payload.plan ?? "free");
});
const seats = feature({ entity: user, triggers: ["user_updated", "seats_changed"] }, (_id, trigger) =>
  Number(trigger?.payload.seats ?? 1),
);
const flaky = feature({ entity: user, triggers: ["flaky_event"] }, () => {
  flakyCalls++;
  if (flakyCalls === 1) throw new Error("warehouse hiccup");
  return flakyCalls;
});
const doomed = feature({ entity: user, triggers: ["doomed_event"] }, (): number => {
  throw new Error("always broken");
});

let fabra: FabraRuntime;
let app: ReturnType<typeof createApp>;
let consumer: IngestConsumer;
const metrics = createServerMetrics();
const happened: IngestConsumerEvent[] = [];
const logs: string[] = [];

beforeAll(async () => {
  fabra = await createFabra({
    stores: { offline: { type: "duckdb", path: ":memory:" } },
    definitions: { user, plan, seats, flaky, doomed },
    warn: () => {},
  });
  app = createApp({
    runtime: fabra,
    metrics,
    auth: createAuth(["k"]),
    bodyLimit: 64 * 1024,
    state: { draining: false, inFlight: 0 },
    ledgerWrites: false,
    log: () => {},
    version: "9.9.9",
  });
  const observe = ingestObserver({ metrics, log: (l) => logs.push(l) });
  consumer = fabra.startIngestConsumer({
    blockMs: 20,
    claimIdleMs: 60,
    maxAttempts: 2,
    onEvent: (e) => {
      happened.push(e);
      observe(e);
    },
  });
});
afterAll(async () => {
  await consumer.stop();
  await fabra.close();
});

const post = async (path: string, body?: string) => {
  const res = await app.request(path, {
    method: "POST",
    ...(body === undefined ? {} : { body }),
    headers: { authorization: "Bearer k", "content-type": "application/json" },
  });
  return { status: res.status, body: JSON.parse(await res.text()) as Record<string, unknown> };
};
const get = async (path: string) => {
  const res = await app.request(path, { headers: { authorization: "Bearer k" } });
  return { status: res.status, body: JSON.parse(await res.text()) as Record<string, unknown> };
};

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
const processed = (entryId: unknown) =>
  until(`event ${String(entryId)} processed`, () =>
    happened.find((e) => e.type === "processed" && e.entryId === entryId),
  );
const historyRows = (featureName: string, entityId: string) =>
  fabra.stores.offline.queryEntityIds(
    `SELECT run_id FROM fabra_feature_values WHERE feature = '${featureName}' AND entity_id = '${entityId}'`,
  );

describe("the triggers option", () => {
  const problems = (exports: Record<string, unknown>) =>
    definitionProblems(addDefinitions(emptyDefinitions(), { user, ...exports }, "test"));
  it("is checked like the other options, with did you mean for a mistyped key", () => {
    expect(problems({ f: feature({ entity: user, trigger: ["x"] } as never, () => 1) })).toEqual([
      expect.objectContaining({
        code: "INVALID_DEFINITION",
        message: "Feature f has no option `trigger`",
        hint: 'Did you mean "triggers"?',
      }),
    ]);
    expect(problems({ f: feature({ entity: user, triggers: "user_updated" } as never, () => 1) })).toEqual([
      expect.objectContaining({
        code: "INVALID_DEFINITION",
        message: expect.stringContaining('Feature f: `triggers` is "user_updated"'),
        hint: 'Use e.g. triggers: ["user_updated"].',
      }),
    ]);
    expect(problems({ f: feature({ entity: user, triggers: ["user-updated"] }, () => 1) })).toHaveLength(1);
    expect(problems({ f: feature({ entity: user, triggers: ["user_updated"] }, () => 1) })).toEqual([]);
  });

  it("maps each event type to the features declaring it, sorted", () => {
    expect([...eventTriggers(fabra.definitions)]).toEqual([
      ["doomed_event", ["doomed"]],
      ["flaky_event", ["flaky"]],
      ["seats_changed", ["seats"]],
      ["user_updated", ["plan", "seats"]],
    ]);
  });
});

describe("POST /v1/ingest/{event}", () => {
  it("takes fabra's envelope: 202 with the entry id, the event id and the features; the recompute lands in history at the event's time and in the cache", async () => {
    const r = await post(
      "/v1/ingest/user_updated",
      JSON.stringify({ entity_id: "u1", payload: { plan: "pro", seats: 12 }, event_time: "2026-03-01T09:00:00Z" }),
    );
    expect(r.status).toBe(202);
    expect(r.body).toEqual({
      msg_id: expect.stringMatching(/^\d+-\d+$/),
      event_id: expect.any(String),
      features: ["plan", "seats"],
    });
    const done = await processed(r.body.msg_id);
    expect(done).toMatchObject({
      eventId: r.body.event_id,
      entityId: "u1",
      features: ["plan", "seats"],
      deliveries: 1,
    });
    expect(await fabra.stores.online.get({ feature: "plan", entityId: "u1" })).toEqual({
      valueJson: '"pro"',
      asOf: "2026-03-01T09:00:00Z",
    });
    expect((await fabra.getFeatureAsOf("seats", "u1", "2026-03-01T09:00:00Z")).value).toBe(12);
    await expect(fabra.getFeatureAsOf("seats", "u1", "2026-03-01T08:59:59Z")).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
    const trigger = seen.at(-1);
    expect(trigger).toEqual({
      event: "user_updated",
      eventId: r.body.event_id,
      payload: { plan: "pro", seats: 12 },
      eventTime: "2026-03-01T09:00:00Z",
    });
    expect(await counterValue(metrics.ingestReceived, { event: "user_updated" })).toBe(1);
    expect(await counterValue(metrics.ingestProcessed, { event: "user_updated" })).toBe(1);
  });

  it("takes the Python form: ?entity_id= with the payload as the body", async () => {
    const r = await post("/v1/ingest/user_updated?entity_id=u2", JSON.stringify({ plan: "team" }));
    expect(r.status).toBe(202);
    await processed(r.body.msg_id);
    expect((await fabra.stores.online.get({ feature: "plan", entityId: "u2" }))?.valueJson).toBe('"team"');
    // no body at all: an empty payload
    const bare = await post("/v1/ingest/seats_changed?entity_id=u2");
    expect(bare).toMatchObject({ status: 202, body: { features: ["seats"] } });
    await processed(bare.body.msg_id);
  });

  it("accepts an event type no feature declares, as the Python route does, recomputing nothing", async () => {
    const r = await post("/v1/ingest/nobody_listens", JSON.stringify({ entity_id: "u1" }));
    expect(r).toMatchObject({ status: 202, body: { features: [] } });
    expect(await counterValue(metrics.ingestReceived, { event: "(undeclared)" })).toBe(1);
  });

  it.each([
    ["a bad event type", "/v1/ingest/user-updated", '{"entity_id": "u1"}', "must be alphanumeric"],
    ["no entity id", "/v1/ingest/user_updated", '{"payload": {}}', "has no entity_id"],
    ["an empty entity id", "/v1/ingest/user_updated", '{"entity_id": ""}', "not an entity id"],
    [
      "a payload that is no object",
      "/v1/ingest/user_updated",
      '{"entity_id": "u1", "payload": [1]}',
      "must be a JSON object",
    ],
    [
      "a bad event time",
      "/v1/ingest/user_updated",
      '{"entity_id": "u1", "event_time": "yesterday"}',
      "is not a datetime",
    ],
    ["an unknown key", "/v1/ingest/user_updated", '{"entity_id": "u1", "plan": "pro"}', "plan"],
    ["a Python payload that is no object", "/v1/ingest/user_updated?entity_id=u1", "[1, 2]", "must be a JSON object"],
    ["malformed JSON", "/v1/ingest/user_updated", '{"entity_id": ', "JSON"],
  ])("answers %s with 400 and queues nothing", async (_, path, body, message) => {
    const before = (await fabra.stores.events.backlog(["user_updated"]))[0];
    const r = await post(path, body);
    expect(r.status).toBe(400);
    expect((r.body.error as { message: string }).message).toContain(message);
    expect((r.body.error as { hint?: string }).hint).toEqual(expect.any(String));
    expect((await fabra.stores.events.backlog(["user_updated"]))[0]).toEqual(before);
  });

  it("retries a failed recompute after the claim idle time, then acknowledges it", async () => {
    const r = await post("/v1/ingest/flaky_event", JSON.stringify({ entity_id: "u3" }));
    const done = await processed(r.body.msg_id);
    expect(done).toMatchObject({ deliveries: 2 });
    expect(happened).toContainEqual(expect.objectContaining({ type: "failed", entryId: r.body.msg_id, deliveries: 1 }));
    expect((await fabra.stores.online.get({ feature: "flaky", entityId: "u3" }))?.valueJson).toBe("2");
    expect(await counterValue(metrics.ingestFailed, { event: "flaky_event" })).toBe(1);
  });

  it("dead-letters an event failing maxAttempts times, lists it with the reason, and retries it on request", async () => {
    const r = await post("/v1/ingest/doomed_event", JSON.stringify({ entity_id: "u4", payload: { n: 1.0 } }));
    await until("dead letter", () => happened.find((e) => e.type === "dead-lettered" && e.entryId === r.body.msg_id));
    const list = await get("/v1/ingest/dead-letter");
    expect(list.status).toBe(200);
    const letter = (list.body.dead_letters as Record<string, unknown>[]).find((d) => d.entry_id === r.body.msg_id);
    expect(letter).toMatchObject({
      event_type: "doomed_event",
      deliveries: 2,
      reason: expect.stringContaining("failed 2 times; last error: Feature doomed failed"),
      data: expect.objectContaining({ id: r.body.event_id, entity_id: "u4" }),
    });
    expect(logs.some((l) => l.includes("dead-lettered"))).toBe(true);
    expect(await counterValue(metrics.ingestDeadLettered, { event: "doomed_event" })).toBe(1);
    const retried = await post("/v1/ingest/dead-letter/retry", JSON.stringify({ ids: [letter?.id] }));
    expect(retried).toMatchObject({ status: 200, body: { retried: 1 } });
    await until("dead-lettered again", () =>
      happened.filter((e) => e.type === "dead-lettered" && e.eventType === "doomed_event").length === 2
        ? true
        : undefined,
    );
  });

  it("dead-letters a malformed entry at once, with why", async () => {
    const entryId = await fabra.stores.events.publish("user_updated", '{"id": "x", "payload": {}}');
    const dead = await until("malformed dead letter", () =>
      happened.find((e) => e.type === "dead-lettered" && e.entryId === entryId),
    );
    expect(dead).toMatchObject({ deliveries: 1, reason: expect.stringContaining("malformed event") });
    expect((dead as { reason: string }).reason).toContain("no entity_id");
  });
});

describe("the recompute", () => {
  it("of an event delivered twice adds nothing to history the second time", async () => {
    const event = makeEvent("user_updated", { entityId: "u9", payload: { plan: "gold" } });
    const deps = { definitions: fabra.definitions, offline: fabra.stores.offline, online: fabra.stores.online };
    await recomputeForEvent(deps, event);
    await recomputeForEvent(
      deps,
      decodeEvent({ entryId: "1-0", eventType: "user_updated", data: encodeEvent(event), deliveries: 2 }),
    );
    expect(await historyRows("plan", "u9")).toHaveLength(1);
    expect(await historyRows("seats", "u9")).toHaveLength(1);
  });

  it("replaces a value a read cached after the event's time (a recompute is a refresh), history keeping both in order", async () => {
    const event = makeEvent("user_updated", { entityId: "u10", payload: { plan: "pro" } });
    await new Promise((r) => setTimeout(r, 5));
    expect((await fabra.getFeatureValue("plan", "u10")).value).toBe("free"); // computed and cached, later than the event
    const deps = { definitions: fabra.definitions, offline: fabra.stores.offline, online: fabra.stores.online };
    await recomputeForEvent(deps, event);
    expect(await fabra.stores.online.get({ feature: "plan", entityId: "u10" })).toEqual({
      valueJson: '"pro"',
      asOf: event.timestamp,
    });
    expect(await historyRows("plan", "u10")).toHaveLength(2);
  });

  it("keeps big integers and floats of the payload exactly on the queue", () => {
    const event = makeEvent("user_updated", {
      entityId: 42,
      payload: { big: 123456789012345678901n, f: float(12) } as never,
    });
    const text = encodeEvent(event);
    expect(text).toContain('"big":123456789012345678901');
    expect(text).toContain('"f":12.0');
    expect(text).toContain('"entity_id":"42"');
    expect(decodeEvent({ entryId: "1-0", eventType: "user_updated", data: text, deliveries: 1 })).toEqual(event);
  });
});
