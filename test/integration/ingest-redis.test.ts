// Ingested events on the real Redis (Streams, one consumer group) and Postgres (history), a key prefix and a schema of
// their own: two consumers in one group share the events (each processed once); a killed consumer's pending events
// are claimed by the other after the idle time; a malformed entry goes to the dead-letter stream with the reason; an
// event is acknowledged only after its recompute is durable (a crash between the write and the XACK redelivers it,
// and the recompute adds nothing the second time); a store being down never dead-letters an event.
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFabra, entity, type FabraRuntime, feature } from "../../src/index.js";
import type { IngestConsumer, IngestConsumerEvent } from "../../src/engine/features/ingest-consumer.js";
import { FabraError } from "../../src/errors.js";
import { CONSUMER_GROUP, open as openRedisEvents } from "../../src/stores/redis/events.js";
import { migratedSchema, type TestSchema } from "../helpers/pg-stores.js";
import { deleteKeys, POSTGRES_URL, postgresUp, REDIS_URL, redisUp, uniqueName } from "../helpers/services.js";

const up = (await postgresUp()) && (await redisUp());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe.skipIf(!up)("ingested events on Redis Streams", () => {
  const prefix = `${uniqueName()}:`;
  const stream = `${prefix}events:user_updated`;
  let schema: TestSchema;
  let redis: Redis;
  const runtimes: FabraRuntime[] = [];
  const consumers: IngestConsumer[] = [];
  let computed = 0;

  const open = async (): Promise<FabraRuntime> => {
    const user = entity("user");
    const plan = feature({ entity: user, triggers: ["user_updated"] }, async (_id: string, trigger) => {
      computed++;
      await sleep(5);
      return String(trigger?.payload.plan ?? "free");
    });
    const fabra = await createFabra({
      stores: {
        offline: { type: "postgres", url: POSTGRES_URL, schema: schema.target.schema, poolSize: 2 },
        online: { type: "redis", url: REDIS_URL, keyPrefix: prefix },
      },
      definitions: { user, plan },
      warn: () => {},
    });
    runtimes.push(fabra);
    return fabra;
  };
  const consume = (fabra: FabraRuntime, name: string, events: IngestConsumerEvent[], claimIdleMs = 60_000) => {
    const c = fabra.startIngestConsumer({
      consumer: name,
      count: 1,
      blockMs: 50,
      claimIdleMs,
      maxAttempts: 3,
      onEvent: (e) => events.push(e),
    });
    consumers.push(c);
    return c;
  };
  const history = async (entityId: string) =>
    (
      await (runtimes[0] as FabraRuntime).stores.offline.queryEntityIds(
        `SELECT run_id FROM fabra_feature_values WHERE feature = 'plan' AND entity_id = '${entityId}'`,
      )
    ).length;
  const consumerNames = async () =>
    ((await redis.xinfo("CONSUMERS", stream, CONSUMER_GROUP)) as unknown[][]).map((c) => String(c[1]));
  const pendingCount = async () => Number(((await redis.xpending(stream, CONSUMER_GROUP)) as [number])[0]);

  beforeAll(async () => {
    schema = await migratedSchema(POSTGRES_URL);
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 0 });
  });
  afterAll(async () => {
    for (const c of consumers) await c.stop();
    for (const r of runtimes) await r.close();
    redis?.disconnect();
    await deleteKeys(REDIS_URL, prefix);
    await schema?.drop();
  });

  it("XADDs in the Python layout (a stream per event type, the event JSON in `data`), trimmed with MAXLEN ~", async () => {
    const a = await open();
    const accepted = await a.ingest("user_updated", { entityId: "u0", payload: { plan: "pro" } });
    const [[id, fields]] = (await redis.xrange(stream, accepted.msgId, accepted.msgId)) as [[string, string[]]];
    expect(id).toBe(accepted.msgId);
    expect(fields[0]).toBe("data");
    expect(JSON.parse(fields[1] as string)).toEqual({
      id: accepted.eventId,
      event_type: "user_updated",
      entity_id: "u0",
      payload: { plan: "pro" },
      timestamp: expect.stringMatching(/Z$/),
    });
  });

  it("two consumers in one group share the events: each processed once, by one of them", async () => {
    const a = runtimes[0] as FabraRuntime;
    const b = await open();
    const seenA: IngestConsumerEvent[] = [];
    const seenB: IngestConsumerEvent[] = [];
    const ca = consume(a, "consumer-a", seenA);
    const cb = consume(b, "consumer-b", seenB);
    const ids = new Set<string>([(await redis.xrange(stream, "-", "+"))[0]?.[0] as string]);
    for (let i = 1; i <= 30; i++)
      ids.add((await a.ingest("user_updated", { entityId: `u${i}`, payload: { plan: `p${i}` } })).msgId);
    const done = () => [...seenA, ...seenB].filter((e) => e.type === "processed");
    await until("31 processed", () => (done().length >= 31 ? true : undefined));
    await sleep(200); // room for a double delivery to show up
    const entries = done().map((e) => (e as { entryId: string }).entryId);
    expect(new Set(entries)).toEqual(ids);
    expect(entries).toHaveLength(31);
    expect(seenA.filter((e) => e.type === "processed").length).toBeGreaterThan(0);
    expect(seenB.filter((e) => e.type === "processed").length).toBeGreaterThan(0);
    expect(await pendingCount()).toBe(0);
    expect((await a.stores.online.get({ feature: "plan", entityId: "u7" }))?.valueJson).toBe('"p7"');
    expect(await history("u7")).toBe(1);
    expect(await a.stores.events.backlog(["user_updated"])).toEqual([
      { eventType: "user_updated", waiting: 0, pending: 0 },
    ]);
    await ca.stop();
    await cb.stop();
    // Stopped consumers holding nothing leave the group.
    expect(await consumerNames()).not.toEqual(expect.arrayContaining(["consumer-a"]));
    expect(await consumerNames()).not.toContain("consumer-b");
  });

  it("a killed consumer's pending events are claimed by the other after the idle time and processed", async () => {
    const a = runtimes[0] as FabraRuntime;
    const ids: string[] = [];
    for (const n of [1, 2, 3])
      ids.push((await a.ingest("user_updated", { entityId: `k${n}`, payload: { plan: "k" } })).msgId);
    // A consumer reads them and dies before processing (nothing acknowledged).
    const taken = await a.stores.events.consume("doomed-consumer", ["user_updated"], {
      count: 10,
      blockMs: 10,
      claimIdleMs: 60_000,
    });
    expect(taken.map((t) => t.entryId)).toEqual(ids);
    expect(await pendingCount()).toBe(3);
    const seen: IngestConsumerEvent[] = [];
    consume(runtimes[1] as FabraRuntime, "survivor", seen, 300);
    await until("3 claimed and processed", () =>
      seen.filter((e) => e.type === "processed").length >= 3 ? true : undefined,
    );
    const processed = seen.filter((e) => e.type === "processed") as Extract<
      IngestConsumerEvent,
      { type: "processed" }
    >[];
    expect(processed.map((e) => e.entryId).sort()).toEqual(ids);
    for (const e of processed) expect(e.deliveries).toBe(2);
    expect(await pendingCount()).toBe(0);
    expect((await a.stores.online.get({ feature: "plan", entityId: "k2" }))?.valueJson).toBe('"k"');
    await (consumers.pop() as IngestConsumer).stop();
  });

  it("a malformed entry goes to the dead-letter stream at once, with the reason, and is acknowledged", async () => {
    const a = runtimes[0] as FabraRuntime;
    const junk = (await redis.xadd(stream, "*", "data", "{not json")) as string;
    const noData = (await redis.xadd(stream, "*", "other", "x")) as string;
    const seen: IngestConsumerEvent[] = [];
    const c = consume(a, "dlq-consumer", seen);
    await until("2 dead letters", () =>
      seen.filter((e) => e.type === "dead-lettered").length >= 2 ? true : undefined,
    );
    await c.stop();
    const letters = await a.stores.events.deadLetters(100);
    expect(letters.find((d) => d.entryId === junk)).toMatchObject({
      eventType: "user_updated",
      data: "{not json",
      deliveries: 1,
      reason: expect.stringContaining("its data is not JSON"),
    });
    expect(letters.find((d) => d.entryId === noData)?.reason).toContain("it has no data field");
    const raw = (await redis.xrange(`${prefix}dlq:events`, "-", "+")) as [string, string[]][];
    const fields = raw.map(([, f]) => f).find((f) => f.includes(junk)) as string[];
    expect(fields).toEqual(expect.arrayContaining(["error", "original_stream", stream, "original_id", junk]));
    expect(await pendingCount()).toBe(0);
    // Only a dead letter with data can be retried; it goes back as a new entry (and is dead-lettered again).
    expect(await a.stores.events.retryDeadLetters()).toBe(1);
    expect((await a.stores.events.deadLetters(100)).map((d) => d.entryId)).toEqual([noData]);
    await redis.del(`${prefix}dlq:events`);
    const again = consume(a, "dlq-consumer-2", seen);
    await until("the retried one dead-lettered again", async () =>
      (await a.stores.events.deadLetters(100)).length === 1 ? true : undefined,
    );
    await again.stop();
  });

  it("acknowledges only after the recompute is durable: a crash before the XACK redelivers it, and the recompute adds nothing twice", async () => {
    const a = runtimes[0] as FabraRuntime;
    const events = a.stores.events;
    const realAck = events.ack.bind(events);
    let crashed = false;
    // The process "dies" between the durable write and the acknowledgement.
    events.ack = async () => {
      crashed = true;
      throw new FabraError("STORE_UNAVAILABLE", "connection lost before XACK");
    };
    const before = computed;
    const { msgId } = await a.ingest("user_updated", { entityId: "crash1", payload: { plan: "gold" } });
    const seen: IngestConsumerEvent[] = [];
    const first = consume(a, "crashing", seen, 60_000);
    await until("the write before the lost ack", () => (crashed ? true : undefined));
    await first.stop();
    expect(await history("crash1")).toBe(1);
    expect(await pendingCount()).toBe(1);
    // A stopped consumer still holding an entry stays in the group, so the entry is claimed, never dropped.
    expect(await consumerNames()).toContain("crashing");
    events.ack = realAck;
    const second = consume(a, "restarted", seen, 200);
    const done = await until("redelivered and processed", () =>
      seen.find((e) => e.type === "processed" && e.entryId === msgId),
    );
    await second.stop();
    expect(done).toMatchObject({ deliveries: 2 });
    expect(computed - before).toBe(2);
    expect(await history("crash1")).toBe(1);
    expect(await pendingCount()).toBe(0);
  });

  it("an offline store that is down leaves the event pending however often it fails: never dead-lettered", async () => {
    const a = runtimes[0] as FabraRuntime;
    const offline = a.stores.offline;
    const realWrite = offline.writeValues.bind(offline);
    offline.writeValues = async () => {
      throw new FabraError("STORE_UNAVAILABLE", "Postgres is away");
    };
    const { msgId } = await a.ingest("user_updated", { entityId: "down1", payload: { plan: "x" } });
    const seen: IngestConsumerEvent[] = [];
    const c = consume(a, "outage", seen, 50);
    await until("4 failed deliveries", () =>
      seen.filter((e) => e.type === "failed" && e.entryId === msgId).length >= 4 ? true : undefined,
    );
    expect(seen.some((e) => e.type === "dead-lettered")).toBe(false);
    offline.writeValues = realWrite;
    await until("processed once the store is back", () =>
      seen.find((e) => e.type === "processed" && e.entryId === msgId),
    );
    await c.stop();
    expect(await history("down1")).toBe(1);
  });

  it("streams are bounded (MAXLEN ~); an entry trimmed while pending is dead-lettered as such, not lost silently", async () => {
    const small = openRedisEvents({ url: REDIS_URL, timeoutMs: 1000, service: "stores.online" }, `${prefix}small:`, {
      maxLength: 5,
    });
    try {
      const first = await small.publish("tiny", '{"n": 0}');
      const [held] = await small.consume("holder", ["tiny"], { count: 1, blockMs: 10, claimIdleMs: 60_000 });
      expect(held?.entryId).toBe(first);
      for (let i = 1; i <= 300; i++) await small.publish("tiny", `{"n": ${i}}`);
      expect(await redis.xlen(`${prefix}small:events:tiny`)).toBeLessThan(300);
      // The next claim finds the pending entry gone from the stream and dead-letters it with why.
      await small.consume("claimer", ["tiny"], { count: 1, blockMs: 10, claimIdleMs: 0 });
      const letters = await small.deadLetters(10);
      expect(letters).toEqual([
        expect.objectContaining({ entryId: first, data: null, reason: expect.stringContaining("trimmed") }),
      ]);
      expect(await small.retryDeadLetters()).toBe(0);
    } finally {
      await small.close();
    }
  });
});
