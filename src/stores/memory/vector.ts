// The in-memory vector index: exact cosine top-k over normalized vectors held in one Float32Array per index.
// In local mode the chunks are also kept in the DuckDB file (a ChunkPersistence), so an index built by
// `fabra index add` is there for the next process; it is loaded into memory on first use.
import { FabraError } from "../../errors.js";
import type { Chunk, ChunkWithEmbedding, StoreCheck, VectorHit, VectorStore } from "../types.js";

/** Where an in-memory index keeps its chunks between processes. */
export interface ChunkPersistence {
  loadIndex(index: string): Promise<ChunkWithEmbedding[]>;
  listIndexes(): Promise<string[]>;
  upsert(index: string, chunks: ChunkWithEmbedding[]): Promise<void>;
  deleteDocument(index: string, documentId: string): Promise<void>;
  close(): Promise<void>;
}

class IndexData {
  chunks: Chunk[] = [];
  /** Row i holds the unit-length embedding of chunks[i]. */
  vectors: Float32Array;
  readonly positions = new Map<string, number>();

  constructor(readonly dimensions: number) {
    this.vectors = new Float32Array(dimensions * 64);
  }

  put(chunk: ChunkWithEmbedding): void {
    const { embedding, ...plain } = chunk;
    let at = this.positions.get(chunk.chunkId);
    if (at === undefined) {
      at = this.chunks.length;
      this.chunks.push(plain);
      this.positions.set(chunk.chunkId, at);
      if ((at + 1) * this.dimensions > this.vectors.length) {
        const grown = new Float32Array(this.vectors.length * 2);
        grown.set(this.vectors);
        this.vectors = grown;
      }
    } else {
      this.chunks[at] = plain;
    }
    this.vectors.set(normalize(embedding), at * this.dimensions);
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
  }
}

export class MemoryVectorStore implements VectorStore {
  readonly capabilities: { concurrentWriters: false; persistent: boolean; sharedAcrossProcesses: false };
  private readonly indexes = new Map<string, Promise<IndexData>>();

  constructor(
    readonly dimensions: number,
    private readonly persistence: ChunkPersistence | null = null,
  ) {
    // Chunks outlive the process only when they are kept somewhere (the local DuckDB file).
    this.capabilities = { concurrentWriters: false, persistent: persistence !== null, sharedAcrossProcesses: false };
  }

  async probe(): Promise<StoreCheck[]> {
    const kept = this.persistence ? ", chunks kept in the local DuckDB file" : "";
    return [{ name: "stores.vector", state: "ok", detail: `memory: exact cosine search in process${kept}` }];
  }

  async upsert(index: string, chunks: ChunkWithEmbedding[]): Promise<void> {
    for (const c of chunks) this.checkDimensions(c.embedding, `chunk ${c.chunkId}`);
    const data = await this.index(index);
    await this.persistence?.upsert(index, chunks);
    for (const c of chunks) data.put(c);
  }

  async search(index: string, embedding: Float32Array, topK: number, minSimilarity = -Infinity): Promise<VectorHit[]> {
    this.checkDimensions(embedding, "the query embedding");
    const data = await this.existingIndex(index);
    const query = normalize(embedding);
    const dims = this.dimensions;
    const vectors = data.vectors;
    // Best `topK` so far, kept sorted best first (k is small, so insertion beats a heap).
    const best: { at: number; similarity: number }[] = [];
    for (let at = 0; at < data.chunks.length; at++) {
      let dot = 0;
      const base = at * dims;
      for (let d = 0; d < dims; d++) dot += (query[d] as number) * (vectors[base + d] as number);
      if (dot < minSimilarity) continue;
      if (best.length === topK && dot <= (best[topK - 1] as { similarity: number }).similarity) continue;
      let i = best.length;
      while (i > 0 && (best[i - 1] as { similarity: number }).similarity < dot) i--;
      best.splice(i, 0, { at, similarity: dot });
      if (best.length > topK) best.pop();
    }
    return best.map(({ at, similarity }) => ({
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
    for (const c of data.chunks.filter((c) => c.documentId === documentId)) data.remove(c.chunkId);
  }

  async count(index: string): Promise<number> {
    return (await this.index(index)).chunks.length;
  }

  async listIndexes(): Promise<{ name: string; chunks: number; dimensions: number }[]> {
    const names = new Set([...this.indexes.keys(), ...((await this.persistence?.listIndexes()) ?? [])]);
    const out = [];
    for (const name of [...names].sort()) {
      const data = await this.index(name);
      if (data.chunks.length > 0) out.push({ name, chunks: data.chunks.length, dimensions: data.dimensions });
    }
    return out;
  }

  async close(): Promise<void> {
    this.indexes.clear();
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
    if (data.chunks.length === 0) {
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
    for (const c of stored) data.put(c);
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

function normalize(v: Float32Array): Float32Array {
  let norm = 0;
  for (let i = 0; i < v.length; i++) norm += (v[i] as number) ** 2;
  if (norm === 0) return new Float32Array(v.length);
  const scale = 1 / Math.sqrt(norm);
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = (v[i] as number) * scale;
  return out;
}

export function open(dimensions: number, persistence: ChunkPersistence | null = null): MemoryVectorStore {
  return new MemoryVectorStore(dimensions, persistence);
}
