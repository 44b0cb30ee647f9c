// "verify" (issues 2, 10, 12): records verified per second from the DuckDB ledger, through the path `fabra context
// verify --all` takes (verifyLedger: the store's raw scan + the byte-level verifier; in worker threads, one per core,
// on a ledger of 20,000+ rows), against raw sha256 over the same canonical text on one thread in the same run. The
// same ledger verified with the worker pool forced is reported beside it, with each pass's CPU ratio (all threads).
// Target: ratio >= 0.5, i.e. verification costs at most twice the hashing of the bytes, so it is dominated by
// hashing rather than parsing or serializing.
import * as crypto from "node:crypto";
import { join } from "node:path";
import { recordToRow } from "../dist/engine/ledger/rows.js";
import { defaultVerifyThreads } from "../dist/engine/ledger/verify-rows-pool.js";
import { scanRawRows, verifyLedger, verifyRawLedgerRow } from "../dist/engine/ledger/verify-rows.js";
import { newContextId } from "../dist/record/id.js";
import { hashingText } from "../dist/record/hash.js";
import { sealRecord } from "../dist/record/seal.js";
import { readRecordText } from "../dist/record/verify.js";
import { fromEpochMicros } from "../dist/record/datetime.js";
import { openRecordStore } from "../dist/stores/index.js";
import { documents, openSupportFabra, queries } from "./fixtures.js";
import { collectGarbage, median, now, round, runIfMain, tempDir } from "./lib.js";

const TARGET = 0.5;

/** Raw sha256 of a string's UTF-8 bytes (or of bytes), the fastest way node offers (one-shot crypto.hash on node >= 20.12). */
const rawSha256 = crypto.hash
  ? (data) => crypto.hash("sha256", data, "hex")
  : (data) => crypto.createHash("sha256").update(data).digest("hex");

/**
 * A ledger of `count` realistic records: `seeds` assembled by the engine (3 features, 5 retrieved chunks with
 * content, 20 items, drops), the rest minted from those with the record core (new id and time, re-sealed).
 */
export async function buildLedger(path, count, log) {
  const { fabra, defs } = await openSupportFabra({ path, docs: documents(30, 1500), maxTokens: 900 });
  const seeds = [];
  const asks = queries(Math.min(count, 200));
  try {
    for (let i = 0; i < asks.length; i++)
      seeds.push((await defs.support({ userId: `user-${i}`, query: asks[i] })).record);
    log(`${seeds.length} records assembled by the engine; minting ${count - seeds.length} more`);
    const start = Date.now() * 1000 - count * 1000;
    for (let i = seeds.length; i < count; i++) {
      const base = seeds[i % seeds.length];
      const { record, canonicalText } = sealRecord({
        ...base,
        context_id: newContextId(),
        created_at: fromEpochMicros(BigInt(start + i * 1000)),
        inputs: { ...base.inputs, userId: `user-${i}` },
        integrity: { ...base.integrity, record_hash: "", content_hash: "" },
      });
      await fabra.stores.records.append(recordToRow(record, canonicalText));
    }
  } finally {
    await fabra.close();
  }
}

/** CPU time of the whole process (every thread: DuckDB's and the GC's too) in ms since `since`. */
const cpuMs = (since) => {
  const { user, system } = process.cpuUsage(since);
  return (user + system) / 1000;
};

/**
 * Verifies the whole ledger exactly as `fabra context verify --all` does (verifyLedger: worker threads, one per core,
 * for a ledger of 20,000+ rows; `threads` given: that many whatever the size, 0 all on this thread); returns wall and
 * CPU ms (every thread's) and the share of rows workers took.
 */
async function verifyAll(records, count, threads) {
  const cpu = process.cpuUsage();
  const start = now();
  const { checked, failures, inWorkers } = await verifyLedger(records, {}, undefined, threads);
  const ms = now() - start;
  if (failures.length > 0)
    throw new Error(`${failures.length} of ${checked} records failed verification; the bench ledger is broken`);
  if (checked !== count) throw new Error(`verified ${checked} records, expected ${count}`);
  return { ms, cpu: cpuMs(cpu), inWorkers };
}

/** Reads every row as verification does (scanRawRows: the store's scanRaw), without verifying. */
async function scanOnly(records) {
  const start = now();
  let rows = 0;
  for await (const batch of scanRawRows(records)) rows += batch.length;
  return now() - start;
}

function timed(fn) {
  const start = now();
  fn();
  return now() - start;
}

function cpuTimed(fn) {
  const cpu = process.cpuUsage();
  fn();
  return cpuMs(cpu);
}

export default async function run(options) {
  const count = options.quick ? 1000 : 5000;
  const rounds = options.quick ? 5 : 9;
  const dir = tempDir();
  try {
    const path = join(dir.path, "ledger.duckdb");
    const built = now();
    await buildLedger(path, count, options.log);
    options.log(`ledger of ${count} records built in ${((now() - built) / 1000).toFixed(1)} s`);

    const records = await openRecordStore({ stores: { offline: { type: "duckdb", path } } });
    try {
      const texts = [];
      for await (const batch of records.scan(1000)) for (const row of batch) texts.push(row.canonicalText);
      if (texts.length !== count) throw new Error(`the ledger holds ${texts.length} records, expected ${count}`);
      const sha = () => {
        for (const t of texts) rawSha256(t);
      };
      const t = {
        verify: [],
        verifyCpu: [],
        inWorkersDefault: [],
        inWorkers: [],
        pooled: [],
        pooledCpu: [],
        sha: [],
        shaCpu: [],
        scan: [],
        sha2: [],
        shaBytes: [],
        inMemory: [],
        hashOnly: [],
      };

      // 1. End to end, as a long `verify --all` runs: the process holds nothing else of size but the baseline's texts
      //    (data kept for the in-memory passes would make every garbage collection of the verification dearer), and
      //    no collection is forced between passes (after one, the young generation starts small again, which costs
      //    a pass that allocates a buffer per row ~20 % until it has grown back).
      await verifyAll(records, count);
      await verifyAll(records, count, defaultVerifyThreads());
      sha();
      for (let r = 0; r < rounds; r++) {
        const v = await verifyAll(records, count);
        t.verify.push(v.ms);
        t.verifyCpu.push(v.cpu);
        t.inWorkersDefault.push(v.inWorkers / count);
        const pooled = await verifyAll(records, count, defaultVerifyThreads());
        t.pooled.push(pooled.ms);
        t.pooledCpu.push(pooled.cpu);
        t.inWorkers.push(pooled.inWorkers / count);
        t.sha.push(timed(sha));
        t.shaCpu.push(cpuTimed(sha));
        t.scan.push(await scanOnly(records));
      }

      // 2. In memory: the rows as the raw scan hands them over, and what verification must hash for each record (its
      //    hashing text with integrity blanked, and its content, as bytes).
      const buffers = texts.map((text) => Buffer.from(text, "utf8"));
      const bytes = buffers.reduce((n, b) => n + b.length, 0);
      const raw = [];
      for await (const batch of scanRawRows(records)) raw.push(...batch);
      const hashInputs = texts.map((text) => {
        const record = readRecordText(text);
        return [Buffer.from(hashingText(record), "utf8"), Buffer.from(record.content, "utf8")];
      });
      const shaBytes = () => {
        for (const b of buffers) rawSha256(b);
      };
      const hashOnly = () => {
        for (const [text, content] of hashInputs) {
          rawSha256(text);
          rawSha256(content);
        }
      };
      const inMemory = () => {
        for (const row of raw)
          if (!verifyRawLedgerRow(row, {}).ok) throw new Error(`${row.contextId} failed verification`);
      };
      inMemory();
      shaBytes();
      for (let r = 0; r < rounds; r++) {
        collectGarbage();
        t.sha2.push(timed(sha));
        collectGarbage();
        t.shaBytes.push(timed(shaBytes));
        collectGarbage();
        t.inMemory.push(timed(inMemory));
        collectGarbage();
        t.hashOnly.push(timed(hashOnly));
      }

      const perSecond = (ms) => Math.round((count * 1000) / ms);
      // Ratios are medians of per-round ratios: the passes of one round share the machine's state.
      const perRound = (a, b) => median(t[a].map((ms, r) => ms / t[b][r]));
      const ratio = perRound("sha", "verify");
      return {
        name: "verify",
        description: `records verified per second from a DuckDB ledger of ${count} records (verifyLedger, as verify --all) vs raw sha256 of their canonical text (one thread)`,
        metrics: {
          records: count,
          avgRecordBytes: Math.round(bytes / count),
          verifiedPerSecond: perSecond(median(t.verify)),
          // the share of rows worker threads verified by default (none below 20,000 rows)
          shareInWorkersByDefault: round(median(t.inWorkersDefault)),
          // the same ledger with the worker pool forced (one per core), whatever its size
          verifyThreads: defaultVerifyThreads(),
          verifiedPerSecondPooled: perSecond(median(t.pooled)),
          ratioPooled: round(perRound("sha", "pooled")),
          shareInWorkersPooled: round(median(t.inWorkers)),
          cpuMicrosPerRecordVerifyPooled: round((median(t.pooledCpu) * 1000) / count, 2),
          cpuRatioPooled: round(perRound("shaCpu", "pooledCpu")),
          rawSha256PerSecond: perSecond(median(t.sha)),
          rawSha256MBPerSecond: round((bytes / 1e6) * (1000 / median(t.sha)), 1),
          scanRawRowsPerSecond: perSecond(median(t.scan)),
          scanShareEndToEnd: round(perRound("scan", "verify")),
          // CPU time rather than wall time (all threads: DuckDB's and the garbage collector's too), which waiting for a
          // busy machine does not inflate
          cpuMicrosPerRecordVerify: round((median(t.verifyCpu) * 1000) / count, 2),
          cpuMicrosPerRecordSha256: round((median(t.shaCpu) * 1000) / count, 2),
          cpuRatio: round(perRound("shaCpu", "verifyCpu")),
          // the same hash over the text's bytes rather than the string (no UTF-8 encoding on the way): a stricter baseline
          rawSha256BytesPerSecond: perSecond(median(t.shaBytes)),
          verifyInMemoryPerSecond: perSecond(median(t.inMemory)),
          inMemoryRatio: round(perRound("sha2", "inMemory")),
          inMemoryRatioToBytesBaseline: round(perRound("shaBytes", "inMemory")),
          // the two sha256 a verification must compute (hashing text + content, as bytes), as a share of verifying in memory
          hashingShareInMemory: round(perRound("hashOnly", "inMemory")),
        },
        ratio: round(ratio),
        target: `>= ${TARGET}`,
        pass: ratio >= TARGET,
      };
    } finally {
      await records.close();
    }
  } finally {
    dir.cleanup();
  }
}

runIfMain(import.meta.url, run);
