// Comparing two records as evidence: each is verified first, then diffed (src/record/diff.ts). A record that fails
// verification is still diffed, but the result says so, so nobody mistakes an altered record for evidence.
import { diffRecords, type RecordDiff } from "../../record/diff.js";
import type { ContextRecord } from "../../record/types.js";
import type { VerifyOptions, VerifyResult } from "../../record/verify.js";
import type { RecordStore } from "../../stores/types.js";
import { getLedgerRow, readRecordFile, rowToRecord, verifyLedgerRow } from "./ledger.js";

export interface VerifiedRecord {
  record: ContextRecord;
  verification: VerifyResult;
}

export interface Comparison {
  diff: RecordDiff;
  verification: { a: VerifyResult; b: VerifyResult };
  /** Both records verified. */
  verified: boolean;
}

/** A ledger record with its verification. */
export async function loadVerified(records: RecordStore, id: string, opts: VerifyOptions = {}): Promise<VerifiedRecord> {
  const row = await getLedgerRow(records, id);
  return { record: rowToRecord(row), verification: verifyLedgerRow(row, opts) };
}

/** A record file from anywhere (an export, another implementation) with its verification. */
export async function loadVerifiedFile(path: string, opts: VerifyOptions = {}): Promise<VerifiedRecord> {
  const { record, result } = await readRecordFile(path, opts);
  return { record, verification: result };
}

export function compareRecords(a: VerifiedRecord, b: VerifiedRecord): Comparison {
  return {
    diff: diffRecords(a.record, b.record),
    verification: { a: a.verification, b: b.verification },
    verified: a.verification.ok && b.verification.ok,
  };
}
