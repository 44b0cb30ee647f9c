// CRS-001 record core: pure functions, no I/O. Exported as `fabra/record`.
export * from "./types.js";
export { JsonFloat, float, isJsonObject, toPlain, parseJson, toJsonText } from "./json.js";
export type { JsonValue, JsonObject } from "./json.js";
export { canonicalJson } from "./canonical.js";
export { normalizeDatetime, toDatetime, nowDatetime, datetimeToMs } from "./datetime.js";
export {
  sha256Hex,
  contentHash,
  computeRecordHash,
  hashingText,
  canonicalRecordText,
  recordToJsonValue,
} from "./hash.js";
export { sealRecord } from "./seal.js";
export type { SealedRecord, SealOptions } from "./seal.js";
export { recordFromJson } from "./schema.js";
export { readRecordText, verifyRecord, verifyStored } from "./verify.js";
export type { VerifyResult, VerifyCheck, VerifyOptions, CheckName } from "./verify.js";
export { newContextId, normalizeContextId, contextIdTime } from "./id.js";
export { signRecord, parseSigningKey, signatureMatches, computeSignature } from "./sign.js";
export type { SigningKey, SignatureMode } from "./sign.js";
export { diffRecords } from "./diff.js";
export type { RecordDiff, RecordRef, FeatureChange, ChunkChange, ContentDiff } from "./diff.js";
