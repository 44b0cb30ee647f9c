// Comparing two records as evidence: each is verified first, then diffed (src/record/diff.ts). A record that fails
// verification is still diffed, but the result says so, so nobody mistakes an altered record for evidence.
import { diffRecords, type RecordDiff } from "../../record/diff.js";
import type { ContextRecord } from "../../record/types.js";
import type { VerifyResult } from "../../record/verify.js";

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

export function compareRecords(a: VerifiedRecord, b: VerifiedRecord): Comparison {
  return {
    diff: diffRecords(a.record, b.record),
    verification: { a: a.verification, b: b.verification },
    verified: a.verification.ok && b.verification.ok,
  };
}
