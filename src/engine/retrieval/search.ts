// Retrieval: embed the query, search the vector store, hand back chunks with provenance; and indexing documents.
import type { RetrievedChunk } from "../../define/types.js";
import { FabraError } from "../../errors.js";
import { contentHash } from "../../record/hash.js";
import { nowDatetime } from "../../record/datetime.js";
import type { ChunkWithEmbedding, VectorStore } from "../../stores/types.js";
import { chunkText } from "./chunking.js";
import type { Embedder } from "./embedder.js";
import { chunkTokenCounts, type Encoding } from "../context/tokens.js";

export interface RetrievalDeps {
  vector: VectorStore;
  embedder: Embedder;
}

export interface SearchOptions {
  topK: number;
  minSimilarity?: number;
  retriever: string;
}

export async function searchIndex(
  deps: RetrievalDeps,
  index: string,
  query: string,
  opts: SearchOptions,
): Promise<RetrievedChunk[]> {
  if (!Number.isInteger(opts.topK) || opts.topK < 1) {
    throw new FabraError("INVALID_ARGUMENT", `topK of retriever ${opts.retriever} is ${opts.topK}`, {
      hint: "topK must be a whole number of at least 1.",
    });
  }
  const [embedding] = await deps.embedder.embed([query]);
  if (!embedding) return [];
  const hits = await deps.vector.search(index, embedding, opts.topK, opts.minSimilarity);
  return hits.map(({ chunk, similarity }) => ({
    chunkId: chunk.chunkId,
    documentId: chunk.documentId,
    content: chunk.content,
    similarity,
    sourceUrl: chunk.sourceUrl,
    tokenCount: chunk.tokenCount,
    tokenCounts: { ...chunk.tokenCounts, cl100k_base: chunk.tokenCount },
    indexedAt: chunk.indexedAt,
    contentHash: chunk.contentHash,
    retriever: opts.retriever,
    index,
  }));
}

export interface DocumentInput {
  id: string;
  content: string;
  sourceUrl?: string | null;
}

export interface IndexingOptions {
  chunkTokens: number;
  overlapTokens: number;
  /** Encodings to count each chunk in besides cl100k_base (the project's contexts' models'); stored with it. */
  encodings?: Iterable<Encoding>;
  /** Called after each document with the running totals. */
  onProgress?: (done: number, total: number, chunks: number) => void;
}

const EMBED_BATCH = 64;

/** Chunks, embeds and stores documents; a document indexed again replaces its old chunks. */
export async function indexDocuments(
  deps: RetrievalDeps,
  index: string,
  documents: DocumentInput[],
  opts: IndexingOptions,
): Promise<{ documents: number; chunks: number }> {
  let chunkCount = 0;
  for (let d = 0; d < documents.length; d++) {
    const doc = documents[d] as DocumentInput;
    const pieces = chunkText(doc.content, { chunkTokens: opts.chunkTokens, overlapTokens: opts.overlapTokens });
    const indexedAt = nowDatetime();
    const rows: ChunkWithEmbedding[] = [];
    for (let i = 0; i < pieces.length; i += EMBED_BATCH) {
      const batch = pieces.slice(i, i + EMBED_BATCH);
      const embeddings = await deps.embedder.embed(batch.map((p) => p.content));
      batch.forEach((piece, j) => {
        rows.push({
          chunkId: `${doc.id}#${piece.index}`,
          documentId: doc.id,
          content: piece.content,
          contentHash: contentHash(piece.content),
          sourceUrl: doc.sourceUrl ?? null,
          indexedAt,
          tokenCount: piece.tokenCount,
          tokenCounts: chunkTokenCounts(piece.content, piece.tokenCount, opts.encodings ?? []),
          embedding: embeddings[j] as Float32Array,
        });
      });
    }
    await deps.vector.deleteDocument(index, doc.id);
    if (rows.length > 0) await deps.vector.upsert(index, rows);
    chunkCount += rows.length;
    opts.onProgress?.(d + 1, documents.length, chunkCount);
  }
  return { documents: documents.length, chunks: chunkCount };
}
