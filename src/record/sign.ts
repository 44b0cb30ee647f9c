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

/** Decodes a key: `base64:` and `hex:` prefixes are decoded, anything else is raw UTF-8. */
export function parseSigningKey(text: string, id = "default"): SigningKey {
  let secret: Buffer;
  if (text.startsWith("base64:")) secret = Buffer.from(text.slice(7), "base64");
  else if (text.startsWith("hex:")) {
    const hex = text.slice(4);
    if (!/^(?:[0-9a-fA-F]{2})+$/.test(hex)) {
      throw new FabraError("INVALID_CONFIG", "FABRA_SIGNING_KEY has a hex: prefix but is not valid hex", {
        hint: "Use hex:<even number of hex digits>, base64:<data>, or a raw string.",
      });
    }
    secret = Buffer.from(hex, "hex");
  } else secret = Buffer.from(text, "utf8");
  if (secret.length === 0) {
    throw new FabraError("INVALID_CONFIG", "The signing key is empty", {
      hint: "Set FABRA_SIGNING_KEY to a non-empty secret.",
    });
  }
  return { id, secret };
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

/** Constant-time comparison of a stored signature against the one `key` gives for `recordHash`. */
export function signatureMatches(recordHash: string, signature: string, key: SigningKey): boolean {
  const expected = Buffer.from(computeSignature(recordHash, key));
  const actual = Buffer.from(signature);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
