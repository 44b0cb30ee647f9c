// Retrieval: embed the query, search the vector store, hand back chunks with provenance; and indexing documents.
import type { RetrievedChunk } from "../../define/types.js";
import { FabraError } from "../../errors.js";
import { contentHash } from "../../record/hash.js";
import { nowDatetime } from "../../record/datetime.js";
import type { IndexedDocument, VectorStore } from "../../stores/types.js";
import { chunkText, type TextChunk } from "./chunking.js";
import type { Embedder } from "./embedder.js";
import { startEmbedThread, type ThreadedEmbedder } from "./embed-thread.js";
import type { Encoding } from "../context/tokens.js";
import { chunkTokenCounts } from "../context/token-segments.js";

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

/** How far `index add` has got: documents seen (of `total`), chunks written, documents skipped as unchanged. */
export interface IndexingProgress {
  documents: number;
  total: number;
  chunks: number;
  skipped: number;
}

export interface IndexingOptions {
  chunkTokens: number;
  overlapTokens: number;
  /** Encodings to count each chunk in besides cl100k_base (the project's contexts' models'); stored with it. */
  encodings?: Iterable<Encoding>;
  /** Called as batches are written, with the running totals (`done` = documents seen so far). */
  onProgress?: (done: number, total: number, chunks: number, progress: IndexingProgress) => void;
  /** Documents expected (for progress when `documents` is a stream); the array's length otherwise. */
  total?: number;
  /**
   * Afterwards, build what makes search on the index fast (VectorStore.optimize: the HNSW graph of a large local
   * index, minutes for 100k chunks). Default true; the server's route passes false (it would block requests).
   */
  optimize?: boolean;
  /** Told how far building it has got. */
  onOptimize?: (done: number, total: number) => void;
}

export interface IndexingResult {
  /** Documents seen. */
  documents: number;
  /** Chunks written. */
  chunks: number;
  /** Documents left as they were: indexed before from the same text with the same settings. */
  skipped: number;
  /** What was built for search afterwards (e.g. an HNSW graph), if anything. */
  optimized?: string;
}

/** Chunks per embedder call. */
const EMBED_BATCH = 256;
/** Chunks per store write (one transaction). */
const WRITE_BATCH = 2048;
/** Embedder calls in flight at once (a remote embedder overlaps the network with chunking). */
const EMBEDS_IN_FLIGHT = 2;
/** The same with the embedder on a worker thread: enough queued that it does not idle while a write is appended. */
const THREAD_EMBEDS_IN_FLIGHT = 4;
/** Chunks still to embed (as far as the documents so far tell) for which a worker thread pays for its start. */
const THREAD_MIN_CHUNKS = 4096;
/** At most this long (ms) between turns of the event loop while documents are chunked and embedded. */
const TURN_MS = 10;

/**
 * One turn of the event loop. Chunking and a local embedder are synchronous and the documents read ahead are
 * resolved promises, so without it the loop below runs as one chain of microtasks and a write in flight (each of
 * its statements a callback from the database's threads) advances only when the pipeline stops to wait for it:
 * the writes ran after the work instead of beside it.
 */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * What a document's chunks are made from: its text and source with the chunking and the embedder. The same hash
 * means re-indexing would write the same chunks (only indexedAt would differ), so the document is skipped.
 */
export function documentHash(
  doc: DocumentInput,
  embedderId: string,
  chunking: Pick<IndexingOptions, "chunkTokens" | "overlapTokens" | "encodings">,
): string {
  // The encodings whose token counts are stored with the chunks: a project that starts using another model's
  // tokenizer re-indexes, so its chunks carry that count too.
  const encodings = [...(chunking.encodings ?? [])].sort();
  return contentHash(
    JSON.stringify([
      "fabra-document-v1",
      embedderId,
      chunking.chunkTokens,
      chunking.overlapTokens,
      ...(encodings.length > 0 ? [encodings] : []),
      doc.sourceUrl ?? null,
      doc.content,
    ]),
  );
}

/**
 * Chunks, embeds and stores documents; a document indexed again replaces its old chunks, and one unchanged since it
 * was indexed (same documentHash) is skipped. A bounded pipeline: documents are read (a stream reads ahead) and
 * chunked while earlier batches are embedded (up to EMBEDS_IN_FLIGHT calls; a CPU-bound embedder on a worker
 * thread when enough is to come, embed-thread.ts) and the batch before is written (one bulk write in
 * flight, its statements advancing at least every TURN_MS), so no stage waits for the others more than the bounds
 * say.
 */
export async function indexDocuments(
  deps: RetrievalDeps,
  index: string,
  documents: DocumentInput[] | AsyncIterable<DocumentInput>,
  opts: IndexingOptions,
): Promise<IndexingResult> {
  const total = opts.total ?? (Array.isArray(documents) ? documents.length : 0);
  const encodings = [...(opts.encodings ?? [])].sort();
  const known = new Map((await deps.vector.listDocuments(index)).map((d) => [d.documentId, d.documentHash]));
  const progress: IndexingProgress = { documents: 0, total, chunks: 0, skipped: 0 };
  const report = () => opts.onProgress?.(progress.documents, total, progress.chunks, { ...progress });

  type Pending = { doc: DocumentInput; hash: string; pieces: TextChunk[] };
  let gathering: Pending[] = [];
  let gatheredChunks = 0;
  const embedding: Promise<IndexedDocument[]>[] = [];
  /** The embeddings in `embedding` that are done (taken without waiting). */
  const settled = new WeakSet<Promise<IndexedDocument[]>>();
  let writing: Promise<void> = Promise.resolve();
  let writeIdle = true;
  let toWrite: IndexedDocument[] = [];
  let toWriteChunks = 0;
  let seenInBatch = new Set<string>();
  /** The store's bulk load (VectorStore.beginBulkLoad), begun with the first write and ended however the add ends. */
  let bulk: Promise<(() => Promise<void>) | undefined> | undefined;
  /** The embedder on a worker thread (embed-thread.ts), started once enough chunks are to come (worthAThread). */
  let thread: ThreadedEmbedder | null | undefined;

  const embed = async (batch: Pending[]): Promise<IndexedDocument[]> => {
    const texts = batch.flatMap((p) => p.pieces.map((piece) => piece.content));
    const vectors: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += EMBED_BATCH)
      vectors.push(...(await (thread ?? deps.embedder).embed(texts.slice(i, i + EMBED_BATCH))));
    if (vectors.length !== texts.length)
      throw new FabraError(
        "EMBEDDER_FAILED",
        `The embedder returned ${vectors.length} vectors for ${texts.length} texts`,
        {
          hint: "Check the embedder: it must return one vector per text.",
        },
      );
    const indexedAt = nowDatetime();
    let v = 0;
    return batch.map(({ doc, hash, pieces }) => ({
      documentId: doc.id,
      documentHash: hash,
      chunks: pieces.map((piece) => ({
        chunkId: `${doc.id}#${piece.index}`,
        documentId: doc.id,
        content: piece.content,
        contentHash: contentHash(piece.content),
        sourceUrl: doc.sourceUrl ?? null,
        indexedAt,
        tokenCount: piece.tokenCount,
        tokenCounts: chunkTokenCounts(piece.content, piece.tokenCount, encodings),
        embedding: vectors[v++] as Float32Array,
      })),
    }));
  };
  const startWrite = async (batch: IndexedDocument[], seen: number) => {
    await writing;
    bulk ??= Promise.resolve(deps.vector.beginBulkLoad?.(index));
    await bulk;
    const chunks = batch.reduce((n, d) => n + d.chunks.length, 0);
    writeIdle = false;
    writing = deps.vector.writeDocuments(index, batch).then(() => {
      writeIdle = true;
      progress.chunks += chunks;
      progress.documents = Math.max(progress.documents, seen);
      report();
    });
    writing.catch(() => undefined); // awaited before the next write and at the end
  };
  /** Takes the oldest embedding in flight into the write batch; writes the batch once it is full (or `force`). */
  const drainOne = async (force: boolean, seen: number) => {
    const done = embedding.shift();
    if (done) {
      // Rather than wait for the worker, embed here the batches it has not started (the two cores share them).
      while (thread && !settled.has(done) && thread.embedQueuedHere()) await nextTurn();
      const docs = await done;
      // A document given again in this call replaces its earlier version still waiting to be written (one written
      // already is replaced by the later write, as any document indexed again is).
      const later = new Set(docs.map((d) => d.documentId));
      if (toWrite.some((d) => later.has(d.documentId))) {
        toWrite = toWrite.filter((d) => !later.has(d.documentId));
        toWriteChunks = toWrite.reduce((n, d) => n + d.chunks.length, 0);
      }
      toWrite.push(...docs);
      toWriteChunks += docs.reduce((n, d) => n + d.chunks.length, 0);
    }
    if (toWrite.length > 0 && (force || toWriteChunks >= WRITE_BATCH)) {
      const batch = toWrite;
      toWrite = [];
      toWriteChunks = 0;
      await startWrite(batch, seen);
    }
  };
  const flushGathered = async (seen: number) => {
    if (gathering.length === 0) return;
    const batch = gathering;
    gathering = [];
    gatheredChunks = 0;
    seenInBatch = new Set();
    // Embeddings already done join the write batch now, and a full one is written as soon as the write before is
    // done, so writes keep up with the work rather than wait for the queue to fill (the last ones ran after it).
    while (writeIdle && embedding[0] && settled.has(embedding[0])) await drainOne(false, seen);
    while (embedding.length >= (thread ? THREAD_EMBEDS_IN_FLIGHT : EMBEDS_IN_FLIGHT)) await drainOne(false, seen);
    const embedded = embed(batch);
    embedded.then(
      () => settled.add(embedded),
      () => undefined, // awaited in order by drainOne
    );
    embedding.push(embedded);
  };

  try {
    let seen = 0;
    let chunked = 0;
    let turn = performance.now();
    for await (const doc of documents as AsyncIterable<DocumentInput>) {
      seen++;
      if (performance.now() - turn >= TURN_MS) {
        await nextTurn();
        turn = performance.now();
      }
      const hash = documentHash(doc, deps.embedder.id, opts);
      if (known.get(doc.id) === hash) {
        progress.skipped++;
        continue;
      }
      known.set(doc.id, hash); // the same document twice in one call: indexed once
      // A document already waiting in this batch is replaced by its later version.
      if (seenInBatch.has(doc.id)) gathering = gathering.filter((p) => p.doc.id !== doc.id);
      seenInBatch.add(doc.id);
      const pieces = chunkText(doc.content, { chunkTokens: opts.chunkTokens, overlapTokens: opts.overlapTokens });
      gathering.push({ doc, hash, pieces });
      gatheredChunks += pieces.length;
      if (gatheredChunks >= EMBED_BATCH) {
        chunked += gatheredChunks;
        if (thread === undefined && worthAThread(chunked, seen, total)) thread = startEmbedThread(deps.embedder);
        await flushGathered(seen);
      }
    }
    await flushGathered(seen);
    while (embedding.length > 0) await drainOne(embedding.length === 1, seen);
    await drainOne(true, seen);
    await writing;
    progress.documents = seen;
    progress.total = Math.max(total, seen);
    report();
    const result: IndexingResult = { documents: seen, chunks: progress.chunks, skipped: progress.skipped };
    if (opts.optimize !== false && deps.vector.optimize) {
      const optimized = await deps.vector.optimize(index, opts.onOptimize);
      if (optimized) result.optimized = optimized;
    }
    return result;
  } finally {
    // A failure above leaves nothing running behind the caller's back.
    await Promise.allSettled([writing, ...embedding]);
    await thread?.close();
    await endBulkLoad(bulk);
  }
}

/**
 * Ends the store's bulk load, if one began. Its end only puts back how the store does its upkeep (every write was
 * committed as it went), so a failure there does not turn an add that worked into one that failed, nor hide the
 * error of one that did not.
 */
async function endBulkLoad(bulk: Promise<(() => Promise<void>) | undefined> | undefined): Promise<void> {
  const end = await bulk?.catch(() => undefined);
  await end?.().catch(() => undefined);
}

/**
 * Whether the chunks still to come are enough to embed on a worker thread (its start, ~30 ms, and its first
 * batches, before its JIT is warm, cost more than a small add gains): those of the documents expected but not seen
 * yet, at the chunks per document so far; with no count expected, the chunks so far stand for those to come.
 */
function worthAThread(chunked: number, seen: number, total: number): boolean {
  const toCome = total > seen ? ((total - seen) * chunked) / seen : chunked;
  return toCome >= THREAD_MIN_CHUNKS;
}
