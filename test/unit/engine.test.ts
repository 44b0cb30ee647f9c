// The engine end to end in-process: tracking under concurrency, budgets and drops in records, evidence modes,
// and that a failed assembly leaves no record behind.
import { afterEach, describe, expect, it } from "vitest";
import { context, createFabra, entity, feature, retriever, type FabraRuntime } from "../../src/index.js";
import { FabraRuntime as Runtime } from "../../src/engine/runtime.js";
import { canonicalRecordText, readRecordText, verifyStored } from "../../src/record/index.js";
import { JsonFloat } from "../../src/record/json.js";
import { tempFile } from "../helpers/temp.js";

const open: FabraRuntime[] = [];
afterEach(async () => {
  while (open.length > 0) await open.pop()?.close();
});

function tempLedger(): string {
  return tempFile("fabra-engine-", "fabra.duckdb");
}

function definitions() {
  const user = entity("user");
  let computeCalls = 0;
  const userTier = feature({ entity: user, ttl: "1h" }, async (id: string) => {
    computeCalls++;
    await new Promise((r) => setTimeout(r, Math.random() * 5));
    return `tier-of-${id}`;
  });
  const score = feature({ entity: user }, (id: string) => Number(id.replace(/\D/g, "")) + 0.5);
  const broken = feature({ entity: user }, (): number => {
    throw new Error("db down");
  });
  const brokenWithDefault = feature({ entity: user, default: 7 }, (): number => {
    throw new Error("db down");
  });
  const docs = retriever({ index: "kb", topK: 2 });
  const chat = context({ maxTokens: 30 }, async ({ userId, query }: { userId: string; query: string }) => {
    const tier = await userTier.get(userId);
    await new Promise((r) => setTimeout(r, Math.random() * 5));
    const s = await score.get(userId);
    const hits = await docs(query);
    return [
      { content: "System prompt.", priority: 0, required: true },
      { content: `User ${userId} is ${tier} with score ${s}.`, priority: 1, required: true },
      ...hits.map((h, i) => ({ content: h.content, priority: 2 + i, source: h })),
    ];
  });
  const overBudget = context({ maxTokens: 5 }, () => [
    { content: "This required text is certainly longer than five tokens.", priority: 0, required: true },
    { content: "optional", priority: 3 },
  ]);
  const failing = context({}, async ({ userId }: { userId: string }) => {
    await userTier.get(userId);
    throw new Error("template bug");
  });
  const usesBroken = context({}, async ({ userId }: { userId: string }) => [
    { content: String(await broken.get(userId)) },
  ]);
  const usesDefault = context({}, async ({ userId }: { userId: string }) => [
    { content: String(await brokenWithDefault.get(userId)) },
  ]);
  const strict = context({ freshnessSla: "1ms", freshnessPolicy: "fail" }, async ({ userId }: { userId: string }) => {
    await new Promise((r) => setTimeout(r, 5));
    return [{ content: String(await userTier.get(userId)) }];
  });
  return {
    defs: {
      user,
      userTier,
      score,
      broken,
      brokenWithDefault,
      docs,
      chat,
      overBudget,
      failing,
      usesBroken,
      usesDefault,
      strict,
    },
    computeCalls: () => computeCalls,
  };
}

async function makeFabra(extra: { evidence?: { mode?: "required" | "best_effort"; includeContent?: boolean } } = {}) {
  const { defs, computeCalls } = definitions();
  const fabra = await createFabra({
    stores: { offline: { type: "duckdb", path: tempLedger() } },
    definitions: defs,
    warn: () => {},
    ...extra,
  });
  open.push(fabra);
  await fabra.index.add("kb", [
    { id: "reset", content: "To reset your password open the sign-in page and choose Forgot password." },
    { id: "billing", content: "Invoices are sent monthly to the billing contact." },
    { id: "limits", content: "The API allows 600 requests per minute on the Pro plan." },
  ]);
  return { fabra, defs, computeCalls };
}

describe("tracking", () => {
  it("keeps 100 concurrent, interleaved context calls' lineage apart", async () => {
    const { fabra, defs } = await makeFabra();
    const queries = ["reset password", "invoices billing", "API requests per minute"];
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => defs.chat({ userId: `u${i}`, query: queries[i % 3] as string })),
    );
    results.forEach((result, i) => {
      const r = result.record;
      expect(r.inputs).toEqual({ userId: `u${i}`, query: queries[i % 3] });
      expect(r.features.map((f) => [f.name, f.entity_id])).toEqual([
        ["userTier", `u${i}`],
        ["score", `u${i}`],
      ]);
      expect(r.features[0]?.value).toBe(`tier-of-u${i}`);
      expect(r.features[1]?.value).toBe(i + 0.5);
      const expectedDoc = ["reset", "billing", "limits"][i % 3];
      expect(r.retrieved_items[0]?.document_id).toBe(expectedDoc);
      expect(r.retrieved_items.every((c) => c.retriever === "docs")).toBe(true);
      expect(result.content).toContain(`User u${i} is tier-of-u${i}`);
    });
    expect(new Set(results.map((r) => r.id)).size).toBe(100);
  });

  it("records cache hits after the first compute, with freshness", async () => {
    const { fabra, defs, computeCalls } = await makeFabra();
    const first = await defs.chat({ userId: "u1", query: "reset" });
    const second = await defs.chat({ userId: "u1", query: "reset" });
    expect(first.record.features[0]?.source).toBe("compute");
    expect(second.record.features[0]?.source).toBe("cache");
    expect(second.record.features[0]?.as_of).toBe(first.record.features[0]?.as_of);
    expect(computeCalls()).toBe(1);
    expect(await fabra.getFeature("userTier", "u1")).toBe("tier-of-u1");
  });
});

describe("records from the engine", () => {
  it("are in normal form, verify, and are stored byte-exact", async () => {
    const { fabra, defs } = await makeFabra();
    const result = await defs.chat({ userId: "u7", query: "reset my password" });
    const row = await fabra.stores.records.get(result.id);
    expect(row).not.toBeNull();
    const text = row?.canonicalText as string;
    expect(canonicalRecordText(readRecordText(text))).toBe(text);
    expect(text).toBe(canonicalRecordText(result.record));
    expect(verifyStored(text, result.id).ok).toBe(true);
    expect(result.record.lineage.assembly_latency_ms).toBeInstanceOf(JsonFloat);
    expect(text).toMatch(/"similarity_score":-?\d+\.\d+/);
    expect(result.record.lineage.features_used).toEqual(["userTier", "score"]);
    expect(result.record.lineage.retrievers_used).toEqual(["docs"]);
    expect(result.record.lineage.indexes_used).toEqual(["kb"]);
  });

  it("drops optional items to fit the budget and records why", async () => {
    const { defs } = await makeFabra();
    const result = await defs.chat({ userId: "u1", query: "password reset sign-in page" });
    const a = result.record.assembly;
    expect(a.max_tokens).toBe(30);
    expect(result.tokenCount).toBeLessThanOrEqual(30);
    expect(a.items_provided).toBe(4);
    expect(a.dropped_items.length).toBeGreaterThan(0);
    expect(a.dropped_items.every((d) => d.reason === "budget_exceeded")).toBe(true);
    // The dropped chunk is named by its chunk id and keeps its priority in retrieved_items.
    const dropped = a.dropped_items[0];
    const chunk = result.record.retrieved_items.find((c) => c.chunk_id === dropped?.source_id);
    expect(chunk?.priority).toBe(dropped?.priority);
  });

  it("flags required items over budget instead of failing", async () => {
    const { defs } = await makeFabra();
    const result = await defs.overBudget({});
    expect(result.meta.budgetExceeded).toBe(true);
    expect(result.record.assembly.required_items_included).toBe(false);
    expect(result.content).toContain("certainly longer");
    expect(result.dropped.map((d) => d.source_id)).toEqual(["item_1"]);
  });

  it("keeps only hashes of content when includeContent is false", async () => {
    const { fabra, defs } = await makeFabra({ evidence: { includeContent: false } });
    const result = await defs.chat({ userId: "u1", query: "reset" });
    expect(result.content).toContain("System prompt.");
    expect(result.record.content).toBe("");
    expect(result.record.retrieved_items.every((c) => c.content === null)).toBe(true);
    const row = await fabra.stores.records.get(result.id);
    expect(row?.canonicalText).not.toContain("System prompt.");
  });
});

describe("failures leave no record", () => {
  it("a throwing context function writes nothing", async () => {
    const { fabra, defs } = await makeFabra();
    const before = await fabra.stores.records.count();
    await expect(defs.failing({ userId: "u1" })).rejects.toMatchObject({ code: "CONTEXT_FAILED" });
    expect(await fabra.stores.records.count()).toBe(before);
  });

  it("a failing feature without default fails the call; with a default it is recorded as fallback", async () => {
    const { fabra, defs } = await makeFabra();
    await expect(defs.usesBroken({ userId: "u1" })).rejects.toMatchObject({ code: "FEATURE_COMPUTE_FAILED" });
    expect(await fabra.stores.records.count()).toBe(0);
    const ok = await defs.usesDefault({ userId: "u1" });
    expect(ok.record.features[0]).toMatchObject({ name: "brokenWithDefault", source: "fallback", value: 7 });
  });

  it("a freshness violation under the fail policy writes nothing", async () => {
    const { fabra, defs } = await makeFabra();
    await fabra.getFeature("userTier", "u1"); // cached now, and will be older than 1ms
    await expect(defs.strict({ userId: "u1" })).rejects.toMatchObject({ code: "FRESHNESS_VIOLATION" });
    expect(await fabra.stores.records.count()).toBe(0);
  });

  it("required evidence: a failed persist fails the call; best_effort serves and says so", async () => {
    const { fabra } = await makeFabra();
    const failingStores = {
      ...fabra.stores,
      // The real store, except that appends fail (as on a full disk).
      records: Object.assign(Object.create(fabra.stores.records) as typeof fabra.stores.records, {
        append: async () => {
          throw new Error("disk full");
        },
      }),
    };
    const required = new Runtime(failingStores, fabra.definitions, { ...fabra.settings, evidenceMode: "required" });
    await expect(required.assemble("chat", { userId: "u1", query: "x" })).rejects.toMatchObject({
      code: "PERSIST_FAILED",
    });
    const warnings: string[] = [];
    const bestEffort = new Runtime(failingStores, fabra.definitions, {
      ...fabra.settings,
      evidenceMode: "best_effort",
      warn: (m) => warnings.push(m),
    });
    const served = await bestEffort.assemble("chat", { userId: "u1", query: "x" });
    expect(served.meta.persisted).toBe(false);
    expect(warnings.join("\n")).toMatch(/not persisted.*disk full/);
    expect(await fabra.stores.records.count()).toBe(0);
  });

  it("an ambiguous append (commit landed, acknowledgement lost) is read back: persisted true, never a false 'false'", async () => {
    const { fabra } = await makeFabra();
    const real = fabra.stores.records;
    const withRecords = (overrides: Partial<typeof real>) => ({
      ...fabra.stores,
      records: Object.assign(Object.create(real) as typeof real, overrides),
    });
    const runtimeOn = (stores: typeof fabra.stores, evidenceMode: "required" | "best_effort", warnings: string[]) =>
      new Runtime(stores, fabra.definitions, { ...fabra.settings, evidenceMode, warn: (m) => warnings.push(m) });

    // The commit lands, then the connection drops before the answer.
    const ackLost = withRecords({
      append: async (row) => {
        await real.append(row);
        throw new Error("Connection terminated unexpectedly");
      },
    });
    for (const mode of ["best_effort", "required"] as const) {
      const warnings: string[] = [];
      const served = await runtimeOn(ackLost, mode, warnings).assemble("chat", { userId: "u1", query: "x" });
      expect(served.meta.persisted).toBe(true);
      expect((await real.get(served.id))?.recordHash).toBe(served.meta.recordHash);
      expect(warnings.join("\n")).toMatch(
        /reported a failure \(Connection terminated unexpectedly\), but the record is in the ledger/,
      );
    }

    // A first append that failed without writing: the read-back says absent, the idempotent retry writes it.
    let tries = 0;
    const flaky = withRecords({
      append: async (row) => {
        if (tries++ === 0) throw new Error("Connection terminated unexpectedly");
        return real.append(row);
      },
    });
    const retried = await runtimeOn(flaky, "best_effort", []).assemble("chat", { userId: "u1", query: "x" });
    expect(retried.meta.persisted).toBe(true);
    expect(tries).toBe(2);
    expect(await real.get(retried.id)).not.toBeNull();

    // The ledger cannot be asked at all: "unknown", not false; required mode refuses to serve.
    const unreachable = withRecords({
      append: async () => {
        throw new Error("Connection terminated unexpectedly");
      },
      get: async () => {
        throw new Error("connect ECONNREFUSED 127.0.0.1:5432");
      },
    });
    const warnings: string[] = [];
    const unknown = await runtimeOn(unreachable, "best_effort", warnings).assemble("chat", {
      userId: "u1",
      query: "x",
    });
    expect(unknown.meta.persisted).toBe("unknown");
    expect(warnings.join("\n")).toMatch(/may not have been persisted \(best_effort; unknown/);
    await expect(
      runtimeOn(unreachable, "required", []).assemble("chat", { userId: "u1", query: "x" }),
    ).rejects.toMatchObject({ code: "PERSIST_FAILED", message: expect.stringMatching(/may not have been written/) });
    expect(await real.count()).toBe(3);
  });

  it("unknown names get a did-you-mean hint", async () => {
    const { fabra } = await makeFabra();
    await expect(fabra.getFeature("userTeir", "u1")).rejects.toMatchObject({
      code: "FEATURE_NOT_FOUND",
      hint: 'Did you mean "userTier"?',
    });
    await expect(fabra.assemble("chta", {})).rejects.toMatchObject({
      code: "CONTEXT_NOT_FOUND",
      hint: 'Did you mean "chat"?',
    });
  });
});
