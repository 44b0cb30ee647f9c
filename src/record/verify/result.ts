// What a verification says: each check with the expected (stored) and actual (recomputed) value, and the first
// that failed. Every verification path (verify.ts and its private parts here) builds its result here, so equal
// inputs give equal results.
import { matchingKey, type SigningKey } from "../sign.js";
import { acceptsUnsigned, type UnsignedCutoff } from "../unsigned-cutoff.js";

export type CheckName = "content_hash" | "record_hash" | "signature";

export interface VerifyCheck {
  name: CheckName;
  ok: boolean;
  /** What the record claims. */
  expected: string;
  /** What recomputing gives. */
  actual: string;
  /** Set when the check could not run (e.g. no signing key configured), or an unsigned record was accepted. */
  skipped?: string;
  /** The signature check: the id of the configured key the signature verified under. */
  keyId?: string;
}

export interface VerifyResult {
  ok: boolean;
  contextId: string;
  checks: VerifyCheck[];
  /** The first failing check, or null. */
  failed: VerifyCheck | null;
}

export interface VerifyOptions {
  /** Checks `integrity.signature` when given (with `signingKeys`: any of them may match). */
  signingKey?: SigningKey | null;
  /** More verification keys by id (key rotation); a signature passes when it verifies under any configured key. */
  signingKeys?: readonly SigningKey[];
  /** A record without a signature fails (unless `acceptUnsigned` takes it). */
  requireSignature?: boolean;
  /** The unsigned records the operator accepts although signatures are required. */
  acceptUnsigned?: UnsignedCutoff | null;
}

/** Every key a verification may use: `signingKey` and `signingKeys`, each once. */
export function verificationKeys(opts: VerifyOptions): SigningKey[] {
  const keys = [...(opts.signingKey ? [opts.signingKey] : []), ...(opts.signingKeys ?? [])];
  return keys.filter((k, i) => keys.findIndex((o) => o.id === k.id && o.secret.equals(k.secret)) === i);
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
    checks.push(signatureCheck(contextId, signature, integrity.signing_key_id ?? null, actualRecordHash, opts));
  const failed = checks.find((c) => !c.ok) ?? null;
  return { ok: failed === null, contextId, checks, failed };
}

/**
 * The signature check. A signature is checked with every configured key whatever signing_key_id says (that field is
 * outside the record hash, as the Python implementation reads it): it passes when it verifies under one of them, and
 * the check names that key. A signature that cannot be checked never passes when signatures are required. With no
 * key and signatures optional, the check is skipped and says so; the hashes are still verified. An unsigned record
 * fails when signatures are required, unless the operator's cutoff accepts it (the check says so).
 */
function signatureCheck(
  contextId: string,
  signature: string | null,
  keyId: string | null,
  actualRecordHash: string,
  opts: VerifyOptions,
): VerifyCheck {
  if (signature === null) {
    if (acceptsUnsigned(opts.acceptUnsigned, contextId)) {
      const text = opts.acceptUnsigned?.text ?? "";
      return {
        name: "signature",
        ok: true,
        expected: "a signature",
        actual: "none",
        skipped: `unsigned, accepted: filed before ${text} (signing.acceptUnsignedBefore / FABRA_ACCEPT_UNSIGNED_BEFORE)`,
      };
    }
    return { name: "signature", ok: false, expected: "a signature", actual: "none" };
  }
  const keys = verificationKeys(opts);
  if (keys.length === 0) {
    const reason = "no signing key configured (FABRA_SIGNING_KEY)";
    return opts.requireSignature
      ? { name: "signature", ok: false, expected: signature, actual: `(cannot be checked: ${reason})` }
      : { name: "signature", ok: true, expected: signature, actual: "", skipped: reason };
  }
  const key = matchingKey(actualRecordHash, signature, keys, keyId);
  if (key) return { name: "signature", ok: true, expected: signature, actual: signature, keyId: key.id };
  const ids = keys.map((k) => k.id).join(", ");
  return {
    name: "signature",
    ok: false,
    expected: signature,
    actual: `(does not match any configured key: ${ids}${keyId !== null ? `; the record names key ${keyId}` : ""})`,
  };
}

/** The result with its record_hash check replaced by a failed one (expected, actual). */
export function failRecordHash(result: VerifyResult, expected: string, actual: string): VerifyResult {
  const failed: VerifyCheck = { name: "record_hash", ok: false, expected, actual };
  const checks = result.checks.map((c) => (c.name === "record_hash" ? failed : c));
  return { ...result, ok: false, checks, failed: checks.find((c) => !c.ok) ?? failed };
}
