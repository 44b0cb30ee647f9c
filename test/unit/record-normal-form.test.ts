// Records fabra writes are CRS-001 normal form whatever the user passes: definitions are checked when loaded
// (INVALID_DEFINITION naming the definition and the option), items and entity ids when used, and a property test
// feeds arbitrary values through real assemblies and reads every stored record back with the strict reader.
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { context, createFabra, entity, feature, retriever, type FabraRuntime } from "../../src/index.js";
import { canonicalRecordText, parseJson, recordFromJson, verifyStored } from "../../src/record/index.js";
import { definitionProblems } from "../../src/engine/definition-checks.js";
import { addDefinitions, emptyDefinitions } from "../../src/define/collect.js";
import { tempFile } from "../helpers/temp.js";

const collectDefinitions = (exports: Record<string, unknown>) => addDefinitions(emptyDefinitions(), exports, "test");

const open: FabraRuntime[] = [];
afterAll(async () => {
  while (open.length > 0) await open.pop()?.close();
});

const ledger = () => tempFile("fabra-nf-", "fabra.duckdb");

async function make(definitions: Record<string, unknown>): Promise<FabraRuntime> {
  const fabra = await createFabra({
    stores: { offline: { type: "duckdb", path: ledger() } },
    definitions,
    warn: () => {},
  });
  open.push(fabra);
  return fabra;
}

/** The stored row must be strict CRS-001 and re-canonicalize to exactly its bytes. */
async function expectNormalForm(fabra: FabraRuntime, id: string): Promise<void> {
  const row = await fabra.stores.records.get(id);
  expect(row).not.toBeNull();
  const text = row?.canonicalText ?? "";
  const record = recordFromJson(parseJson(text, "ledger row"));
  expect(canonicalRecordText(record)).toBe(text);
  expect(verifyStored(text, id).ok).toBe(true);
}

describe("definitions are checked when loaded", () => {
  const user = entity("user");
  const f = (options: Record<string, unknown>) => feature({ entity: user, ...options } as never, () => 1);
  const c = (options: Record<string, unknown>) => context(options as never, () => [{ content: "x" }]);
  const cases: [string, Record<string, unknown>, RegExp][] = [
    [
      "maxTokens 100.5",
      { c: c({ maxTokens: 100.5 }) },
      /Context c: `maxTokens` is 100\.5; it must be a whole number of at least 1/,
    ],
    ["maxTokens -5", { c: c({ maxTokens: -5 }) }, /Context c: `maxTokens` is -5/],
    ["maxTokens 0", { c: c({ maxTokens: 0 }) }, /Context c: `maxTokens` is 0/],
    ["maxTokens as a string", { c: c({ maxTokens: "100" }) }, /Context c: `maxTokens` is "100"/],
    [
      "freshnessSla",
      { c: c({ freshnessSla: "soon" }) },
      /Context c: `freshnessSla` is "soon", which is not a duration/,
    ],
    ["freshnessPolicy", { c: c({ freshnessPolicy: "maybe" }) }, /Context c: `freshnessPolicy` is "maybe"/],
    ["inputs", { c: c({ inputs: { userId: "str" } }) }, /Context c declares input "userId" as "str"/],
    ["topK 0", { r: retriever({ index: "kb", topK: 0 }) }, /Retriever r: `topK` is 0/],
    ["topK 2.5", { r: retriever({ index: "kb", topK: 2.5 }) }, /Retriever r: `topK` is 2\.5/],
    ["index missing", { r: retriever({} as never) }, /Retriever r: `index` is undefined/],
    ["ttl forever", { f: f({ ttl: "forever" }) }, /Feature f: `ttl` is "forever", which is not a duration/],
    ["ttl 0", { f: f({ ttl: 0 }) }, /Feature f: `ttl` is 0; it must be a duration longer than 0/],
    [
      "refresh",
      { f: f({ refresh: "every tuesday" }) },
      /refresh of feature f is "every tuesday": neither a duration nor a cron expression/,
    ],
    ["refresh 0", { f: f({ refresh: "0s" }) }, /refresh of feature f is "0s"; it must be longer than 0/],
    ["entities", { f: f({ entities: ["u1", ""] }) }, /Feature f: `entities\[1\]` is "", not an entity id/],
    [
      "entities shape",
      { f: f({ entities: { query: "x" } }) },
      /Feature f: `entities` is neither a list, \{ sql \}, nor a function/,
    ],
    ["default", { f: f({ default: Number.NaN }) }, /default` is NaN, which a record cannot hold/],
    ["entity", { f: feature({ entity: 5 } as never, () => 1) }, /Feature f: `entity` is 5, not an entity/],
  ];
  for (const [what, defs, message] of cases) {
    it(`refuses a bad ${what} at createFabra`, async () => {
      const err = await createFabra({
        stores: { offline: { type: "duckdb", path: ":memory:" } },
        definitions: { user, ...defs },
        warn: () => {},
      }).then(
        (fabra) => {
          open.push(fabra);
          return null;
        },
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code: "INVALID_DEFINITION", message: expect.stringMatching(message) });
    });
  }

  it("lists every problem for doctor, and createFabra says how many more there are", async () => {
    const defs = collectDefinitions({
      user,
      a: c({ maxTokens: 0 }),
      b: f({ ttl: "x" }),
      r: retriever({ index: "kb", topK: -1 }),
    });
    expect(definitionProblems(defs).map((p) => p.message)).toEqual([
      expect.stringContaining("Feature b: `ttl`"),
      expect.stringContaining("Retriever r: `topK`"),
      expect.stringContaining("Context a: `maxTokens`"),
    ]);
    await expect(
      createFabra({
        stores: { offline: { type: "duckdb", path: ":memory:" } },
        definitions: { user, a: c({ maxTokens: 0 }), b: f({ ttl: "x" }) },
      }),
    ).rejects.toMatchObject({
      code: "INVALID_DEFINITION",
      message: expect.stringContaining("(and 1 more problem in the definitions)"),
    });
  });

  it("accepts good options", () => {
    const defs = collectDefinitions({
      user,
      a: c({
        maxTokens: 1,
        freshnessSla: 0,
        freshnessPolicy: "fail",
        inputs: { q: "string?" },
        model: "gpt-4o",
        separator: "",
      }),
      b: f({ ttl: "1h", refresh: "*/5 * * * *", materialize: true, entities: ["u1", 2] }),
      d: f({ entities: { sql: "SELECT 1" }, default: 0 }),
      r: retriever({ index: "kb", topK: 1, minSimilarity: 0 }),
    });
    expect(definitionProblems(defs)).toEqual([]);
  });
});

describe("items and entity ids", () => {
  it("refuses an item id that is not a non-empty string, and a source that is not a chunk; no record is written", async () => {
    const numberId = context({}, () => [{ content: "x", id: 5 as unknown as string }]);
    const emptyId = context({}, () => [{ content: "x", id: "" }]);
    const badSource = context({}, () => [{ content: "x", source: { id: "a" } as never }]);
    const fabra = await make({ numberId, emptyId, badSource });
    await expect(numberId({})).rejects.toMatchObject({
      code: "CONTEXT_FAILED",
      message: "item 0 returned by context numberId has id 5, not a non-empty string",
    });
    await expect(emptyId({})).rejects.toMatchObject({
      code: "CONTEXT_FAILED",
      message: expect.stringContaining('has id ""'),
    });
    await expect(badSource({})).rejects.toMatchObject({
      code: "CONTEXT_FAILED",
      message: expect.stringContaining("has a source that is not a retrieved chunk"),
    });
    expect(await fabra.stores.records.count()).toBe(0);
  });

  it("takes a whole-number entity id as its string everywhere, and refuses empty or fractional ones", async () => {
    const user = entity("user");
    const seen: unknown[] = [];
    const tier = feature({ entity: user }, (id: string) => {
      seen.push(id);
      return `tier-${id}`;
    });
    const byNumber = context({}, async () => [{ content: String(await tier.get(123 as unknown as string)) }]);
    const byEmpty = context({}, async () => [{ content: String(await tier.get("")) }]);
    const fabra = await make({ user, tier, byNumber, byEmpty });

    const result = await byNumber({});
    expect(result.record.features[0]).toMatchObject({ name: "tier", entity_id: "123", value: "tier-123" });
    expect(seen).toEqual(["123"]); // the function gets the string, and the value is cached and stored under it
    await expectNormalForm(fabra, result.id);
    expect((await fabra.stores.offline.latest("tier", "123"))?.valueJson).toBe('"tier-123"');
    expect((await fabra.getFeatureValue("tier", "123")).source).toBe("cache");

    await expect(byEmpty({})).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      message: 'The entity id of feature tier is "" (empty), not an entity id',
    });
    await expect(fabra.getFeatureValue("tier", 1.5 as unknown as string)).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
    await expect(fabra.getFeatureAsOf("tier", "", "2999-01-01T00:00:00Z")).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
    await expect(fabra.getFeatureValue("nope", "")).rejects.toMatchObject({ code: "FEATURE_NOT_FOUND" });
    const batch = await fabra.getFeatures([
      { feature: "tier", entityId: "" },
      { feature: "tier", entityId: 7 as unknown as string },
      { feature: "nope", entityId: "u1" },
    ]);
    expect(batch[0]).toMatchObject({ entityId: "", error: { code: "INVALID_ARGUMENT" } });
    expect(batch[1]).toMatchObject({ entityId: "7", value: "tier-7" });
    expect(batch[2]).toMatchObject({ error: { code: "FEATURE_NOT_FOUND" } });
    expect(seen).toEqual(["123", "7"]);
    expect(await fabra.stores.offline.latest("tier", "")).toBeNull();
  });
});

describe("safety net: every record the engine writes reads back strictly and re-canonicalizes to its bytes", () => {
  it("holds for arbitrary inputs, item ids, priorities, budgets, entity ids and feature values", async () => {
    const user = entity("user");
    const values = new Map<string, unknown>();
    const anything = feature({ entity: user }, (id: string) => values.get(id) ?? null);
    type Plan = {
      items: { content: string; id?: string; priority: number; required: boolean }[];
      reads: { id: string | number; value: unknown }[];
    };
    const fn = async (inputs: { plan: Plan }) => {
      for (const r of inputs.plan.reads) await anything.get(r.id as string);
      return inputs.plan.items.map((i) => ({ ...i }));
    };
    const budgets = [undefined, 1, 7, 40, 4000];
    const contexts = Object.fromEntries(
      budgets.map((maxTokens, i) => [`c${i}`, context({ maxTokens, model: i % 2 ? "gpt-4o" : undefined }, fn)]),
    );
    const fabra = await make({ user, anything, ...contexts });

    let n = 0;
    const jsonValue = fc.jsonValue({ maxDepth: 2, stringUnit: "binary" }) as fc.Arbitrary<unknown>;
    const value = fc.oneof(
      jsonValue,
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
      fc.string({ unit: "binary" }),
    );
    const plan = fc.record({
      items: fc.array(
        fc.record(
          {
            content: fc.string({ unit: "binary", maxLength: 40 }),
            id: fc.string({ unit: "binary", minLength: 1, maxLength: 8 }),
            priority: fc.integer({ min: -3, max: 9 }),
            required: fc.boolean(),
          },
          { requiredKeys: ["content", "priority", "required"] },
        ),
        { maxLength: 6 },
      ),
      reads: fc.array(
        fc.record({
          kind: fc.constantFrom("string", "int"),
          suffix: fc.string({ unit: "binary", maxLength: 6 }),
          value,
        }),
        { maxLength: 3 },
      ),
    });
    await fc.assert(
      fc.asyncProperty(
        plan,
        fc.integer({ min: 0, max: budgets.length - 1 }),
        fc.dictionary(fc.string({ maxLength: 6 }), jsonValue, { maxKeys: 3 }),
        async (p, which, extra) => {
          const reads = p.reads.map((r) => {
            n++;
            const id = r.kind === "int" ? 1_000_000 + n : `e${n}${r.suffix}`;
            values.set(String(id), r.value);
            return { id, value: null };
          });
          // Items with a duplicate id would share a dropped_items entry name; keep ids unique per call.
          const items = p.items.map((i, k) => (i.id === undefined ? i : { ...i, id: `${k}:${i.id}` }));
          const result = await fabra.runContext(`c${which}`, { ...extra, plan: { items, reads } });
          await expectNormalForm(fabra, result.id);
        },
      ),
      { numRuns: 60 },
    );
  });
});
