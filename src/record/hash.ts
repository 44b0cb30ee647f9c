// CRS-001 hashes: content_hash over the content's UTF-8 bytes, record_hash over the record's canonical text
// with the integrity fields that cannot be part of their own hash blanked (spec "Hashes"). Sealing is seal.ts.
import * as crypto from "node:crypto";
import { canonicalJson } from "./canonical.js";
import { JsonFloat, type JsonObject, type JsonValue } from "./json.js";
import type { ContextRecord, FloatField, IntegrityRecord } from "./types.js";

// One-shot hashing (node >= 20.12) skips the Hash object; older nodes take the streaming path. Same bytes, same hash.
const oneShot = (crypto as { hash?: (algorithm: string, data: string | Uint8Array, encoding: "hex") => string }).hash;

/** sha256 of a string's UTF-8 bytes, or of the bytes given, as hex. */
export function sha256Hex(data: string | Uint8Array): string {
  if (oneShot) return oneShot("sha256", data, "hex");
  return typeof data === "string"
    ? crypto.createHash("sha256").update(data, "utf8").digest("hex")
    : crypto.createHash("sha256").update(data).digest("hex");
}

export function contentHash(content: string): string {
  return "sha256:" + sha256Hex(content);
}

const asFloat = (v: FloatField): JsonFloat => (v instanceof JsonFloat ? v : new JsonFloat(v));

/** The record as a kind-preserving JSON value: fields CRS-001 types as float are written as floats. */
export function recordToJsonValue(record: ContextRecord): JsonObject {
  return {
    ...(record as unknown as JsonObject),
    retrieved_items: record.retrieved_items.map((item) => ({
      ...(item as unknown as JsonObject),
      similarity_score: asFloat(item.similarity_score),
    })),
    lineage: {
      ...(record.lineage as unknown as JsonObject),
      assembly_latency_ms: asFloat(record.lineage.assembly_latency_ms),
      estimated_cost_usd: asFloat(record.lineage.estimated_cost_usd),
    },
    integrity: { ...(record.integrity as unknown as JsonObject) },
  };
}

/** The whole record (hashes and signature included) as canonical text: what the ledger stores. */
export function canonicalRecordText(record: ContextRecord): string {
  return canonicalJson(recordToJsonValue(record));
}

/** Integrity as it enters the record hash: record_hash "", no signature, no signing_key_id. */
export function integrityForHashing(integrity: IntegrityRecord | JsonObject): JsonObject {
  const { signing_key_id: _dropped, ...rest } = integrity as JsonObject;
  return { ...rest, record_hash: "", signed_at: null, signature: null };
}

/** The exact text whose sha256 is the record_hash. */
export function hashingText(record: ContextRecord): string {
  const value = recordToJsonValue(record);
  value.integrity = integrityForHashing(value.integrity as JsonObject);
  return canonicalJson(value as JsonValue);
}

export function computeRecordHash(record: ContextRecord): string {
  return "sha256:" + sha256Hex(hashingText(record));
}
