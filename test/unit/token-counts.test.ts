// One chunk, one token count: a record counts everything in its context's encoding — token_count, each dropped
// item and each retrieved chunk — and chunks carry their count per encoding from index time, kept in the DuckDB
// file, so an assembly tokenizes no chunk text (nor any text it counted before) again.
import { get_encoding } from "tiktoken";
import { afterAll, describe, expect, it } from "vitest";
import { context, createFabra, retriever, type FabraRuntime } from "../../src/index.js";
import { charactersTokenized } from "../../src/engine/context/tokens.js";
import { tempFile } from "../helpers/temp.js";

const o200k = get_encoding("o200k_base");
const cl100k = get_encoding("cl100k_base");
afterAll(() => {
  o200k.free();
  cl100k.free();
});
const count = (enc: typeof o200k, text: string) => enc.encode_ordinary(text).length;

// Texts whose o200k and cl100k counts differ, so a count in the wrong encoding shows.
const DOCS = Array.from({ length: 6 }, (_, i) => ({
  id: `d${i}`,
  content: `Grüße aus Köln — 東京でのサポート ${i}. Résumé naïve façade: the password reset page ${i} works.`.repeat(3),
}));

describe("token counts in a record", () => {
  let fabra: FabraRuntime | undefined;
  afterAll(() => fabra?.close());

  it("are the model's counts everywhere, and chunks are not tokenized at assembly", async () => {
    const docs = retriever({ index: "kb", topK: 4 });
    const answer = context({ model: "gpt-4o", maxTokens: 60 }, async ({ q }: { q: string }) => [
      { id: "system", content: "You answer from the excerpts.", priority: 0, required: true },
      ...(await docs(q)).map((h, i) => ({ content: h.content, priority: 1 + i, source: h })),
    ]);
    fabra = await createFabra({
      stores: { offline: { type: "duckdb", path: tempFile("fabra-tokens-", "f.duckdb") } },
      chunking: { chunkTokens: 32, overlapTokens: 0 },
      definitions: { docs, answer },
      warn: () => {},
    });
    await fabra.index.add("kb", DOCS);

    // Index time: each chunk carries its cl100k count (chunking's) and its o200k count (the context's model).
    const hits = await fabra.index.search("kb", "password reset", { topK: 4 });
    expect(hits.length).toBe(4);
    for (const h of hits) {
      expect(h.tokenCounts).toEqual({ cl100k_base: count(cl100k, h.content), o200k_base: count(o200k, h.content) });
      expect(h.tokenCount).toBe(count(cl100k, h.content));
    }
    expect(hits.some((h) => count(cl100k, h.content) !== count(o200k, h.content))).toBe(true);

    await answer({ q: "password reset" }); // the system prompt's count is remembered from here on
    const before = charactersTokenized();
    const { record } = await answer({ q: "password reset" });
    expect(charactersTokenized() - before).toBe(0);

    expect(record.assembly.dropped_items.length).toBeGreaterThan(0);
    expect(record.token_count).toBe(count(o200k, record.content));
    const retrieved = new Map(record.retrieved_items.map((r) => [r.chunk_id, r]));
    for (const r of record.retrieved_items) expect(r.token_count).toBe(count(o200k, r.content ?? ""));
    for (const d of record.assembly.dropped_items) {
      const chunk = retrieved.get(d.source_id);
      expect(chunk).toBeDefined();
      expect(d.token_count).toBe(chunk?.token_count); // one chunk, one count
    }
  });

  it("survive reopening the DuckDB file (the o200k count is a column)", async () => {
    const path = tempFile("fabra-tokens-", "g.duckdb");
    const answer = context({ model: "gpt-4o" }, () => [{ content: "x" }]);
    const first = await createFabra({ stores: { offline: { type: "duckdb", path } }, definitions: { answer } });
    await first.index.add("kb", DOCS.slice(0, 1));
    await first.close();
    const again = await createFabra({ stores: { offline: { type: "duckdb", path } }, definitions: {} });
    try {
      const [hit] = await again.index.search("kb", "Köln", { topK: 1 });
      expect(hit?.tokenCounts?.o200k_base).toBe(count(o200k, hit?.content ?? ""));
    } finally {
      await again.close();
    }
  });
});
