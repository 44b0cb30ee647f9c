// The VectorStore contract: every vector backend returns the same top-k with cosine similarities, replaces
// chunks by id, deletes documents, keeps indexes apart and refuses embeddings of the wrong size.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FabraError } from "../../src/errors.js";
import { normalizeDatetime } from "../../src/record/datetime.js";
import type { ChunkWithEmbedding, VectorStore } from "../../src/stores/types.js";

export interface VectorStoreHarness {
  /** Opens the backend's storage with an embedder of `dimensions`; a second call reopens the same storage. */
  open(dimensions: number): Promise<VectorStore>;
  cleanup?(): Promise<void>;
}

export const DIMS = 16;

/** Deterministic pseudo-random vectors (mulberry32), so every backend sees the same data. */
export function seededVectors(count: number, dims: number, seed: number): Float32Array[] {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
  return Array.from({ length: count }, () => Float32Array.from({ length: dims }, next));
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += (a[i] as number) * (b[i] as number);
    na += (a[i] as number) ** 2;
    nb += (b[i] as number) ** 2;
  }
  return dot / Math.sqrt(na * nb);
}

function chunk(i: number, embedding: Float32Array, doc = `doc_${Math.floor(i / 10)}`): ChunkWithEmbedding {
  return {
    chunkId: `${doc}_chunk_${i}`,
    documentId: doc,
    content: `chunk ${i}: caf\u00e9 \u{1F600} "quoted" | text`,
    contentHash: `sha256:${String(i).padStart(64, "0")}`,
    sourceUrl: i % 2 ? `https://example.com/${doc}#${i}` : null,
    indexedAt: normalizeDatetime(`2025-02-03T04:05:06.${String(i * 1001).padStart(6, "0")}Z`),
    tokenCount: 10 + i,
    // Some chunks carry their o200k_base count (a column beside token_count), the others none.
    ...(i % 3 === 0 ? { tokenCounts: { o200k_base: 9 + i } } : {}),
    embedding,
  };
}

export function vectorStoreContract(name: string, harness: VectorStoreHarness): void {
  describe(`VectorStore contract: ${name}`, () => {
    let store: VectorStore;
    const vectors = seededVectors(120, DIMS, 42);
    const chunks = vectors.map((v, i) => chunk(i, v));
    const queries = seededVectors(5, DIMS, 7);

    beforeAll(async () => {
      store = await harness.open(DIMS);
      await store.upsert("kb", chunks);
      await store.upsert(
        "other",
        chunks.slice(0, 3).map((c) => ({ ...c, chunkId: `o_${c.chunkId}` })),
      );
    });
    afterAll(async () => {
      await store?.close();
      await harness.cleanup?.();
    });

    it("declares its capabilities, and its probe passes with named checks, leaving nothing behind", async () => {
      for (const flag of ["concurrentWriters", "persistent", "sharedAcrossProcesses"] as const)
        expect(typeof store.capabilities[flag], flag).toBe("boolean");
      const before = await store.listIndexes();
      const checks = await store.probe();
      expect(checks.length).toBeGreaterThan(0);
      for (const check of checks) {
        expect(check.name).toMatch(/\S/);
        expect(check.detail).toMatch(/\S/);
        expect(check.state, `${check.name}: ${check.detail}`).not.toBe("fail");
      }
      expect(await store.listIndexes()).toEqual(before);
    });

    it("returns the top-k by cosine similarity, best first, with the similarity", async () => {
      for (const q of queries) {
        const expected = chunks
          .map((c) => ({ id: c.chunkId, sim: cosine(q, c.embedding) }))
          .sort((a, b) => b.sim - a.sim);
        const hits = await store.search("kb", q, 5);
        expect(hits.map((h) => h.chunk.chunkId)).toEqual(expected.slice(0, 5).map((e) => e.id));
        for (const [i, h] of hits.entries()) expect(h.similarity).toBeCloseTo((expected[i] as { sim: number }).sim, 5);
      }
    });

    it("leaves out hits below minSimilarity and honours topK", async () => {
      const q = queries[0] as Float32Array;
      const all = await store.search("kb", q, 120);
      expect(all).toHaveLength(120);
      const threshold = (all[9] as { similarity: number }).similarity - 1e-4;
      const above = await store.search("kb", q, 50, threshold);
      expect(above.map((h) => h.chunk.chunkId)).toEqual(all.slice(0, 10).map((h) => h.chunk.chunkId));
      expect(await store.search("kb", q, 3, 2)).toEqual([]);
    });

    it("keeps every chunk field exactly, and getChunks answers in the order asked, leaving out unknown ids", async () => {
      const ids = [chunks[7], chunks[3], chunks[0]].map((c) => (c as ChunkWithEmbedding).chunkId);
      const got = await store.getChunks("kb", [ids[0] as string, "nope", ids[1] as string, ids[2] as string]);
      const plain = (c: ChunkWithEmbedding) => {
        const { embedding: _e, ...rest } = c;
        return rest;
      };
      expect(got).toEqual([chunks[7], chunks[3], chunks[0]].map((c) => plain(c as ChunkWithEmbedding)));
      expect(await store.getChunks("kb", [])).toEqual([]);
    });

    it("replaces a chunk upserted again under the same id", async () => {
      const target = chunks[50] as ChunkWithEmbedding;
      const q = queries[1] as Float32Array;
      await store.upsert("kb", [{ ...target, content: "replaced", embedding: q }]);
      const [top] = await store.search("kb", q, 1);
      expect(top?.chunk.chunkId).toBe(target.chunkId);
      expect(top?.chunk.content).toBe("replaced");
      expect(top?.similarity).toBeCloseTo(1, 5);
      expect(await store.count("kb")).toBe(120);
      await store.upsert("kb", [target]);
    });

    it("deletes every chunk of one document and nothing else", async () => {
      await store.deleteDocument("kb", "doc_11");
      expect(await store.count("kb")).toBe(110);
      expect(await store.getChunks("kb", ["doc_11_chunk_110", "doc_10_chunk_109"])).toHaveLength(1);
      const hits = await store.search("kb", queries[2] as Float32Array, 120);
      expect(hits.some((h) => h.chunk.documentId === "doc_11")).toBe(false);
      await store.upsert("kb", chunks.slice(110));
    });

    it("keeps indexes apart and lists them with chunk counts and dimensions", async () => {
      expect(await store.count("other")).toBe(3);
      const hits = await store.search("other", queries[0] as Float32Array, 10);
      expect(hits.every((h) => h.chunk.chunkId.startsWith("o_"))).toBe(true);
      const listed = (await store.listIndexes()).filter((i) => i.name === "kb" || i.name === "other");
      expect(listed).toEqual([
        { name: "kb", chunks: 120, dimensions: DIMS },
        { name: "other", chunks: 3, dimensions: DIMS },
      ]);
    });

    it("says INDEX_NOT_FOUND for an empty or unknown index", async () => {
      const err = await store.search("no_such_index", queries[0] as Float32Array, 3).catch((e: unknown) => e);
      expect((err as FabraError).code).toBe("INDEX_NOT_FOUND");
      expect((err as FabraError).hint).toContain("fabra index add");
      expect(await store.count("no_such_index")).toBe(0);
    });

    it("refuses embeddings of the wrong size with DIMENSION_MISMATCH", async () => {
      const wrong = new Float32Array(DIMS + 1);
      for (const attempt of [store.search("kb", wrong, 3), store.upsert("kb", [chunk(999, wrong)])]) {
        const err = await attempt.catch((e: unknown) => e);
        expect((err as FabraError).code).toBe("DIMENSION_MISMATCH");
      }
      expect(await store.count("kb")).toBe(120);
    });

    it("writes documents in bulk: each replaces its old chunks, lists with its hash, and survives a reopen", async () => {
      const docChunks = (doc: string, from: number, n: number, tag: string) =>
        vectors.slice(from, from + n).map((v, i) => ({
          ...chunk(from + i, v, doc),
          chunkId: `${doc}#${i}`,
          content: `${tag} ${i}`,
          sourceUrl: doc === "a.md" ? null : `file:///docs/${doc}`,
        }));
      await store.writeDocuments("bulk", [
        { documentId: "a.md", documentHash: "sha256:a1", chunks: docChunks("a.md", 0, 5, "a1") },
        { documentId: "b.md", documentHash: "sha256:b1", chunks: docChunks("b.md", 5, 3, "b1") },
      ]);
      expect(await store.count("bulk")).toBe(8);
      // a.md again, shorter: its five chunks become two (no leftovers), b.md is untouched.
      await store.writeDocuments("bulk", [
        { documentId: "a.md", documentHash: "sha256:a2", chunks: docChunks("a.md", 20, 2, "a2") },
      ]);
      expect(await store.count("bulk")).toBe(5);
      expect(await store.listDocuments("bulk")).toEqual([
        { documentId: "a.md", documentHash: "sha256:a2", sourceUrl: null, chunks: 2 },
        { documentId: "b.md", documentHash: "sha256:b1", sourceUrl: "file:///docs/b.md", chunks: 3 },
      ]);
      const [top] = await store.search("bulk", vectors[20] as Float32Array, 1);
      expect(top?.chunk).toMatchObject({ chunkId: "a.md#0", documentId: "a.md", content: "a2 0" });
      expect(await store.getChunks("bulk", ["a.md#2", "a.md#4"])).toEqual([]);
      const again = await harness.open(DIMS);
      try {
        expect((await again.listDocuments("bulk")).map((d) => [d.documentId, d.documentHash, d.chunks])).toEqual([
          ["a.md", "sha256:a2", 2],
          ["b.md", "sha256:b1", 3],
        ]);
      } finally {
        await again.close();
      }
      // Chunks written by upsert list with no hash; an unknown index holds no documents.
      expect((await store.listDocuments("other"))[0]).toMatchObject({
        documentId: "doc_0",
        documentHash: null,
        chunks: 3,
      });
      expect(await store.listDocuments("no_such_index")).toEqual([]);
    });

    it("writes in bulk exactly what it was given, and takes over a chunk id upserted before under another document", async () => {
      // Values at the edges of what a column holds (the Postgres bulk path is a binary COPY: every byte is encoded).
      const exact: ChunkWithEmbedding = {
        chunkId: "e.md#0",
        documentId: "e.md",
        content: "naïve café 😀 'quoted' \"double\" \\ back\nslash\ttab",
        contentHash: "sha256:e0",
        sourceUrl: "file:///docs/e.md?x=1&y=%20",
        indexedAt: "2026-02-28T23:59:59.123456Z",
        tokenCount: 2_000_000_000,
        tokenCounts: { o200k_base: 7 },
        embedding: Float32Array.from(vectors[2] as Float32Array),
      };
      await store.upsert("takeover", [{ ...chunk(0, vectors[0] as Float32Array, "other.md"), chunkId: "t.md#0" }]);
      await store.writeDocuments("takeover", [
        { documentId: "e.md", documentHash: "sha256:e", chunks: [exact] },
        {
          documentId: "t.md",
          documentHash: "sha256:t",
          chunks: [{ ...chunk(1, vectors[1] as Float32Array, "t.md"), chunkId: "t.md#0", content: "taken over" }],
        },
      ]);
      const [got] = await store.getChunks("takeover", ["e.md#0"]);
      const { embedding: _embedding, ...plain } = exact;
      expect(got).toMatchObject(plain);
      const [taken] = await store.getChunks("takeover", ["t.md#0"]);
      expect(taken).toMatchObject({ documentId: "t.md", content: "taken over" });
      expect(await store.count("takeover")).toBe(2);
      const [top] = await store.search("takeover", exact.embedding, 1);
      expect(top?.chunk.chunkId).toBe("e.md#0");
    });

    it("deletes documents by id (counting the chunks removed) and drops an index with all its chunks", async () => {
      const docs = ["x", "y", "z"].map((id, d) => ({
        documentId: id,
        documentHash: `sha256:${id}`,
        chunks: vectors.slice(d * 4, d * 4 + 4).map((v, i) => ({ ...chunk(d * 4 + i, v, id), chunkId: `${id}#${i}` })),
      }));
      await store.writeDocuments("hygiene", docs);
      expect(await store.deleteDocuments("hygiene", ["x", "z", "never-there"])).toBe(8);
      expect((await store.listDocuments("hygiene")).map((d) => d.documentId)).toEqual(["y"]);
      expect(await store.deleteDocuments("hygiene", [])).toBe(0);
      expect(await store.dropIndex("hygiene")).toBe(4);
      expect(await store.count("hygiene")).toBe(0);
      expect((await store.listIndexes()).some((i) => i.name === "hygiene")).toBe(false);
      const err = await store.search("hygiene", queries[0] as Float32Array, 3).catch((e: unknown) => e);
      expect((err as FabraError).code).toBe("INDEX_NOT_FOUND");
      expect(await store.dropIndex("hygiene")).toBe(0);
      // The name can be used again after a drop.
      await store.writeDocuments("hygiene", docs.slice(0, 1));
      expect(await store.count("hygiene")).toBe(4);
      expect(await store.dropIndex("hygiene")).toBe(4);
      expect(await store.count("kb")).toBe(120);
    });

    it("refuses an index built with another embedder size when reopened", async () => {
      const other = await harness.open(DIMS * 2);
      try {
        const err = await other.search("kb", new Float32Array(DIMS * 2).fill(0.5), 3).catch((e: unknown) => e);
        expect((err as FabraError).code).toBe("DIMENSION_MISMATCH");
        expect((err as FabraError).message).toContain(`${DIMS}-dimension`);
      } finally {
        await other.close();
      }
    });
  });
}
