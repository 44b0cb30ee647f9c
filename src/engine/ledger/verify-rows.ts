// Verifying ledger rows: one row (its text byte for byte against its hashes, and its indexed columns against the
// text), a row read as bytes, and every row of a store (`verify --all`). The Ledger (ledger.ts) calls these with its
// verify options; benchmarks and contract suites call them directly.
import { toEpochMicros } from "../../record/datetime.js";
import { failRecordHash, verifyStored, type VerifyOptions, type VerifyResult } from "../../record/verify.js";
import type { LedgerRow, RawLedgerRow, RecordStore } from "../../stores/types.js";
import { leafHash } from "../../tlog/merkle.js";
import { defaultVerifyThreads, type RowBatchAnswer, RowVerifierPool } from "./verify-rows-pool.js";

/**
 * Verifies one ledger row (`verify <id>`, `show`, replay, the HTTP routes): its text against its own hashes, byte for
 * byte, and the indexed record_hash column against the text, so a row altered behind fabra's back fails either way.
 * One row takes the full path, which parses the whole text and refuses a key that appears twice: the record shown
 * must be the record hashed. (`verify --all` takes the fast byte path per row; see verifyLedger.)
 */
export function verifyLedgerRow(row: LedgerRow, opts: VerifyOptions = {}): VerifyResult {
  const filedAs = storedContextId(row.canonicalText);
  return checkColumns(verifyStored(row.canonicalText, row.contextId, opts), row, filedAs);
}

/**
 * verifyLedgerRow for a row read as bytes (scanRaw). `consume` is kept for callers that pass it: verification never
 * changes the bytes.
 */
export function verifyRawLedgerRow(row: RawLedgerRow, opts: VerifyOptions = {}, consume = false): VerifyResult {
  const how = { fast: true, scratch: consume, confirmedFast: false };
  const result = verifyStored(row.canonicalBytes, row.contextId, opts, how);
  // A row the fast path confirmed holds its own id (the canonical scan proved it); any other is read for it.
  return checkColumns(result, row, how.confirmedFast ? row.contextId : storedContextId(row.canonicalBytes));
}

/**
 * The indexed columns must agree with the text: the record_hash column with the recomputed hash, and the row's id
 * with the record's own context_id (a record copied under another id would otherwise verify and be shown as it).
 */
function checkColumns(
  result: VerifyResult,
  row: { contextId: string; recordHash: string },
  idInText: string | null,
): VerifyResult {
  if (!result.ok) return result;
  const actual = result.checks.find((c) => c.name === "record_hash")?.actual;
  if (actual !== undefined && actual !== row.recordHash) return failRecordHash(result, row.recordHash, actual);
  if (idInText !== row.contextId)
    return failRecordHash(
      result,
      row.recordHash,
      `the row ${row.contextId} holds the record ${idInText ?? "(no context_id)"}`,
    );
  return result;
}

const CONTEXT_ID_KEY = ',"context_id":"';

/**
 * The top-level context_id of canonical record text, without parsing it: the first `,"context_id":"` (only
 * assembly, content and context_function come before it, none of which holds that key, and a quote inside a string
 * is always escaped). Text that is not canonical has failed its hash before this matters.
 */
function storedContextId(stored: string | Uint8Array): string | null {
  const text = typeof stored === "string" ? stored : Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
  const at = text.indexOf(CONTEXT_ID_KEY);
  if (at < 0) return null;
  const start = at + CONTEXT_ID_KEY.length;
  const end = text.indexOf('"', start);
  if (end < 0) return null;
  return typeof text === "string" ? text.slice(start, end) : text.toString("latin1", start, end);
}

/** Every row as verification reads it: the store's scanRaw(), or scan() with each text encoded. */
export async function* scanRawRows(records: RecordStore, batchSize = 1000): AsyncIterable<RawLedgerRow[]> {
  if (records.scanRaw) {
    yield* records.scanRaw(batchSize);
    return;
  }
  for await (const batch of records.scan(batchSize)) {
    yield batch.map(({ contextId, createdAt, recordHash, canonicalText }) => ({
      contextId,
      createdAt,
      recordHash,
      canonicalBytes: Buffer.from(canonicalText, "utf8"),
    }));
  }
}

export interface LedgerVerification {
  checked: number;
  /** The rows that failed, oldest first (created_at, then context_id). */
  failures: VerifyResult[];
  /** How many of the rows worker threads verified (the rest were verified on the calling thread). */
  inWorkers: number;
}

export interface VerifyRowsOptions {
  /** Hears the count of rows verified so far, after each batch. */
  progress?: (checked: number) => void;
  /** Hears each record's RFC 6962 leaf hash, SHA-256(0x00 || its stored bytes) (`ledger verify`), in scan order. */
  leaf?: (contextId: string, hash: Uint8Array) => void;
  /**
   * Worker threads that verify while this thread reads the store. By default one per core (verify-rows-pool.ts),
   * for a ledger of at least POOL_AFTER_ROWS rows (a smaller one is done about as soon as they could start); when
   * given, they are used whatever the size; 0 verifies every row on this thread.
   */
  threads?: number;
  /** Wait for the workers to start rather than verify inline meanwhile (tests, benchmarks). */
  awaitWorkers?: boolean;
}

/**
 * The smallest ledger verified with the default pool. A worker costs ~100–200 ms of CPU before it verifies at full
 * speed (starting, loading the verifier, its first ~2,000 rows not yet compiled: measured at load ~14 on 2 cores), so
 * two pay for themselves only past ~20,000 rows of ~25 µs, and only on a machine with a core to spare.
 */
const POOL_AFTER_ROWS = 20_000;

/**
 * Verifies every row of the ledger (`fabra context verify --all`); `progress` hears the count after each batch.
 * Rows take the fast byte path (record/verify/stored-fast.ts), which only confirms a row that is exactly a valid
 * record's canonical text under its own id with matching hashes; any other row takes the full path, so `verify --all`
 * says "verified" only for what `verify <id>` also verifies.
 */
export async function verifyLedger(
  records: RecordStore,
  opts: VerifyOptions = {},
  progress?: (checked: number) => void,
  threads?: number,
): Promise<LedgerVerification> {
  return verifyRows(records, opts, {
    ...(progress ? { progress } : {}),
    ...(threads !== undefined ? { threads } : {}),
  });
}

/**
 * verifyLedger with its options (and the leaf hashes `ledger verify` needs, computed in the same pass). Batches are
 * verified by worker threads when there are some (each runs verifyRawLedgerRow, as this thread does), or here while
 * they start; a batch whose worker fails is verified here. Results are taken in scan order.
 */
export async function verifyRows(
  records: RecordStore,
  opts: VerifyOptions = {},
  options: VerifyRowsOptions = {},
): Promise<LedgerVerification> {
  const { progress, leaf } = options;
  const failures: { createdUs: bigint; result: VerifyResult }[] = [];
  let checked = 0;
  let inWorkers = 0;
  const fail = (row: RawLedgerRow, result: VerifyResult) =>
    failures.push({ createdUs: toEpochMicros(row.createdAt), result });
  const inline = (rows: readonly RawLedgerRow[]) => {
    for (const row of rows) {
      if (leaf) leaf(row.contextId, leafHash(row.canonicalBytes));
      const result = verifyRawLedgerRow(row, opts, true);
      if (!result.ok) fail(row, result);
    }
  };
  /** Batches in scan order; `answer` null: verified here when its turn comes. */
  const queue: { rows: RawLedgerRow[]; answer: Promise<RowBatchAnswer | null> | null }[] = [];
  const settle = async () => {
    const { rows, answer } = queue.shift() as (typeof queue)[number];
    const answered = answer === null ? null : await answer;
    if (answered === null) inline(rows);
    else {
      inWorkers += rows.length;
      for (const [i, result] of answered.failures) fail(rows[i] as RawLedgerRow, result);
      if (leaf && answered.leaves)
        for (let i = 0; i < rows.length; i++)
          leaf((rows[i] as RawLedgerRow).contextId, answered.leaves.subarray(32 * i, 32 * i + 32));
    }
    checked += rows.length;
    progress?.(checked);
  };

  const threads =
    options.threads ?? ((await records.count().catch(() => 0)) >= POOL_AFTER_ROWS ? defaultVerifyThreads() : 0);
  const pool = RowVerifierPool.start(threads, opts);
  try {
    if (options.awaitWorkers) await pool?.started();
    for await (const batch of scanRawRows(records)) {
      const post = () => {
        const answer = pool?.take(batch, leaf !== undefined) ?? null;
        return answer?.catch(() => null) ?? null; // a failed worker: verified here instead
      };
      let answer = post();
      while (answer === null && pool?.working) {
        await settle(); // every worker has its fill: take the oldest answer, and try again
        answer = post();
      }
      queue.push({ rows: batch, answer });
      while (queue.length > 0 && (queue[0] as (typeof queue)[number]).answer === null) await settle();
    }
    while (queue.length > 0) await settle();
  } finally {
    await pool?.close();
  }
  failures.sort((a, b) => compare(a.createdUs, b.createdUs) || compare(a.result.contextId, b.result.contextId));
  return { checked, failures: failures.map((f) => f.result), inWorkers };
}

const compare = <T extends string | bigint>(a: T, b: T): number => (a < b ? -1 : a > b ? 1 : 0);
