// Optional record signing, compatible with the reference implementation: HMAC-SHA256 over the UTF-8 text
// `fabra:crs-001:` + record_hash, stored as `hmac-sha256:<hex>`. A signature attests the hash, never changes it.
import { createHmac, timingSafeEqual } from "node:crypto";
import { FabraError } from "../errors.js";
import { nowDatetime } from "./datetime.js";
import type { ContextRecord } from "./types.js";

export interface SigningKey {
  id: string;
  secret: Buffer;
}

export type SignatureMode = "off" | "optional" | "required";

/** Pairs of hex digits, whitespace allowed between pairs (what Python's bytes.fromhex accepts). */
const HEX_PAIRS = /^\s*(?:[0-9a-fA-F]{2}\s*)+$/;

/**
 * Decodes a key as the Python implementation does: the text stripped of surrounding whitespace first (a mounted
 * secret's trailing newline), then a `base64:` or `hex:` prefix decoded (`hex:00 ff`: spaces between byte pairs, as
 * bytes.fromhex allows), anything else raw UTF-8. `where` names the setting in errors.
 */
export function parseSigningKey(text: string, id = "default", where = "FABRA_SIGNING_KEY"): SigningKey {
  const value = text.trim();
  let secret: Buffer;
  if (value.startsWith("base64:")) secret = Buffer.from(value.slice(7), "base64");
  else if (value.startsWith("hex:")) {
    const hex = value.slice(4);
    if (!HEX_PAIRS.test(hex)) {
      throw new FabraError("INVALID_CONFIG", `${where} has a hex: prefix but is not valid hex`, {
        hint: "Use hex:<pairs of hex digits, spaces allowed between pairs>, base64:<data>, or a raw string.",
      });
    }
    secret = Buffer.from(hex.replace(/\s+/g, ""), "hex");
  } else secret = Buffer.from(value, "utf8");
  if (secret.length === 0) {
    throw new FabraError("INVALID_CONFIG", `The signing key in ${where} is empty`, {
      hint: `Set ${where} to a non-empty secret.`,
    });
  }
  return { id: id.trim() || "default", secret };
}

export function computeSignature(recordHash: string, key: SigningKey): string {
  return (
    "hmac-sha256:" +
    createHmac("sha256", key.secret)
      .update("fabra:crs-001:" + recordHash, "utf8")
      .digest("hex")
  );
}

/** Returns the record signed with `key` (record_hash unchanged). */
export function signRecord(record: ContextRecord, key: SigningKey, signedAt: string = nowDatetime()): ContextRecord {
  return {
    ...record,
    integrity: {
      ...record.integrity,
      signed_at: signedAt,
      signing_key_id: key.id,
      signature: computeSignature(record.integrity.record_hash, key),
    },
  };
}

/**
 * The configured key a signature verifies under, or null. Every key is tried whatever `signing_key_id` says (that
 * field is outside the record hash, as the Python implementation reads it); the key it names is tried first.
 */
export function matchingKey(
  recordHash: string,
  signature: string,
  keys: readonly SigningKey[],
  namedId: string | null = null,
): SigningKey | null {
  const named = keys.filter((k) => k.id === namedId);
  for (const key of [...named, ...keys.filter((k) => k.id !== namedId)]) {
    if (signatureMatches(recordHash, signature, key)) return key;
  }
  return null;
}

/** Constant-time comparison of a stored signature against the one `key` gives for `recordHash`. */
export function signatureMatches(recordHash: string, signature: string, key: SigningKey): boolean {
  const expected = Buffer.from(computeSignature(recordHash, key));
  const actual = Buffer.from(signature);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
