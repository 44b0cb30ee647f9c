// What a verification says: each check with the expected (stored) and actual (recomputed) value, and the first
// that failed. Every verification path (verify.ts and its private parts here) builds its result here, so equal
// inputs give equal results.
import { signatureMatches, type SigningKey } from "../sign.js";

export type CheckName = "content_hash" | "record_hash" | "signature";

export interface VerifyCheck {
  name: CheckName;
  ok: boolean;
  /** What the record claims. */
  expected: string;
  /** What recomputing gives. */
  actual: string;
  /** Set when the check could not run (e.g. no signing key configured). */
  skipped?: string;
}

export interface VerifyResult {
  ok: boolean;
  contextId: string;
  checks: VerifyCheck[];
  /** The first failing check, or null. */
  failed: VerifyCheck | null;
}

export interface VerifyOptions {
  /** Checks `integrity.signature` when given. */
  signingKey?: SigningKey | null;
  /** A record without a signature fails. */
  requireSignature?: boolean;
}

/** The integrity fields a verification reads. */
interface IntegrityFields {
  record_hash: string;
  content_hash: string;
  signature: string | null;
  signing_key_id?: string | null;
}

export function verifyResult(
  contextId: string,
  integrity: IntegrityFields,
  actualContentHash: string,
  actualRecordHash: string,
  opts: VerifyOptions,
): VerifyResult {
  const checks: VerifyCheck[] = [
    {
      name: "content_hash",
      ok: integrity.content_hash === actualContentHash,
      expected: integrity.content_hash,
      actual: actualContentHash,
    },
    {
      name: "record_hash",
      ok: integrity.record_hash === actualRecordHash,
      expected: integrity.record_hash,
      actual: actualRecordHash,
    },
  ];
  const signature = integrity.signature;
  if (signature !== null || opts.requireSignature)
    checks.push(signatureCheck(signature, integrity.signing_key_id ?? null, actualRecordHash, opts));
  const failed = checks.find((c) => !c.ok) ?? null;
  return { ok: failed === null, contextId, checks, failed };
}

/**
 * The signature check. signing_key_id is outside the record hash (CRS-001), so a signature that cannot be checked
 * never passes when checking was asked for: with signatures required, or with a key configured (a record naming
 * another key could have been re-sealed by anyone and given a foreign key id). With no key and signatures optional,
 * the check is skipped and says so; the hashes are still verified.
 */
function signatureCheck(
  signature: string | null,
  keyId: string | null,
  actualRecordHash: string,
  opts: VerifyOptions,
): VerifyCheck {
  if (signature === null) return { name: "signature", ok: false, expected: "a signature", actual: "none" };
  const key = opts.signingKey;
  if (!key) {
    const reason = "no signing key configured (FABRA_SIGNING_KEY)";
    return opts.requireSignature
      ? { name: "signature", ok: false, expected: signature, actual: `(cannot be checked: ${reason})` }
      : { name: "signature", ok: true, expected: signature, actual: "", skipped: reason };
  }
  if (keyId !== null && keyId !== key.id) {
    return {
      name: "signature",
      ok: false,
      expected: signature,
      actual: `(signed with key ${keyId}; the configured key is ${key.id}, so it cannot be checked)`,
    };
  }
  const ok = signatureMatches(actualRecordHash, signature, key);
  return { name: "signature", ok, expected: signature, actual: ok ? signature : "(does not match the key)" };
}

/** The result with its record_hash check replaced by a failed one (expected, actual). */
export function failRecordHash(result: VerifyResult, expected: string, actual: string): VerifyResult {
  const failed: VerifyCheck = { name: "record_hash", ok: false, expected, actual };
  const checks = result.checks.map((c) => (c.name === "record_hash" ? failed : c));
  return { ...result, ok: false, checks, failed: checks.find((c) => !c.ok) ?? failed };
}
