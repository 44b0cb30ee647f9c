// The in-memory vector index: persistent across processes only when it keeps its chunks in the DuckDB file,
// and it says so in its capabilities (the CLI warns when an index would vanish with the process).
import { describe, expect, it } from "vitest";
import { openVectorStore } from "../../src/stores/index.js";
import type { ChunkWithEmbedding } from "../../src/stores/types.js";
import { tempFile } from "../helpers/temp.js";

const chunk = (id: string, v: number[]): ChunkWithEmbedding => ({
  chunkId: id,
  documentId: id.split("#")[0] as string,
  content: `content of ${id}`,
  contentHash: "sha256:00",
  sourceUrl: null,
  indexedAt: "2026-03-01T09:00:00Z",
  tokenCount: 3,
  embedding: Float32Array.from(v),
});

describe("memory vector store", () => {
  it("keeps chunks in the local DuckDB file for the next process, and says it is persistent", async () => {
    const path = tempFile("fabra-vec-", "f.duckdb");
    const offline = { type: "duckdb" as const, path };
    const first = await openVectorStore({ type: "memory" }, offline, { dimensions: 3 });
    expect(first.capabilities.persistent).toBe(true);
    await first.upsert("kb", [chunk("a#0", [1, 0, 0]), chunk("b#0", [0, 1, 0])]);
    await first.close();
    const second = await openVectorStore({ type: "memory" }, offline, { dimensions: 3 });
    const hits = await second.search("kb", Float32Array.from([0.9, 0.1, 0]), 1);
    expect(hits.map((h) => h.chunk.chunkId)).toEqual(["a#0"]);
    expect(hits[0]?.chunk.indexedAt).toBe("2026-03-01T09:00:00Z");
    await second.close();
  });

  it("is not persistent next to a non-DuckDB offline store", async () => {
    const store = await openVectorStore(
      { type: "memory" },
      { type: "postgres", url: "postgres://unused", poolSize: 1, schema: "public" } as never,
      { dimensions: 3 },
    );
    expect(store.capabilities.persistent).toBe(false);
    await store.close();
  });
});
