// Ledger operations behind the `context` commands and routes: fetch, verify, import, export records.
import { readFile } from "node:fs/promises";
import { FabraError } from "../../errors.js";
import { toEpochMicros } from "../../record/datetime.js";
import { canonicalRecordText } from "../../record/hash.js";
import { normalizeContextId } from "../../record/id.js";
import type { ContextRecord } from "../../record/types.js";
import { failRecordHash, readRecordText, verifyRecord, verifyStored, type VerifyOptions, type VerifyResult } from "../../record/verify.js";
import type { LedgerRow, RawLedgerRow, RecordStore } from "../../stores/types.js";

export async function getLedgerRow(records: RecordStore, id: string): Promise<LedgerRow> {
  const contextId = normalizeContextId(id);
  const row = await records.get(contextId);
  if (!row) {
    throw new FabraError("RECORD_NOT_FOUND", `No context record ${contextId} in the ledger`, {
      hint: "`fabra context list` shows the records there; check FABRA_DUCKDB_PATH / --config point at the right ledger.",
    });
  }
  return row;
}

export function rowToRecord(row: LedgerRow): ContextRecord {
  return readRecordText(row.canonicalText, `ledger row ${row.contextId}`);
}

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
  return checkColumns(verifyStored(row.canonicalBytes, row.contextId, opts, { fast: true, scratch: consume }), row, filedAs);
}

/**
 * The indexed columns must agree with the text: the record_hash column with the recomputed hash, and the row's id
 * with the record's own context_id (a record copied under another id would otherwise verify and be shown as it).
 */
function checkColumns(result: VerifyResult, row: { contextId: string; recordHash: string }, idInText: string | null): VerifyResult {
  if (!result.ok) return result;
  const actual = result.checks.find((c) => c.name === "record_hash")?.actual;
  if (actual !== undefined && actual !== row.recordHash) return failRecordHash(result, row.recordHash, actual);
  if (idInText !== row.contextId) return failRecordHash(result, row.recordHash, `the row ${row.contextId} holds the record ${idInText ?? "(no context_id)"}`);
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
 * Rows take the fast byte path (record/verify/stored-fast.ts), which hashes every byte but reads the top-level content where
 * canonical text has it without parsing the rest, so a row re-sealed with a second top-level `content` key (a forgery
 * that recomputed both hashes, which signatures catch) passes here and fails `verify <id>`, `show` and export.
 */
export async function verifyLedger(records: RecordStore, opts: VerifyOptions = {}, progress?: (checked: number) => void): Promise<LedgerVerification> {
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

/** Reads a record file from anywhere (another implementation, an export) and verifies it. */
export async function readRecordFile(path: string, opts: VerifyOptions = {}): Promise<{ record: ContextRecord; result: VerifyResult }> {
  const text = await readTextFile(path);
  const record = readRecordText(text, path);
  return { record, result: verifyRecord(record, opts) };
}

export async function readTextFile(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new FabraError("FILE_NOT_FOUND", `No such file: ${path}`, { hint: "Check the path." });
    if (code === "EISDIR") throw new FabraError("FILE_UNREADABLE", `${path} is a directory, not a file`, { hint: "Pass a record JSON file." });
    throw new FabraError("FILE_UNREADABLE", `Cannot read ${path}: ${(err as Error).message}`, { hint: "Check the file's permissions." });
  }
}

/** The ledger row of a record; a sealed record hands over its canonical text (sealRecord), so it is not built again. */
export function recordToRow(record: ContextRecord, canonicalText: string = canonicalRecordText(record)): LedgerRow {
  return {
    contextId: record.context_id,
    createdAt: record.created_at,
    contextFunction: record.context_function,
    environment: record.environment,
    tokenCount: record.token_count,
    recordHash: record.integrity.record_hash,
    previousContextId: record.integrity.previous_context_id,
    canonicalText,
  };
}

export interface ImportOutcome {
  file: string;
  contextId: string;
  outcome: "inserted" | "exists";
}

/**
 * Imports record files: every file is read and verified, and checked against the ledger (and the other files) for
 * an id already there with another record_hash, before anything is written; if any file fails, nothing is written
 * and the error names the file and the reason.
 */
export async function importRecordFiles(records: RecordStore, files: string[], opts: VerifyOptions = {}): Promise<ImportOutcome[]> {
  const checked: { file: string; record: ContextRecord }[] = [];
  for (const file of files) {
    const { record, result } = await readRecordFile(file, opts);
    if (!result.ok) {
      throw new FabraError("VERIFICATION_FAILED", `${file}: ${result.failed?.name} mismatch (expected ${result.failed?.expected}, actual ${result.failed?.actual}); nothing was imported`, {
        hint: "The record was altered after it was written; import the original file.",
      });
    }
    normalizeContextId(record.context_id);
    checked.push({ file, record });
  }
  const seen = new Map<string, { file: string; hash: string }>();
  for (const { file, record } of checked) {
    const id = record.context_id;
    const hash = record.integrity.record_hash;
    const earlier = seen.get(id);
    const stored = earlier ? null : await records.get(id);
    const other = earlier ? { hash: earlier.hash, where: earlier.file } : stored ? { hash: stored.recordHash, where: "the ledger" } : null;
    if (other && other.hash !== hash) {
      throw new FabraError("RECORD_CONFLICT", `${file}: record ${id} is already in ${other.where} with record_hash ${other.hash}, not ${hash}; nothing was imported`, {
        hint: "Records are immutable: an id is written once. Leave that file out to import the others.",
        details: { contextId: id, storedHash: other.hash, newHash: hash },
      });
    }
    seen.set(id, { file, hash });
  }
  const outcomes: ImportOutcome[] = [];
  for (const { file, record } of checked) {
    outcomes.push({ file, contextId: record.context_id, outcome: await records.append(recordToRow(record)) });
  }
  return outcomes;
}
