// Bulk indexing's two helpers and the add they serve: the lexical embedder on a worker thread gives exactly the
// inline vectors (for the batches it shares with the caller too, and inline once the thread is gone), a bulk load on
// a DuckDB file holds off the checkpoint and puts the setting back however it ends, and an add large enough to use
// both stores what inline embedding would, skips it all when re-added, and when it fails leaves every document whole
// or absent.
import { afterAll, describe, expect, it } from "vitest";
import { startEmbedThread } from "../../src/engine/retrieval/embed-thread.js";
import { LexicalEmbedder } from "../../src/engine/retrieval/embedder.js";
import { type DocumentInput, indexDocuments } from "../../src/engine/retrieval/search.js";
import { createFabra } from "../../src/index.js";
import { beginBulkLoad } from "../../src/stores/duckdb/bulk-load.js";
import { DuckDatabase } from "../../src/stores/duckdb/database.js";
import { DuckDBChunkPersistence } from "../../src/stores/duckdb/vector-chunks.js";
import { open as openMemory } from "../../src/stores/memory/vector.js";
import { tempFile } from "../helpers/temp.js";

const DIMS = 64;
const CHUNKING = { chunkTokens: 32, overlapTokens: 4 };

/** `n` documents of `pairs` word pairs each, words shared across documents (so the embeddings differ but overlap). */
function documents(n: number, pairs: number): DocumentInput[] {
  return Array.from({ length: n }, (_, d) => ({
    id: `docs/d${d}.md`,
    content: Array.from({ length: pairs }, (_, i) => `w${(d * 7919 + i * 104729) % 5003} topic${i % 13}`).join(
      d % 2 === 0 ? " " : ".\n",
    ),
  }));
}

const threshold = async (db: DuckDatabase) =>
  (await db.query<{ t: string }>("SELECT current_setting('checkpoint_threshold') AS t"))[0]?.t;

describe("the embedder on a worker thread", () => {
  it("gives the inline vectors, batch after batch, and embeds inline once closed", async () => {
    const inline = new LexicalEmbedder(DIMS);
    const thread = startEmbedThread(inline);
    expect(thread).not.toBeNull();
    if (!thread) return;
    try {
      const texts = documents(40, 30).map((d) => d.content);
      // The first batches may be embedded inline while the thread starts; keep going until one came from it.
      let threaded = false;
      for (let round = 0; round < 200 && !threaded; round++) {
        const got = await thread.embed(texts);
        expect(got).toEqual(await inline.embed(texts));
        threaded = got[0]?.buffer.byteLength === texts.length * DIMS * 4; // one buffer per batch from the thread
        if (!threaded) await new Promise((resolve) => setTimeout(resolve, 5));
      }
      expect(threaded).toBe(true);
      expect(await thread.embed([])).toEqual([]);
      // Batches are shared: those taken here while the worker is busy give the same vectors, each exactly once.
      const batches = Array.from({ length: 8 }, (_, i) => texts.slice(i * 5, i * 5 + 5));
      const pending = batches.map((b) => thread.embed(b));
      let here = 0;
      while (thread.embedQueuedHere()) here++;
      expect(here).toBeLessThanOrEqual(batches.length);
      const got = await Promise.all(pending);
      for (const [i, b] of batches.entries()) expect(got[i]).toEqual(await inline.embed(b));
    } finally {
      await thread.close();
    }
    const after = await thread.embed(["after close"]);
    expect(after).toEqual(await inline.embed(["after close"]));
  });
});

describe("a bulk load on a DuckDB file", () => {
  const dbs: DuckDatabase[] = [];
  afterAll(async () => {
    for (const db of dbs) await db.close();
  });

  it("raises the checkpoint threshold while any load runs and puts it back after the last", async () => {
    const path = tempFile("fabra-bulk-", "b.duckdb");
    const a = await DuckDatabase.open(path);
    const b = await DuckDatabase.open(path);
    dbs.push(a, b);
    const before = await threshold(a);
    const first = await beginBulkLoad(a);
    expect(await threshold(b)).toBe("1.0 GiB");
    const second = await beginBulkLoad(b);
    await first();
    await first(); // ending twice ends once
    expect(await threshold(a)).toBe("1.0 GiB");
    await second();
    expect(await threshold(a)).toBe(before);
    const third = await beginBulkLoad(b);
    expect(await threshold(a)).toBe("1.0 GiB");
    await third();
    expect(await threshold(b)).toBe(before);
  });
});

describe("index add on a DuckDB file, large enough for the thread and the bulk load", () => {
  it("stores the inline embedder's vectors, skips it all when re-added, and puts the threshold back", async () => {
    const path = tempFile("fabra-bulk-", "f.duckdb");
    const docs = documents(80, 400); // ~6,000 chunks: the thread starts, three write batches
    const fabra = await createFabra({
      stores: { offline: { type: "duckdb", path } },
      chunking: CHUNKING,
      embedder: { type: "lexical", dimensions: DIMS },
      definitions: {},
      warn: () => {},
    });
    const db = await DuckDatabase.open(path);
    try {
      const before = await threshold(db);
      const first = await fabra.index.add("kb", docs);
      expect(first.chunks).toBeGreaterThan(2_048);
      expect(await threshold(db)).toBe(before);
      const again = await fabra.index.add("kb", docs);
      expect(again).toMatchObject({ skipped: docs.length, chunks: 0 });
    } finally {
      await db.close();
      await fabra.close();
    }
    const persistence = await DuckDBChunkPersistence.open(path);
    try {
      const stored = await persistence.loadIndex("kb");
      const inline = await new LexicalEmbedder(DIMS).embed(stored.map((c) => c.content));
      expect(stored.map((c) => Array.from(c.embedding))).toEqual(inline.map((v) => Array.from(v)));
    } finally {
      await persistence.close();
    }
  });

  it("a document given twice in one add is stored as its later version, whichever batches the two land in", async () => {
    const path = tempFile("fabra-bulk-", "h.duckdb");
    const [long, other] = documents(2, 4_000); // ~400 chunks: the first version fills embedding batches of its own
    const vector = openMemory(DIMS, await DuckDBChunkPersistence.open(path));
    const deps = { vector, embedder: new LexicalEmbedder(DIMS) };
    try {
      const later = { id: (long as DocumentInput).id, content: "the later, short version" };
      const result = await indexDocuments(deps, "kb", [long as DocumentInput, other as DocumentInput, later], CHUNKING);
      expect(result.documents).toBe(3);
      const stored = new Map((await vector.listDocuments("kb")).map((d) => [d.documentId, d.chunks]));
      expect(stored.get(later.id)).toBe(1);
      expect(stored.get((other as DocumentInput).id)).toBeGreaterThan(100);
      const reopened = await DuckDBChunkPersistence.open(path);
      try {
        const rows = (await reopened.loadIndex("kb")).filter((c) => c.documentId === later.id);
        expect(rows.map((c) => c.content)).toEqual([later.content]);
      } finally {
        await reopened.close();
      }
    } finally {
      await vector.close();
    }
  });

  it("fails as a whole document at a time: what is stored is every chunk of a document or none", async () => {
    const path = tempFile("fabra-bulk-", "g.duckdb");
    const docs = documents(40, 800); // ~150 chunks each: a write batch (2,048 chunks) lands before the failure
    const failAt = 30;
    async function* failing(): AsyncIterable<DocumentInput> {
      for (const [i, doc] of docs.entries()) {
        if (i === failAt) throw new Error("the disk went away");
        yield doc;
      }
    }
    const vector = openMemory(DIMS, await DuckDBChunkPersistence.open(path));
    const deps = { vector, embedder: new LexicalEmbedder(DIMS) };
    const db = await DuckDatabase.open(path);
    try {
      const before = await threshold(db);
      const err = await indexDocuments(deps, "kb", failing(), CHUNKING).catch((e: unknown) => e);
      expect((err as Error).message).toBe("the disk went away");
      expect(await threshold(db)).toBe(before);
      // Whatever was written is whole: each stored document has exactly the chunks a full add gives it.
      const full = openMemory(DIMS, null);
      await indexDocuments({ vector: full, embedder: deps.embedder }, "kb", docs.slice(0, failAt), CHUNKING);
      const want = new Map((await full.listDocuments("kb")).map((d) => [d.documentId, d.chunks]));
      const stored = await vector.listDocuments("kb");
      expect(stored.length).toBeGreaterThan(0);
      expect(stored.length).toBeLessThan(failAt);
      for (const d of stored) expect(d.chunks).toBe(want.get(d.documentId));
      const reopened = await DuckDBChunkPersistence.open(path);
      try {
        const counts = new Map<string, number>();
        for (const c of await reopened.loadIndex("kb")) counts.set(c.documentId, (counts.get(c.documentId) ?? 0) + 1);
        expect([...counts].sort()).toEqual(stored.map((d) => [d.documentId, d.chunks]).sort());
      } finally {
        await reopened.close();
      }
      // Adding them all afterwards completes the index.
      const done = await indexDocuments(deps, "kb", docs, CHUNKING);
      expect(done.skipped).toBe(stored.length);
      expect(await vector.count("kb")).toBe(
        [...want.values()].reduce((a, b) => a + b, 0) + (await fullCount(docs.slice(failAt))),
      );
    } finally {
      await db.close();
      await vector.close();
    }
  });
});

/** Chunks a full add of `docs` makes. */
async function fullCount(docs: DocumentInput[]): Promise<number> {
  const store = openMemory(DIMS, null);
  return (await indexDocuments({ vector: store, embedder: new LexicalEmbedder(DIMS) }, "kb", docs, CHUNKING)).chunks;
}
