// The HNSW graph beside the in-memory index: built by optimize() for an index past minChunks, close to exact
// (recall@10), saved beside the DuckDB file and taken by the next process without a rebuild, stale after any change
// (search is then exact again); and without hnswlib-node, exact search with doctor saying why.
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DuckDBChunkPersistence } from "../../src/stores/duckdb/vector-chunks.js";
import { openAnn } from "../../src/stores/memory/ann.js";
import { type MemoryVectorStore, open } from "../../src/stores/memory/vector.js";
import { openVectorStore } from "../../src/stores/index.js";
import type { ChunkWithEmbedding, IndexedDocument } from "../../src/stores/types.js";
import { seededVectors } from "../contract/vector-store.js";
import { tempFile } from "../helpers/temp.js";

const DIMS = 32;
const N = 600;

/** Clustered vectors (like embeddings): 30 centres, each point a centre plus noise. */
function clustered(n: number, seed: number): Float32Array[] {
  const centres = seededVectors(30, DIMS, seed);
  const noise = seededVectors(n, DIMS, seed + 1);
  return noise.map((v, i) =>
    Float32Array.from(v, (x, d) => ((centres[i % 30] as Float32Array)[d] as number) + 0.4 * x),
  );
}

/** The chunks as documents of six chunks each, for the bulk write path. */
const documents = (vectors: Float32Array[]): IndexedDocument[] => {
  const byDoc = new Map<string, ChunkWithEmbedding[]>();
  for (const c of chunks(vectors)) byDoc.set(c.documentId, [...(byDoc.get(c.documentId) ?? []), c]);
  return [...byDoc.entries()].map(([documentId, cs]) => ({
    documentId,
    documentHash: `sha256:${documentId}`,
    chunks: cs,
  }));
};

const chunks = (vectors: Float32Array[]): ChunkWithEmbedding[] =>
  vectors.map((embedding, i) => ({
    chunkId: `doc_${Math.floor(i / 6)}#${i % 6}`,
    documentId: `doc_${Math.floor(i / 6)}`,
    content: `chunk ${i}`,
    contentHash: `sha256:${i}`,
    sourceUrl: null,
    indexedAt: "2026-01-01T00:00:00Z",
    tokenCount: 3,
    embedding,
  }));

async function openStore(path: string): Promise<MemoryVectorStore> {
  const ann = openAnn(`${path}.ann`, 500);
  if (ann.ann === null) throw new Error(`hnswlib-node did not load: ${ann.reason}`);
  return open(DIMS, await DuckDBChunkPersistence.open(path), ann.ann);
}

async function recall(store: MemoryVectorStore, queries: Float32Array[]): Promise<number> {
  let found = 0;
  for (const q of queries) {
    const exact = new Set((await store.searchExact("kb", q, 10)).map((h) => h.chunk.chunkId));
    found += (await store.search("kb", q, 10)).filter((h) => exact.has(h.chunk.chunkId)).length;
  }
  return found / (10 * queries.length);
}

describe("the HNSW graph of a large in-memory index", () => {
  const path = tempFile("fabra-ann-", "f.duckdb");
  const queries = clustered(20, 99);

  it("is built past minChunks, close to exact, and saved beside the DuckDB file", async () => {
    const store = await openStore(path);
    try {
      await store.writeDocuments("kb", documents(clustered(400, 7)));
      expect(await store.optimize("kb")).toBeNull(); // 400 < minChunks: exact only
      await store.writeDocuments("kb", documents(clustered(N, 7)));
      expect(await store.optimize("kb")).toMatch(/^built the HNSW graph of 600 chunks/);
      expect(existsSync(`${path}.ann/kb.hnsw`)).toBe(true);
      expect(await recall(store, queries)).toBeGreaterThanOrEqual(0.95);
      const [hit] = await store.search("kb", queries[0] as Float32Array, 1);
      const [exact] = await store.searchExact("kb", queries[0] as Float32Array, 1);
      expect(hit?.similarity).toBeCloseTo(exact?.similarity as number, 4);
      expect(await store.optimize("kb")).toBeNull(); // still fresh: nothing to do
    } finally {
      await store.close();
    }
  });

  it("is taken by the next process as saved (no rebuild), and goes stale on a change (exact again)", async () => {
    const store = await openStore(path);
    try {
      expect(await recall(store, queries)).toBeGreaterThanOrEqual(0.95);
      expect(await store.optimize("kb")).toBeNull(); // the saved graph matched the chunks loaded
      await store.deleteDocuments("kb", ["doc_0"]);
      // Stale: every answer is the exact one (doc_0's chunks gone with it).
      for (const q of queries.slice(0, 5)) {
        const got = (await store.search("kb", q, 10)).map((h) => h.chunk.chunkId);
        expect(got).toEqual((await store.searchExact("kb", q, 10)).map((h) => h.chunk.chunkId));
        expect(got.some((id) => id.startsWith("doc_0#"))).toBe(false);
      }
      expect(await store.optimize("kb")).toMatch(/^built the HNSW graph of 594 chunks/);
    } finally {
      await store.close();
    }
  });

  it("is dropped with its index", async () => {
    const store = await openStore(path);
    try {
      expect(await store.dropIndex("kb")).toBe(594);
      expect(existsSync(`${path}.ann/kb.hnsw`)).toBe(false);
    } finally {
      await store.close();
    }
  });
});

describe("building the graph in steps (as a running server does after a write)", () => {
  const queries = clustered(20, 98);
  const memoryStore = () => {
    const ann = openAnn(null, 500);
    if (ann.ann === null) throw new Error(`hnswlib-node did not load: ${ann.reason}`);
    return open(DIMS, null, ann.ann);
  };

  it("answers searches (exactly) while it builds, and two calls for the same chunks share one build", async () => {
    const store = memoryStore();
    try {
      await store.upsert("kb", chunks(clustered(N, 11)));
      const first = store.optimize("kb");
      const second = store.optimize("kb");
      const q = queries[0] as Float32Array;
      expect(await store.search("kb", q, 10)).toEqual(await store.searchExact("kb", q, 10));
      expect(await first).toMatch(/^built the HNSW graph of 600 chunks/);
      expect(await second).toMatch(/^built the HNSW graph of 600 chunks/);
      expect(await store.optimize("kb")).toBeNull(); // fresh now
      expect(await recall(store, queries)).toBeGreaterThanOrEqual(0.9);
    } finally {
      await store.close();
    }
  });

  it("gives up when the index changes before it is done: the graph stays stale, search exact, until built again", async () => {
    const store = memoryStore();
    try {
      const vectors = clustered(N + 6, 12);
      await store.upsert("kb", chunks(vectors.slice(0, N)));
      const building = store.optimize("kb");
      await store.writeDocuments("kb", documents(vectors).slice(-1)); // lands between two steps of the build
      expect(await building).toBeNull();
      const q = queries[1] as Float32Array;
      expect(await store.search("kb", q, 10)).toEqual(await store.searchExact("kb", q, 10));
      expect(await store.optimize("kb")).toMatch(/^built the HNSW graph of 606 chunks/);
    } finally {
      await store.close();
    }
  });
});

describe("without hnswlib-node", () => {
  it("searches exactly and says why in its probe", async () => {
    const store = open(DIMS, null, null, "hnswlib-node failed to load: Cannot find module 'hnswlib-node'");
    await store.upsert("kb", chunks(clustered(50, 3)));
    expect(await store.optimize("kb")).toBeNull();
    const q = clustered(1, 5)[0] as Float32Array;
    expect(await store.search("kb", q, 5)).toEqual(await store.searchExact("kb", q, 5));
    const probe = await store.probe();
    expect(probe.find((c) => c.name === "stores.vector.ann")).toMatchObject({
      state: "warn",
      detail: expect.stringMatching(/hnswlib-node failed to load.*exact scan/),
    });
  });

  it("is not used when the config turns it off (ann: false)", async () => {
    const store = await openVectorStore(
      { type: "memory", annMinChunks: null },
      { type: "duckdb", path: ":memory:" },
      {
        dimensions: DIMS,
      },
    );
    try {
      expect((await store.probe()).some((c) => c.name === "stores.vector.ann")).toBe(false);
    } finally {
      await store.close();
    }
  });
});
