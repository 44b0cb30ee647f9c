// Assembly and Python-compatible values end to end: content with a lone surrogate is made well-formed before it is
// hashed and the caller gets exactly that text; `__proto__` inputs are kept as data in the record and refused by a
// declared-input check; `-0` and integers >= 1e21 from user code are recorded as integers.
import { afterAll, describe, expect, it } from "vitest";
import { context, createFabra, type FabraRuntime } from "../../src/index.js";
import { contentHash, verifyStored } from "../../src/record/index.js";
import { tempFile } from "../helpers/temp.js";

const open: FabraRuntime[] = [];
afterAll(async () => {
  while (open.length > 0) await open.pop()?.close();
});

async function make(definitions: Record<string, unknown>): Promise<FabraRuntime> {
  const fabra = await createFabra({
    stores: { offline: { type: "duckdb", path: tempFile("fabra-compat-", "fabra.duckdb") } },
    definitions,
    warn: () => {},
  });
  open.push(fabra);
  return fabra;
}

describe("assembly", () => {
  it("content with lone surrogates: well-formed before hashing, and the caller gets exactly what was hashed", async () => {
    const lone = context({}, async ({ a }: { a: string }) => [{ content: `x\ud800y${a}\udc00`, priority: 0 }]);
    const fabra = await make({ lone });
    const result = await lone({ a: "!" });
    expect(result.content).toBe("x\uFFFDy!\uFFFD");
    expect(result.record.content).toBe(result.content);
    expect(result.record.integrity.content_hash).toBe(contentHash("x\uFFFDy!\uFFFD"));
    const row = await fabra.ledger.row(result.id);
    expect(verifyStored(row.canonicalText, result.id).ok).toBe(true);
  });

  it("__proto__ inputs stay data in the record; a declared input is never satisfied through one", async () => {
    const open = context({}, async (inputs: Record<string, unknown>) => [{ content: JSON.stringify(inputs) }]);
    const declared = context({ inputs: { query: "string", userId: "string" } }, async () => [{ content: "x" }]);
    await make({ open, declared });
    const inputs = JSON.parse('{"query":"q","__proto__":{"userId":"u_1"}}') as Record<string, unknown>;
    const result = await open(inputs);
    expect(Object.keys(result.record.inputs)).toEqual(["query", "__proto__"]);
    await expect(declared(inputs)).rejects.toMatchObject({ code: "INVALID_INPUT" });
  });

  it("-0 and integers >= 1e21 from user code are recorded as integers", async () => {
    const nums = context({}, async (_: { n: number; big: number }) => [{ content: "n" }]);
    const fabra = await make({ nums });
    const result = await nums({ n: -0, big: 1e21 });
    const row = await fabra.ledger.row(result.id);
    expect(row.canonicalText).toContain('"inputs":{"big":1000000000000000000000,"n":0}');
  });
});
