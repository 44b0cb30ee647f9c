// Replay against a real DuckDB ledger: an unchanged system reproduces the content; after data changes the default
// replay still reproduces the original while --live shows the change; changed code fails with clear errors; the
// original record is never touched.
import { DuckDBInstance } from "@duckdb/node-api";
import { afterEach, describe, expect, it } from "vitest";
import { explainContext } from "../../src/engine/context/explain.js";
import { replayContext } from "../../src/engine/context/replay.js";
import { context, createFabra, entity, feature, retriever, type FabraRuntime } from "../../src/index.js";
import { contentHash, nowDatetime, verifyStored } from "../../src/record/index.js";
import { tempFile } from "../helpers/temp.js";
import type { InputSpec } from "../../src/define/inputs.js";

const open: FabraRuntime[] = [];
afterEach(async () => {
  while (open.length > 0) await open.pop()?.close();
});

const DOCS = [
  { id: "reset", content: "To reset your password open the sign-in page and choose Forgot password." },
  { id: "billing", content: "Invoices are sent monthly to the billing contact." },
];

/** A small app whose data (tiers, spend) the test changes between calls, as a database would. */
function app(
  data: { tiers: Record<string, string>; spend: Record<string, number> },
  variant: "v1" | "v2" | "renamed" | "new-inputs" = "v1",
) {
  const user = entity("user");
  const userTier = feature({ entity: user, ttl: "40ms" }, (id: string) => data.tiers[id] ?? "free");
  const spend = feature({ entity: user }, (id: string) => data.spend[id] ?? 0);
  const docs = retriever({ index: "kb", topK: 1 });
  let runtime: FabraRuntime | null = null;
  const body = async ({ userId, query }: { userId: string; query: string }) => {
    const tier = await userTier.get(userId);
    // A batch read through the runtime, as the HTTP API does; a replay must serve it as recorded too.
    const [batched] = await (runtime as FabraRuntime).getFeatures([{ feature: "spend", entityId: userId }]);
    const hits = await docs(query);
    const items = [
      { content: "You are a support assistant.", priority: 0, required: true },
      {
        content: `Customer ${userId} is on the ${tier} tier and spends $${batched && "value" in batched ? String(batched.value) : "?"}.`,
        priority: 1,
        required: true,
      },
      ...hits.map((h, i) => ({ content: h.content, priority: 2 + i, source: h })),
    ];
    if (variant === "v2") items.push({ content: "Be brief.", priority: 1, required: true });
    return items;
  };
  const inputs: InputSpec =
    variant === "new-inputs"
      ? { userId: "string", query: "string", locale: "string" }
      : { userId: "string", query: "string" };
  const chat = context({ maxTokens: 200, inputs }, body);
  const defs =
    variant === "renamed" ? { user, userTier, spend, docs, chat2: chat } : { user, userTier, spend, docs, chat };
  return { defs, bind: (r: FabraRuntime) => (runtime = r) };
}

async function start(
  path: string,
  data: Parameters<typeof app>[0],
  variant?: Parameters<typeof app>[1],
  evidence?: { includeContent?: boolean },
) {
  const { defs, bind } = app(data, variant);
  const fabra = await createFabra({
    stores: { offline: { type: "duckdb", path } },
    definitions: defs,
    warn: () => {},
    ...(evidence ? { evidence } : {}),
  });
  bind(fabra);
  open.push(fabra);
  await fabra.index.add("kb", DOCS);
  return fabra;
}

const ledger = () => tempFile("fabra-replay-", "fabra.duckdb");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("replay", () => {
  it("of an unchanged system reproduces the content, links the new record, and leaves the original as it was", async () => {
    const fabra = await start(ledger(), { tiers: { u1: "gold" }, spend: { u1: 12.5 } });
    const original = await fabra.assemble("chat", { userId: "u1", query: "reset password" });
    const before = await fabra.stores.records.get(original.id);

    const replay = await replayContext(fabra, original.id);
    expect(replay.sameContent).toBe(true);
    expect(replay.replay.content).toBe(original.content);
    expect(replay.replay.record.integrity.content_hash).toBe(original.record.integrity.content_hash);
    expect(replay.replay.record.integrity.previous_context_id).toBe(original.id);
    expect(replay.replay.record.inputs).toEqual(original.record.inputs);
    expect(replay.replay.record.features).toEqual(original.record.features);
    expect(replay.replay.record.retrieved_items.map((c) => c.chunk_id)).toEqual(
      original.record.retrieved_items.map((c) => c.chunk_id),
    );
    expect(replay.diff.same_evidence).toBe(true);
    expect(replay.diff.summary).toMatch(/^same evidence; content identical/);

    const stored = await fabra.stores.records.get(replay.replay.id);
    expect(stored && verifyStored(stored.canonicalText, stored.contextId).ok).toBe(true);
    expect(await fabra.stores.records.get(original.id)).toEqual(before);
    expect(await fabra.stores.records.count()).toBe(2);

    const live = await replayContext(fabra, original.id, { live: true });
    expect(live.sameContent).toBe(true);
  });

  it("after a feature value changes: the default replay reproduces the original, --live shows the change", async () => {
    const data = { tiers: { u1: "gold" }, spend: { u1: 12.5 } };
    const fabra = await start(ledger(), data);
    const original = await fabra.assemble("chat", { userId: "u1", query: "reset password" });
    expect(original.content).toContain("on the gold tier and spends $12.5");

    data.tiers.u1 = "silver";
    await sleep(60); // past userTier's 40ms ttl: today's reads recompute it
    // spend has no ttl: a refresh (as the scheduler does) writes today's value to the cache.
    data.spend.u1 = 99;
    await fabra.stores.online.set({ feature: "spend", entityId: "u1" }, { valueJson: "99", asOf: nowDatetime() });
    const now = await fabra.assemble("chat", { userId: "u1", query: "reset password" });
    expect(now.content).toContain("on the silver tier and spends $99");

    const recorded = await replayContext(fabra, original.id);
    expect(recorded.sameContent).toBe(true);
    expect(recorded.replay.content).toBe(original.content);
    expect(recorded.diff.features.changed).toEqual([]);

    const live = await replayContext(fabra, original.id, { live: true });
    expect(live.sameContent).toBe(false);
    expect(live.replay.content).toContain("on the silver tier and spends $99");
    const tier = live.diff.features.changed.find((f) => f.name === "userTier");
    expect(tier).toMatchObject({
      entity_id: "u1",
      value_changed: true,
      before: { value: "gold" },
      after: { value: "silver" },
    });
    expect(live.diff.features.changed.find((f) => f.name === "spend")).toMatchObject({
      value_changed: true,
      after: { value: 99 },
    });
    expect(live.diff.content.unified).toContain("-Customer u1 is on the gold tier and spends $12.5.");
    expect(live.diff.content.unified).toContain("+Customer u1 is on the silver tier and spends $99.");
    expect(live.diff.summary).toMatch(/features: 2 value changed/);
  });

  it("serves the recorded chunks even after the index changed; --live retrieves again", async () => {
    const fabra = await start(ledger(), { tiers: {}, spend: {} });
    const original = await fabra.assemble("chat", { userId: "u1", query: "reset password" });
    await fabra.index.add("kb", [{ id: "reset", content: "Passwords are reset by an administrator only." }]);
    const recorded = await replayContext(fabra, original.id);
    expect(recorded.replay.content).toBe(original.content);
    const live = await replayContext(fabra, original.id, { live: true });
    expect(live.replay.content).toContain("administrator only");
    expect(live.diff.retrieved_items.changed[0]).toMatchObject({ content_changed: true });
  });

  it("reads the text of chunks a content-less record keeps only as hashes from the index", async () => {
    const fabra = await start(ledger(), { tiers: { u1: "gold" }, spend: {} }, "v1", { includeContent: false });
    const original = await fabra.assemble("chat", { userId: "u1", query: "reset password" });
    expect(original.record.content).toBe("");
    const replay = await replayContext(fabra, original.id);
    expect(replay.sameContent).toBeNull(); // nothing stored to compare against ...
    expect(replay.replay.content).toBe(original.content); // ... but it did reproduce what the caller got
    await fabra.index.add("kb", [{ id: "reset", content: "Changed text." }]);
    await expect(replayContext(fabra, original.id)).rejects.toMatchObject({
      code: "REPLAY_INCOMPATIBLE",
      message: expect.stringMatching(/different content/),
    });
  });

  it("of a record kept without content writes no content either, even from a process that keeps content", async () => {
    const path = ledger();
    const writer = await start(path, { tiers: { u1: "gold" }, spend: {} }, "v1", { includeContent: false });
    const original = await writer.assemble("chat", { userId: "u1", query: "reset password" });
    await writer.close();
    open.splice(open.indexOf(writer), 1);
    const fabra = await start(path, { tiers: { u1: "gold" }, spend: {} }); // keeps content
    for (const live of [false, true]) {
      const { replay } = await replayContext(fabra, original.id, { live });
      expect(replay.content).toBe(original.content); // the caller gets the content ...
      expect(replay.record.content).toBe(""); // ... the record does not keep it
      expect(replay.record.retrieved_items.length).toBeGreaterThan(0);
      expect(replay.record.retrieved_items.every((i) => i.content === null)).toBe(true);
      const row = await fabra.stores.records.get(replay.id);
      expect(row?.canonicalText).not.toContain("Forgot password");
    }
    // A record that kept its content is replayed with content, as before.
    const kept = await fabra.assemble("chat", { userId: "u1", query: "reset password" });
    expect((await replayContext(fabra, kept.id)).replay.record.content).toBe(kept.content);
  });

  it("serves a feature the original did not read from history as of its time; one history lacks is REPLAY_INCOMPATIBLE", async () => {
    const path = ledger();
    const user = entity("user");
    let version = 1;
    const plan = feature({ entity: user }, () => (version === 1 ? "basic" : "pro"));
    const region = feature({ entity: user }, () => "eu");
    const c = context({}, async () => [
      { content: version === 1 ? "v1" : `plan ${String(await plan.get("u1"))}` },
      ...(version === 3 ? [{ content: String(await region.get("u1")) }] : []),
    ]);
    const fabra = await createFabra({
      stores: { offline: { type: "duckdb", path } },
      definitions: { user, plan, region, c },
      warn: () => {},
    });
    open.push(fabra);
    await plan.get("u1"); // history: basic, before the original
    await sleep(5);
    const original = await c({});
    version = 2;
    await fabra.getFeatureValue("plan", "u1"); // cached "basic"; history has it as of the original's time
    const { replay } = await replayContext(fabra, original.id);
    expect(replay.content).toBe("plan basic");
    expect(replay.record.features).toEqual([
      expect.objectContaining({ name: "plan", entity_id: "u1", value: "basic", source: "fallback" }),
    ]);
    expect(fabra.degraded.fallbackReads).toBe(0); // a replay's history read is no degraded read
    version = 3; // now also reads region, which history never had
    await expect(replayContext(fabra, original.id)).rejects.toMatchObject({
      code: "REPLAY_INCOMPATIBLE",
      message: expect.stringContaining("Replay needs region(u1)"),
    });
  });

  it("changed code: a different function shows in the diff; a removed function or changed inputs are clear errors", async () => {
    const path = ledger();
    const v1 = await start(path, { tiers: { u1: "gold" }, spend: {} });
    const original = await v1.assemble("chat", { userId: "u1", query: "billing" });
    await open.pop()?.close();

    const v2 = await start(path, { tiers: { u1: "gold" }, spend: {} }, "v2");
    const replay = await replayContext(v2, original.id);
    expect(replay.sameContent).toBe(false);
    expect(replay.diff.content.unified).toContain("+Be brief.");
    await open.pop()?.close();

    const renamed = await start(path, { tiers: {}, spend: {} }, "renamed");
    const before = await renamed.stores.records.count();
    await expect(replayContext(renamed, original.id)).rejects.toMatchObject({
      code: "CONTEXT_NOT_FOUND",
      message: expect.stringMatching(/"chat" .* no longer exists/),
      hint: expect.stringMatching(/^Replay re-runs the function: restore it/),
    });
    // Explaining re-runs the function too: the same error, its own hint.
    await expect(explainContext(renamed, original.id, { maxTokens: null })).rejects.toMatchObject({
      code: "CONTEXT_NOT_FOUND",
      message: `The context function "chat" of ${original.id} no longer exists`,
      hint: expect.stringMatching(/^Explaining re-runs the function: restore it/),
    });
    await open.pop()?.close();

    const newInputs = await start(path, { tiers: {}, spend: {} }, "new-inputs");
    await expect(replayContext(newInputs, original.id)).rejects.toMatchObject({
      code: "REPLAY_INCOMPATIBLE",
      message: expect.stringMatching(/inputs recorded in ctx_.* no longer fit chat: .*missing input "locale"/),
    });
    expect(await newInputs.stores.records.count()).toBe(before);
  });

  it("refuses to replay a record altered behind fabra's back", async () => {
    const path = ledger();
    const fabra = await start(path, { tiers: { u1: "gold" }, spend: {} });
    const original = await fabra.assemble("chat", { userId: "u1", query: "billing" });
    await open.pop()?.close();
    const db = await DuckDBInstance.create(path);
    const conn = await db.connect();
    await conn.run(
      "UPDATE fabra_context_records SET canonical_text = replace(canonical_text, 'gold', 'platinum') WHERE context_id = $1",
      [original.id],
    );
    conn.closeSync();
    db.closeSync();
    const again = await start(path, { tiers: { u1: "gold" }, spend: {} });
    await expect(replayContext(again, original.id)).rejects.toMatchObject({ code: "VERIFICATION_FAILED" });
    await expect(replayContext(again, "ctx_0190a1b2-0000-7000-8000-0000000000ff")).rejects.toMatchObject({
      code: "RECORD_NOT_FOUND",
    });
    expect(contentHash("")).toMatch(/^sha256:/);
  });
});
