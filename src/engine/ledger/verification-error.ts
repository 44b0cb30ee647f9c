// The error for a record that fails verification where an intact one is needed (import, export, replay, an append
// over HTTP): one message and hint per kind of failure, so an unsigned record is never called "altered".
import { FabraError } from "../../errors.js";
import type { VerifyResult } from "../../record/verify.js";

/**
 * `where` names the record (a file, an id); `consequence` says what did not happen ("nothing was imported").
 * Checks run in order (content_hash, record_hash, signature), so a signature failure means the hashes matched.
 */
export function verificationError(result: VerifyResult, where: string, consequence: string): FabraError {
  const f = result.failed;
  const details = {
    contextId: result.contextId,
    check: f?.name ?? null,
    expected: f?.expected ?? null,
    actual: f?.actual ?? null,
  };
  if (f?.name === "signature" && f.actual === "none") {
    return new FabraError(
      "VERIFICATION_FAILED",
      `${where}: the record is not signed, and signatures are required (a signing key is configured, or signing mode required); ${consequence}`,
      {
        hint: "Its hashes match, but this ledger accepts only signed records (a stripped signature is not a pass). Use a record written with FABRA_SIGNING_KEY set; to accept unsigned records from before signing began, set signing.acceptUnsignedBefore (or FABRA_ACCEPT_UNSIGNED_BEFORE) to the first signed record's id or a time.",
        details,
      },
    );
  }
  if (f?.name === "signature") {
    return new FabraError(
      "VERIFICATION_FAILED",
      `${where}: signature check failed (expected ${f.expected}, actual ${f.actual}); ${consequence}`,
      {
        hint: "Its hashes match, but the signature does not check out with any configured key: add the key it was signed with (FABRA_SIGNING_KEY, or FABRA_SIGNING_KEYS=id:key,... for several).",
        details,
      },
    );
  }
  return new FabraError(
    "VERIFICATION_FAILED",
    `${where}: ${f?.name} mismatch (expected ${f?.expected}, actual ${f?.actual}); ${consequence}`,
    {
      hint: "The record was altered after it was written; use the original.",
      details,
    },
  );
}
