// The wire shapes of verification: one record's checks (GET /v1/contexts/:id/verify, `context verify --json`) and
// a comparison of two records (POST /v1/contexts/diff, `context diff --json`), each with its inverse.
import { z } from "zod";
import type { RecordDiff } from "../record/diff.js";
import type { VerifyCheck, VerifyResult } from "../record/verify.js";
import type { Comparison } from "../engine/ledger/compare.js";

export const verifyCheckShape = z.object({
  name: z.enum(["content_hash", "record_hash", "signature"]),
  ok: z.boolean(),
  expected: z.string(),
  actual: z.string(),
  skipped: z.string().optional(),
  /** The signature check: the id of the configured key the signature verified under. */
  key_id: z.string().optional(),
});

export const verificationShape = z.object({
  context_id: z.string(),
  ok: z.boolean(),
  checks: z.array(verifyCheckShape),
  failed: verifyCheckShape.nullable(),
});
export type VerificationJson = z.output<typeof verificationShape>;

/** A check on the wire: `keyId` as `key_id`. */
function checkJson(c: VerifyCheck): z.output<typeof verifyCheckShape> {
  const { keyId, ...rest } = c;
  return keyId === undefined ? rest : { ...rest, key_id: keyId };
}

export function verificationJson(v: VerifyResult): VerificationJson {
  return {
    context_id: v.contextId,
    ok: v.ok,
    checks: v.checks.map(checkJson),
    failed: v.failed === null ? null : checkJson(v.failed),
  };
}

export function verificationFromJson(json: VerificationJson): VerifyResult {
  return {
    contextId: json.context_id,
    ok: json.ok,
    checks: json.checks.map(check),
    failed: json.failed === null ? null : check(json.failed),
  };
}

/** A check without absent `skipped` / `keyId` keys, as the verifier builds it. */
function check(c: z.output<typeof verifyCheckShape>): VerifyCheck {
  const { skipped, key_id, ...rest } = c;
  return {
    ...rest,
    ...(skipped === undefined ? {} : { skipped }),
    ...(key_id === undefined ? {} : { keyId: key_id }),
  };
}

export const comparisonShape = z.object({
  verified: z.boolean(),
  verification: z.object({ a: verificationShape, b: verificationShape }),
  diff: z.custom<RecordDiff>(
    (v) => typeof v === "object" && v !== null && typeof (v as { summary?: unknown }).summary === "string",
    "a record diff",
  ),
});
export type ComparisonJson = z.output<typeof comparisonShape>;

export function comparisonJson(c: Comparison): ComparisonJson {
  return {
    verified: c.verified,
    verification: { a: verificationJson(c.verification.a), b: verificationJson(c.verification.b) },
    diff: c.diff,
  };
}

export function comparisonFromJson(json: ComparisonJson): Comparison {
  return {
    verified: json.verified,
    verification: { a: verificationFromJson(json.verification.a), b: verificationFromJson(json.verification.b) },
    diff: json.diff,
  };
}
