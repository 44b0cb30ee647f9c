// A small pool of worker threads that verify ledger rows (`verify --all`, `ledger verify`) while the main thread reads
// the store: each batch's bytes go over as one transferred ArrayBuffer, and each worker (verify-rows-worker.ts) runs
// the very verifier the main thread would, so a row verifies in a worker exactly when it verifies inline. Only
// failed rows' results come back (and, for the transparency log, each row's leaf hash).
import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";
import type { SigningKey } from "../../record/sign.js";
import type { VerifyOptions, VerifyResult } from "../../record/verify.js";
import type { RawLedgerRow } from "../../stores/types.js";
import { startWorkerBeside } from "../../util/worker.js";

/** A batch as posted to a worker: the rows' bytes end to end, each after a 0x00 byte (its leaf hash's prefix). */
export interface RowBatch {
  id: number;
  bytes: ArrayBuffer;
  /** Row i is bytes[offsets[i] + 1, offsets[i + 1]); bytes[offsets[i]] is 0x00. */
  offsets: Int32Array;
  ids: string[];
  hashes: string[];
  /** Whether to hash each row's bytes for its transparency-log leaf. */
  leaves: boolean;
}

export interface RowBatchAnswer {
  id: number;
  /** The rows that failed, by index in the batch, with their results. */
  failures: [number, VerifyResult][];
  /** SHA-256(0x00 || bytes) of each row, 32 bytes each, when asked for. */
  leaves: Uint8Array | null;
}

/** Verify options as a worker receives them (structured clone turns each key's Buffer into a Uint8Array). */
export function verifyOptionsFromClone(opts: VerifyOptions): VerifyOptions {
  const key = (k: SigningKey): SigningKey => ({
    id: k.id,
    secret: Buffer.from(k.secret.buffer, k.secret.byteOffset, k.secret.byteLength),
  });
  return {
    ...opts,
    ...(opts.signingKey ? { signingKey: key(opts.signingKey) } : {}),
    ...(opts.signingKeys ? { signingKeys: opts.signingKeys.map(key) } : {}),
  };
}

/** Batches a worker may hold at once: one being verified and one waiting, so it never idles on the main thread. */
const DEPTH = 2;

/** The most workers started (the main thread reads the store; more than this rarely pays for its start-up). */
const MAX_THREADS = 4;

/** How many workers to use by default: one per core, none on a single core. */
export function defaultVerifyThreads(): number {
  const cores = availableParallelism();
  return cores < 2 ? 0 : Math.min(cores, MAX_THREADS);
}

interface Job {
  resolve(answer: RowBatchAnswer): void;
  reject(err: Error): void;
}

class VerifyWorker {
  readonly thread: Worker;
  ready = false;
  dead = false;
  readonly jobs = new Map<number, Job>();
  /** Settles when the worker is ready (true) or has failed before that (false). */
  readonly started: Promise<boolean>;

  constructor(opts: VerifyOptions) {
    this.thread = startWorkerBeside(import.meta.url, "verify-rows-worker", opts);
    let started: (ready: boolean) => void = () => undefined;
    this.started = new Promise((resolve) => {
      started = resolve;
    });
    this.thread.on("message", (m: RowBatchAnswer | { ready: true } | { id: number; error: string }) => {
      if ("ready" in m) {
        this.ready = true;
        started(true);
        return;
      }
      const job = this.jobs.get(m.id);
      this.jobs.delete(m.id);
      if ("error" in m) {
        job?.reject(new Error(m.error));
      } else job?.resolve(m);
    });
    const fail = (err: Error) => {
      this.dead = true;
      started(false);
      for (const job of this.jobs.values()) job.reject(err);
      this.jobs.clear();
    };
    this.thread.on("error", fail);
    this.thread.on("exit", (code) => fail(new Error(`verification worker exited (${code})`)));
  }
}

/**
 * Verification workers, started in the background: `take` gives a batch to a worker that is ready and has room, or
 * says none can (the caller then verifies inline, or waits for an answer). A worker that fails rejects its batches;
 * the caller verifies those inline, so nothing is lost or decided differently.
 */
export class RowVerifierPool {
  private readonly workers: VerifyWorker[];
  private next = 0;

  /** Null when the options cannot be sent to a thread (then everything is verified inline). */
  static start(threads: number, opts: VerifyOptions): RowVerifierPool | null {
    try {
      structuredClone(opts);
    } catch {
      return null;
    }
    if (threads <= 0) return null;
    try {
      return new RowVerifierPool(threads, opts);
    } catch {
      return null; // no thread could be started here: everything is verified inline, as on one core
    }
  }

  private constructor(threads: number, opts: VerifyOptions) {
    this.workers = Array.from({ length: threads }, () => new VerifyWorker(opts));
  }

  /** Settles when every worker is ready or has failed; the count of ready ones. */
  async started(): Promise<number> {
    return (await Promise.all(this.workers.map((w) => w.started))).filter(Boolean).length;
  }

  /** Whether a worker holds a batch not yet answered. */
  get working(): boolean {
    return this.workers.some((w) => w.jobs.size > 0);
  }

  /** Posts the rows to a ready worker with room, or returns null when there is none right now. */
  take(rows: readonly RawLedgerRow[], leaves: boolean): Promise<RowBatchAnswer> | null {
    const worker = this.workers.find((w) => w.ready && !w.dead && w.jobs.size < DEPTH);
    if (!worker) return null;
    let total = rows.length; // a zero byte before each row
    for (const row of rows) total += row.canonicalBytes.byteLength;
    const bytes = new ArrayBuffer(total);
    const view = new Uint8Array(bytes);
    const offsets = new Int32Array(rows.length + 1);
    for (let i = 0; i < rows.length; i++) {
      const b = (rows[i] as RawLedgerRow).canonicalBytes;
      view.set(b, (offsets[i] as number) + 1); // the byte before it stays 0x00 (a new ArrayBuffer is zeroed)
      offsets[i + 1] = (offsets[i] as number) + 1 + b.byteLength;
    }
    const batch: RowBatch = {
      id: this.next++,
      bytes,
      offsets,
      ids: rows.map((r) => r.contextId),
      hashes: rows.map((r) => r.recordHash),
      leaves,
    };
    return new Promise((resolve, reject) => {
      worker.jobs.set(batch.id, { resolve, reject });
      try {
        worker.thread.postMessage(batch, [bytes]);
      } catch (err) {
        worker.jobs.delete(batch.id);
        reject(err as Error);
      }
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.thread.terminate()));
  }
}
