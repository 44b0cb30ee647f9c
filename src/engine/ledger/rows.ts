// A record and its ledger row: the row a record is stored as (indexed columns + canonical text), and the record a
// row holds (its text read back, strictly).
import { normalizeDatetime } from "../../record/datetime.js";
import { canonicalRecordText } from "../../record/hash.js";
import { readRecordText } from "../../record/verify.js";
import type { ContextRecord } from "../../record/types.js";
import type { LedgerRow } from "../../stores/types.js";

export function recordToRow(record: ContextRecord, canonicalText: string = canonicalRecordText(record)): LedgerRow {
  return {
    contextId: record.context_id,
    // The indexed column is UTC: a record from another writer may carry an offset, or none (naive is read as UTC).
    createdAt: normalizeDatetime(record.created_at),
    contextFunction: record.context_function,
    environment: record.environment,
    // An indexed column (BIGINT): an integer of any size (CRS-001 rule 3) is clamped to the safe range there; the
    // record text keeps it exact.
    tokenCount: Math.max(Number.MIN_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, Number(record.token_count))),
    recordHash: record.integrity.record_hash,
    previousContextId: record.integrity.previous_context_id,
    canonicalText,
  };
}

export function rowToRecord(row: LedgerRow): ContextRecord {
  return readRecordText(row.canonicalText, `ledger row ${row.contextId}`);
}
