// Custom retriever bodies: incomplete chunks are completed with what fabra can compute, wrong ones are one clear
// error naming the retriever, the chunk and the field (never "Internal error"), and no record is written for them.
import { afterAll, describe, expect, it } from "vitest";
import { context, createFabra, retriever, type FabraRuntime, type RetrievedChunk } from "../../src/index.js";
import { canonicalRecordText, contentHash, datetimeToMs, parseJson, recordFromJson } from "../../src/record/index.js";
import { tempFile } from "../helpers/temp.js";

let fabra: FabraRuntime;
afterAll(async () => {
  await fabra?.close();
});

describe("custom retriever bodies", () => {
  let returned: unknown = [];
  const custom = retriever({ index: "kb" }, async () => returned as RetrievedChunk[]);
  const rewriting = retriever({ index: "kb" }, async (q, { search }) =>
    (await search(q)).map((c) => ({ ...c, content: c.content.toUpperCase() })),
  );
  const uses = (r: typeof custom) =>
    context({}, async () => (await r("q")).map((c) => ({ content: c.content, source: c })));
  const c = uses(custom);
  const r = uses(rewriting);

  it("fills in what fabra can compute for a minimal chunk, and the record is normal form", async () => {
    fabra = await createFabra({
      stores: { offline: { type: "duckdb", path: tempFile("fabra-rb-", "f.duckdb") } },
      definitions: { custom, rewriting, c, r },
      warn: () => {},
    });
    await fabra.index.add("kb", [{ id: "d1", content: "reset your password from the sign-in page" }]);
    returned = [{ chunkId: "a", documentId: "d", content: "hello world", similarity: 1 }];
    const before = Date.now();
    const result = await c({});
    const [item] = result.record.retrieved_items;
    expect(item).toMatchObject({
      retriever: "custom",
      chunk_id: "a",
      document_id: "d",
      content: "hello world",
      content_hash: contentHash("hello world"),
      token_count: 2,
      source_url: null,
    });
    expect(datetimeToMs(item?.as_of ?? "")).toBeGreaterThanOrEqual(before - 1);
    const text = (await fabra.stores.records.get(result.id))?.canonicalText ?? "";
    expect(canonicalRecordText(recordFromJson(parseJson(text, "row")))).toBe(text);

    returned = [
      {
        chunkId: "b",
        documentId: "d",
        content: "x",
        similarity: 0.5,
        indexedAt: new Date("2026-01-02T03:04:05Z"),
        sourceUrl: "https://x",
        tokenCount: 9,
      },
    ];
    const second = await c({});
    // The chunk keeps the body's tokenCount; the record counts the text itself, in the context's encoding, as it
    // counts the item that carried it (one chunk, one count).
    expect(second.record.retrieved_items[0]).toMatchObject({
      as_of: "2026-01-02T03:04:05Z",
      source_url: "https://x",
      token_count: 1,
    });
  });

  it("records the hash of the text a body actually returned", async () => {
    const [item] = (await r({})).record.retrieved_items;
    expect(item?.content).toBe("RESET YOUR PASSWORD FROM THE SIGN-IN PAGE");
    expect(item?.content_hash).toBe(contentHash("RESET YOUR PASSWORD FROM THE SIGN-IN PAGE"));
  });

  it("names the retriever, the chunk and the field of a wrong chunk; no record is written", async () => {
    const before = await fabra.stores.records.count();
    const cases: [unknown, string][] = [
      [{ chunks: [] }, "Retriever custom returned object, not an array of chunks"],
      [
        [{ chunkId: "a", documentId: "d", similarity: 1 }],
        "Retriever custom returned chunk 0 with `content` missing; it should be a string",
      ],
      [
        [
          { chunkId: "a", documentId: "d", content: "x", similarity: 1 },
          { documentId: "d", content: "x", similarity: 1 },
        ],
        "Retriever custom returned chunk 1 with `chunkId` missing; it should be a non-empty string",
      ],
      [
        [{ chunkId: "a", documentId: 7, content: "x", similarity: 1 }],
        "Retriever custom returned chunk 0 with `documentId` 7; it should be a non-empty string",
      ],
      [
        [{ chunkId: "a", documentId: "d", content: "x", similarity: Number.NaN }],
        "Retriever custom returned chunk 0 with `similarity` NaN; it should be a finite number",
      ],
      [
        [{ chunkId: "a", documentId: "d", content: "x", similarity: 1, indexedAt: "yesterday" }],
        'Retriever custom returned chunk 0 with `indexedAt` "yesterday"; it should be an ISO-8601 datetime (or a Date)',
      ],
      [
        [{ chunkId: "a", documentId: "d", content: "x", similarity: 1, tokenCount: -1 }],
        "Retriever custom returned chunk 0 with `tokenCount` -1; it should be a whole number of at least 0",
      ],
      [["a"], 'Retriever custom returned chunk 0 with value "a"; it should be an object'],
    ];
    for (const [value, message] of cases) {
      returned = value;
      await expect(c({})).rejects.toMatchObject({ code: "CONTEXT_FAILED", message });
      await expect(custom("q")).rejects.toMatchObject({ code: "CONTEXT_FAILED", message });
    }
    expect(await fabra.stores.records.count()).toBe(before);
  });
});
