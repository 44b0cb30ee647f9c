// Verifying ledger rows: one row (its text byte for byte against its hashes, and its indexed columns against the
// text), a row read as bytes, and every row of a store (`verify --all`). The Ledger (ledger.ts) calls these with its
// verify options; benchmarks and contract suites call them directly.
import { toEpochMicros } from "../../record/datetime.js";
import { failRecordHash, verifyStored, type VerifyOptions, type VerifyResult } from "../../record/verify.js";
import type { LedgerRow, RawLedgerRow, RecordStore } from "../../stores/types.js";

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
 * verifyLedgerRow for a row read as bytes (scanRaw). With `consume`, the row's bytes are read for nothing else
 * afterwards, and verification may use them as scratch space (they are left changed when the row verifies).
 */
export function verifyRawLedgerRow(row: RawLedgerRow, opts: VerifyOptions = {}, consume = false): VerifyResult {
  const filedAs = storedContextId(row.canonicalBytes); // read before verification may reuse the bytes
  return checkColumns(
    verifyStored(row.canonicalBytes, row.contextId, opts, { fast: true, scratch: consume }),
    row,
    filedAs,
  );
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
}

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
): Promise<LedgerVerification> {
  const failures: { createdUs: bigint; result: VerifyResult }[] = [];
  let checked = 0;
  for await (const batch of scanRawRows(records)) {
    for (const row of batch) {
      const result = verifyRawLedgerRow(row, opts, true);
      if (!result.ok) failures.push({ createdUs: toEpochMicros(row.createdAt), result });
    }
    checked += batch.length;
    progress?.(checked);
  }
  failures.sort((a, b) => compare(a.createdUs, b.createdUs) || compare(a.result.contextId, b.result.contextId));
  return { checked, failures: failures.map((f) => f.result) };
}

const compare = <T extends string | bigint>(a: T, b: T): number => (a < b ? -1 : a > b ? 1 : 0);
