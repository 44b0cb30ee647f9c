// The in-memory vector index: exact cosine top-k over unit-length vectors held contiguously in one Float32Array per
// index (a scan with four accumulators and a partial top-k selection in typed arrays). In local mode the chunks are
// also kept in the DuckDB file (a ChunkPersistence), so an index built by `fabra index add` is there for the next
// process; it is loaded into memory on first use.
import { FabraError } from "../../errors.js";
import type {
  Chunk,
  ChunkWithEmbedding,
  IndexedDocument,
  IndexedDocumentInfo,
  StoreCheck,
  VectorHit,
  VectorStore,
} from "../types.js";

/** A chunk as kept between processes: with the hash of the document it was made from (null when unknown). */
export type StoredChunk = ChunkWithEmbedding & { documentHash: string | null };

/** Where an in-memory index keeps its chunks between processes. */
export interface ChunkPersistence {
  loadIndex(index: string): Promise<StoredChunk[]>;
  listIndexes(): Promise<string[]>;
  upsert(index: string, chunks: ChunkWithEmbedding[]): Promise<void>;
  deleteDocument(index: string, documentId: string): Promise<void>;
  /**
   * Replaces the documents' chunks (one transaction): the old chunks of `replaced` (those of the documents the index
   * holds) and `displaced` (ids of chunks of other documents that these documents' chunks take over, written before
   * under the same id, e.g. by upsert) are removed first.
   */
  writeDocuments(index: string, documents: IndexedDocument[], replaced: string[], displaced: string[]): Promise<void>;
  /** As VectorStore.beginBulkLoad. */
  beginBulkLoad?(): Promise<() => Promise<void>>;
  deleteDocuments(index: string, documentIds: string[]): Promise<void>;
  dropIndex(index: string): Promise<void>;
  close(): Promise<void>;
}

/** One index in memory: chunk i's unit-length embedding is row i of `vectors`. */
export class IndexData {
  chunks: Chunk[] = [];
  vectors: Float32Array;
  readonly positions = new Map<string, number>();
  /** Document id → the hash its chunks were made from (null: written without one). */
  readonly documents = new Map<string, string | null>();
  /** Raised by every change, so a derived structure (an ANN graph) knows when it is stale. */
  generation = 0;

  constructor(readonly dimensions: number) {
    this.vectors = new Float32Array(dimensions * 64);
  }

  get size(): number {
    return this.chunks.length;
  }

  put(chunk: ChunkWithEmbedding, documentHash: string | null = null): void {
    const { embedding, ...plain } = chunk;
    delete (plain as { documentHash?: unknown }).documentHash;
    let at = this.positions.get(chunk.chunkId);
    if (at === undefined) {
      at = this.chunks.length;
      this.chunks.push(plain);
      this.positions.set(chunk.chunkId, at);
      if ((at + 1) * this.dimensions > this.vectors.length) {
        const grown = new Float32Array(Math.max(this.vectors.length * 2, (at + 1) * this.dimensions));
        grown.set(this.vectors);
        this.vectors = grown;
      }
    } else {
      this.chunks[at] = plain;
    }
    normalizeInto(embedding, this.vectors, at * this.dimensions);
    if (documentHash !== null || !this.documents.has(chunk.documentId))
      this.documents.set(chunk.documentId, documentHash);
    this.generation++;
  }

  remove(chunkId: string): void {
    const at = this.positions.get(chunkId);
    if (at === undefined) return;
    const last = this.chunks.length - 1;
    if (at !== last) {
      const moved = this.chunks[last] as Chunk;
      this.chunks[at] = moved;
      this.positions.set(moved.chunkId, at);
      this.vectors.copyWithin(at * this.dimensions, last * this.dimensions, (last + 1) * this.dimensions);
    }
    this.chunks.pop();
    this.positions.delete(chunkId);
    this.generation++;
  }

  /** Removes a document's chunks; returns how many there were. */
  removeDocuments(ids: ReadonlySet<string>): number {
    const gone = this.chunks.filter((c) => ids.has(c.documentId));
    for (const c of gone) this.remove(c.chunkId);
    for (const id of ids) this.documents.delete(id);
    return gone.length;
  }

  listDocuments(): IndexedDocumentInfo[] {
    const found = new Map<string, { chunks: number; sourceUrl: string | null }>();
    for (const c of this.chunks) {
      const d = found.get(c.documentId);
      if (d) d.chunks++;
      else found.set(c.documentId, { chunks: 1, sourceUrl: c.sourceUrl });
    }
    return [...found.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([documentId, d]) => ({
        documentId,
        documentHash: this.documents.get(documentId) ?? null,
        sourceUrl: d.sourceUrl,
        chunks: d.chunks,
      }));
  }

  /** Exact top-k by dot product (= cosine, rows and query being unit length), best first; ties by position. */
  exactTopK(query: Float32Array, topK: number, minSimilarity: number): { at: number; similarity: number }[] {
    const dims = this.dimensions;
    const vectors = this.vectors;
    const n = this.chunks.length;
    const k = Math.min(topK, n);
    if (k <= 0) return [];
    // The best k so far, sorted best first, in typed arrays; `floor` is the k-th best (or minSimilarity).
    const scores = new Float64Array(k);
    const ids = new Int32Array(k);
    let filled = 0;
    let floor = minSimilarity;
    const tail = dims - (dims % 4);
    for (let at = 0, base = 0; at < n; at++, base += dims) {
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let d = 0;
      for (; d < tail; d += 4) {
        s0 += (query[d] as number) * (vectors[base + d] as number);
        s1 += (query[d + 1] as number) * (vectors[base + d + 1] as number);
        s2 += (query[d + 2] as number) * (vectors[base + d + 2] as number);
        s3 += (query[d + 3] as number) * (vectors[base + d + 3] as number);
      }
      for (; d < dims; d++) s0 += (query[d] as number) * (vectors[base + d] as number);
      const dot = s0 + s1 + s2 + s3;
      if (dot < floor || (filled === k && dot <= floor)) continue;
      let i = filled < k ? filled++ : k - 1;
      while (i > 0 && (scores[i - 1] as number) < dot) {
        scores[i] = scores[i - 1] as number;
        ids[i] = ids[i - 1] as number;
        i--;
      }
      scores[i] = dot;
      ids[i] = at;
      if (filled === k) floor = Math.max(minSimilarity, scores[k - 1] as number);
    }
    const out: { at: number; similarity: number }[] = [];
    for (let i = 0; i < filled; i++) out.push({ at: ids[i] as number, similarity: scores[i] as number });
    return out;
  }
}

/** An approximate index over an IndexData (see ann.ts); `search` answers null when it cannot (stale, or failed). */
export interface ApproximateSearch {
  /** What doctor shows. */
  describe(): string;
  /** Called after an index was loaded or changed (so it can rebuild, load a saved graph, or go stale). */
  attach(name: string, data: IndexData): void;
  search(name: string, data: IndexData, query: Float32Array, topK: number): { at: number; similarity: number }[] | null;
  /** Whether the structure for `name` matches `data` as it is now. */
  fresh(name: string, data: IndexData): boolean;
  /**
   * Builds (and keeps) the structure for an index, yielding to the event loop as it goes (a server keeps answering,
   * by exact search, meanwhile); false when the index is too small to need one, or changed before it was done.
   */
  build(name: string, data: IndexData, onProgress?: (done: number, total: number) => void): Promise<boolean>;
  forget(name: string): Promise<void>;
  close(): Promise<void>;
}

export class MemoryVectorStore implements VectorStore {
  readonly capabilities: { concurrentWriters: false; persistent: boolean; sharedAcrossProcesses: false };
  private readonly indexes = new Map<string, Promise<IndexData>>();

  constructor(
    readonly dimensions: number,
    private readonly persistence: ChunkPersistence | null = null,
    private readonly approximate: ApproximateSearch | null = null,
    /** Why there is no approximate search (shown by doctor), when it was wanted but could not be had. */
    private readonly approximateMissing: string | null = null,
  ) {
    // Chunks outlive the process only when they are kept somewhere (the local DuckDB file).
    this.capabilities = { concurrentWriters: false, persistent: persistence !== null, sharedAcrossProcesses: false };
  }

  async probe(): Promise<StoreCheck[]> {
    const kept = this.persistence ? ", chunks kept in the local DuckDB file" : "";
    const checks: StoreCheck[] = [
      { name: "stores.vector", state: "ok", detail: `memory: exact cosine search in process${kept}` },
    ];
    if (this.approximate) checks.push({ name: "stores.vector.ann", state: "ok", detail: this.approximate.describe() });
    else if (this.approximateMissing)
      checks.push({
        name: "stores.vector.ann",
        state: "warn",
        detail: `no approximate index (${this.approximateMissing}): every search is an exact scan, correct but slower on large indexes. Reinstall hnswlib-node (an optional dependency, built natively) for HNSW`,
      });
    return checks;
  }

  async optimize(index: string, onProgress?: (done: number, total: number) => void): Promise<string | null> {
    if (!this.approximate) return null;
    const data = await this.index(index);
    if (this.approximate.fresh(index, data)) return null;
    const started = Date.now();
    if (!(await this.approximate.build(index, data, onProgress))) return null;
    return `built the HNSW graph of ${data.size.toLocaleString("en-US")} chunks in ${((Date.now() - started) / 1000).toFixed(1)} s`;
  }

  async upsert(index: string, chunks: ChunkWithEmbedding[]): Promise<void> {
    for (const c of chunks) this.checkDimensions(c.embedding, `chunk ${c.chunkId}`);
    const data = await this.index(index);
    await this.persistence?.upsert(index, chunks);
    for (const c of chunks) data.put(c);
    this.approximate?.attach(index, data);
  }

  async writeDocuments(index: string, documents: IndexedDocument[]): Promise<void> {
    for (const d of documents) for (const c of d.chunks) this.checkDimensions(c.embedding, `chunk ${c.chunkId}`);
    if (documents.length === 0) return;
    const data = await this.index(index);
    const ids = new Set(documents.map((d) => d.documentId));
    // Only documents the index holds have chunks to delete (the index mirrors what is persisted): a new document's
    // DELETE would scan the table for nothing.
    const replaced = [...ids].filter((id) => data.documents.has(id));
    const displaced: string[] = [];
    for (const d of documents)
      for (const c of d.chunks) {
        const at = data.positions.get(c.chunkId);
        if (at !== undefined && !ids.has((data.chunks[at] as Chunk).documentId)) displaced.push(c.chunkId);
      }
    await this.persistence?.writeDocuments(index, documents, replaced, displaced);
    data.removeDocuments(ids);
    for (const d of documents) {
      data.documents.set(d.documentId, d.documentHash);
      for (const c of d.chunks) data.put(c, d.documentHash);
    }
    this.approximate?.attach(index, data);
  }

  async beginBulkLoad(): Promise<() => Promise<void>> {
    return (await this.persistence?.beginBulkLoad?.()) ?? (async () => undefined);
  }

  async listDocuments(index: string): Promise<IndexedDocumentInfo[]> {
    return (await this.index(index)).listDocuments();
  }

  async deleteDocuments(index: string, documentIds: string[]): Promise<number> {
    if (documentIds.length === 0) return 0;
    const data = await this.index(index);
    await this.persistence?.deleteDocuments(index, documentIds);
    const removed = data.removeDocuments(new Set(documentIds));
    this.approximate?.attach(index, data);
    return removed;
  }

  async dropIndex(index: string): Promise<number> {
    const data = await this.index(index);
    const chunks = data.size;
    await this.persistence?.dropIndex(index);
    this.indexes.delete(index);
    await this.approximate?.forget(index);
    return chunks;
  }

  async search(index: string, embedding: Float32Array, topK: number, minSimilarity = -Infinity): Promise<VectorHit[]> {
    this.checkDimensions(embedding, "the query embedding");
    const data = await this.existingIndex(index);
    const query = new Float32Array(this.dimensions);
    normalizeInto(embedding, query, 0);
    const approximate = this.approximate?.search(index, data, query, topK) ?? null;
    const best = approximate
      ? approximate.filter((h) => h.similarity >= minSimilarity)
      : data.exactTopK(query, topK, minSimilarity);
    return best.map(({ at, similarity }) => ({
      chunk: data.chunks[at] as Chunk,
      similarity: Math.max(-1, Math.min(1, similarity)),
    }));
  }

  /** Exact top-k, whatever approximate index there is (the benches' and tests' reference). */
  async searchExact(index: string, embedding: Float32Array, topK: number): Promise<VectorHit[]> {
    this.checkDimensions(embedding, "the query embedding");
    const data = await this.existingIndex(index);
    const query = new Float32Array(this.dimensions);
    normalizeInto(embedding, query, 0);
    return data.exactTopK(query, topK, -Infinity).map(({ at, similarity }) => ({
      chunk: data.chunks[at] as Chunk,
      similarity: Math.max(-1, Math.min(1, similarity)),
    }));
  }

  async getChunks(index: string, chunkIds: string[]): Promise<Chunk[]> {
    const data = await this.index(index);
    return chunkIds.flatMap((id) => {
      const at = data.positions.get(id);
      return at === undefined ? [] : [data.chunks[at] as Chunk];
    });
  }

  async deleteDocument(index: string, documentId: string): Promise<void> {
    const data = await this.index(index);
    await this.persistence?.deleteDocument(index, documentId);
    data.removeDocuments(new Set([documentId]));
    this.approximate?.attach(index, data);
  }

  async count(index: string): Promise<number> {
    return (await this.index(index)).size;
  }

  async listIndexes(): Promise<{ name: string; chunks: number; dimensions: number }[]> {
    const names = new Set([...this.indexes.keys(), ...((await this.persistence?.listIndexes()) ?? [])]);
    const out = [];
    for (const name of [...names].sort()) {
      const data = await this.index(name);
      if (data.size > 0) out.push({ name, chunks: data.size, dimensions: data.dimensions });
    }
    return out;
  }

  async close(): Promise<void> {
    this.indexes.clear();
    await this.approximate?.close();
    await this.persistence?.close();
  }

  private index(name: string): Promise<IndexData> {
    let data = this.indexes.get(name);
    if (!data) {
      data = this.load(name);
      this.indexes.set(name, data);
      data.catch(() => this.indexes.delete(name));
    }
    return data;
  }

  private async existingIndex(name: string): Promise<IndexData> {
    const data = await this.index(name);
    if (data.size === 0) {
      const known = (await this.listIndexes()).map((i) => i.name);
      throw new FabraError("INDEX_NOT_FOUND", `The vector index "${name}" is empty or does not exist`, {
        hint: `Add documents with: fabra index add <path> --index ${name}${known.length > 0 ? ` (indexes here: ${known.join(", ")})` : ""}`,
      });
    }
    return data;
  }

  private async load(name: string): Promise<IndexData> {
    const data = new IndexData(this.dimensions);
    const stored = (await this.persistence?.loadIndex(name)) ?? [];
    const wrong = stored.find((c) => c.embedding.length !== this.dimensions);
    if (wrong) {
      throw new FabraError(
        "DIMENSION_MISMATCH",
        `The index "${name}" holds ${wrong.embedding.length}-dimension embeddings, but the configured embedder makes ${this.dimensions}`,
        {
          hint: `The embedder changed since the index was built: re-index its documents with \`fabra index add <path> --index ${name}\`, or restore the old embedder config.`,
        },
      );
    }
    if (stored.length > 0) data.vectors = new Float32Array(stored.length * this.dimensions);
    for (const c of stored) data.put(c, c.documentHash);
    if (stored.length > 0) this.approximate?.attach(name, data);
    return data;
  }

  private checkDimensions(embedding: Float32Array, what: string): void {
    if (embedding.length !== this.dimensions) {
      throw new FabraError(
        "DIMENSION_MISMATCH",
        `${what} has ${embedding.length} dimensions; the vector store expects ${this.dimensions}`,
        {
          hint: "Check embedder.dimensions matches the model's output.",
        },
      );
    }
  }
}

/** Writes `v` scaled to unit length into `out` at `offset` (a zero vector stays zero). */
function normalizeInto(v: Float32Array, out: Float32Array, offset: number): void {
  let norm = 0;
  for (let i = 0; i < v.length; i++) norm += (v[i] as number) ** 2;
  const scale = norm === 0 ? 0 : 1 / Math.sqrt(norm);
  for (let i = 0; i < v.length; i++) out[offset + i] = (v[i] as number) * scale;
}

export function open(
  dimensions: number,
  persistence: ChunkPersistence | null = null,
  approximate: ApproximateSearch | null = null,
  approximateMissing: string | null = null,
): MemoryVectorStore {
  return new MemoryVectorStore(dimensions, persistence, approximate, approximateMissing);
}
