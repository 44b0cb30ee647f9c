// Embedding on a worker thread for bulk indexing: an embedder a thread can make again (Embedder.threadable, the
// lexical one) runs in embed-thread-worker.ts, so the main thread reads, chunks and writes while another core embeds
// (both are synchronous CPU work, which one thread can only take turns at). The worker makes the very same embedder,
// so its vectors are the ones inline embedding gives; each batch's come back in one transferred buffer. When the
// thread fails, its batches and every later one are embedded inline, so nothing is lost or computed differently.
// Batches are shared: each is claimed once, by the worker or by a caller that would otherwise wait for it (a slot per
// batch in shared memory, compare-and-swap), so neither core idles while the other has batches waiting — and a
// worker still cold (its JIT) or slowed down does not hold the pipeline up.
import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";
import type { Embedder, ThreadableEmbedder } from "./embedder.js";
import { startWorkerBeside } from "../../util/worker.js";

/** A batch as posted to the worker. */
export interface EmbedRequest {
  id: number;
  texts: string[];
}

/** What the worker is started with: the embedder, and the batches' claim slots. */
export interface EmbedThreadData {
  spec: ThreadableEmbedder;
  claims: Int32Array;
}

/** Batches that may be outstanding at once (more are embedded inline). */
export const SLOTS = 64;
/** Slot states, or-ed with the batch's id shifted left by 2 (so a slot reused for a later batch is told apart). */
export const QUEUED = 1;
/** Claimed by the worker. */
export const TAKEN = 2;
/** Claimed by the caller here. */
const HERE = 3;

/** The worker claims batch `id` before embedding it; false when a caller here took it first. */
export function claim(claims: Int32Array, id: number, by: number): boolean {
  return Atomics.compareExchange(claims, id % SLOTS, (id << 2) | QUEUED, (id << 2) | by) === ((id << 2) | QUEUED);
}

/** The worker's answers: it is ready; a batch's vectors end to end (`dimensions` floats each), or why there are none. */
export type EmbedAnswer = { ready: true } | { id: number; vectors: Float32Array } | { id: number; error: string };

/** An embedder whose batches run on a worker thread; `close` ends the thread. */
export interface ThreadedEmbedder extends Embedder {
  /**
   * Embeds here the oldest batch not answered yet if the worker has not started it (true): for a caller that would
   * wait for the worker.
   */
  embedQueuedHere(): boolean;
  close(): Promise<void>;
}

/** The embedder on a thread of its own, or null when it cannot be made there or there is no other core. */
export function startEmbedThread(embedder: Embedder): ThreadedEmbedder | null {
  if (!embedder.threadable || availableParallelism() < 2) return null;
  return new EmbedThread(embedder, embedder.threadable);
}

interface Job {
  texts: string[];
  resolve(vectors: Float32Array[]): void;
  reject(err: unknown): void;
}

class EmbedThread implements ThreadedEmbedder {
  readonly id: string;
  readonly dimensions: number;
  /** Null once the thread failed or was closed: batches are embedded inline. */
  private thread: Worker | null;
  /** Until the thread has made its embedder, batches are embedded inline (no batch waits for it to start). */
  private ready = false;
  private next = 0;
  /** The batches not answered yet, by id, oldest first. */
  private readonly jobs = new Map<number, Job>();
  private readonly claims = new Int32Array(new SharedArrayBuffer(4 * SLOTS));

  constructor(
    private readonly inline: Embedder,
    spec: ThreadableEmbedder,
  ) {
    this.id = inline.id;
    this.dimensions = inline.dimensions;
    this.thread = spawn({ spec, claims: this.claims });
    this.thread?.on("message", (m: EmbedAnswer) => this.answered(m));
    this.thread?.on("error", () => this.fail());
    this.thread?.on("exit", () => this.fail());
  }

  embed(texts: string[]): Promise<Float32Array[]> {
    const id = this.next;
    if (!this.thread || !this.ready || texts.length === 0 || this.jobs.has(id - SLOTS)) return this.inline.embed(texts);
    this.next++;
    Atomics.store(this.claims, id % SLOTS, (id << 2) | QUEUED);
    return new Promise((resolve, reject) => {
      this.jobs.set(id, { texts, resolve, reject });
      this.thread?.postMessage({ id, texts } satisfies EmbedRequest);
    });
  }

  embedQueuedHere(): boolean {
    // Only the oldest: while the worker embeds it, the wait is short, and taking later ones would leave it idle.
    const [oldest] = this.jobs;
    if (!oldest || !claim(this.claims, oldest[0], HERE)) return false;
    this.jobs.delete(oldest[0]);
    this.embedInline(oldest[1]);
    return true;
  }

  async close(): Promise<void> {
    const thread = this.thread;
    this.thread = null;
    await thread?.terminate().catch(() => undefined); // an exit code; nothing left to lose
    this.fail(); // batches still waiting (none after indexDocuments) are embedded inline
  }

  private answered(m: EmbedAnswer): void {
    if ("ready" in m) {
      this.ready = true;
      return;
    }
    const job = this.jobs.get(m.id);
    if (!job) return;
    this.jobs.delete(m.id);
    const d = this.dimensions;
    if ("error" in m || m.vectors.length !== job.texts.length * d) {
      // The inline embedder meets the same problem where it can report it (or has none).
      this.embedInline(job);
      return;
    }
    const vectors = m.vectors;
    job.resolve(Array.from(job.texts, (_, i) => vectors.subarray(i * d, (i + 1) * d)));
  }

  private fail(): void {
    this.thread = null;
    const jobs = [...this.jobs.values()];
    this.jobs.clear();
    for (const job of jobs) this.embedInline(job);
  }

  private embedInline(job: Job): void {
    this.inline.embed(job.texts).then(job.resolve, job.reject);
  }
}

/** The worker (embed-thread-worker.ts), or null when no thread can be started (then everything is embedded inline). */
function spawn(data: EmbedThreadData): Worker | null {
  try {
    return startWorkerBeside(import.meta.url, "embed-thread-worker", data);
  } catch {
    return null;
  }
}
