// CRS-001 record core: pure functions, no I/O. Exported as `fabra/record`.
export * from "./types.js";
export * from "./json-value.js";
export { parseJson } from "./json.js";
export { canonicalJson, formatFloat, quoteString, compareCodePoints } from "./canonical.js";
export { normalizeDatetime, toDatetime, nowDatetime, datetimeToMs, parseInstant, formatInstant } from "./datetime.js";
export { sha256Hex, contentHash, computeRecordHash, hashingText, canonicalRecordText, sealRecord, recordToJsonValue } from "./hash.js";
export { recordFromJson } from "./schema.js";
export { verifyRecord, verifyRecordText, verifyCanonicalText, verifyCanonicalBytes } from "./verify.js";
export type { VerifyResult, VerifyCheck, VerifyOptions, CheckName } from "./verify.js";
export { newContextId, normalizeContextId, contextIdTime } from "./id.js";
export { signRecord, parseSigningKey, signatureMatches, computeSignature } from "./sign.js";
export type { SigningKey, SignatureMode } from "./sign.js";
export { readRecordText } from "./read.js";
export { toJsonText } from "./json-text.js";
export { diffRecords } from "./diff.js";
export type { RecordDiff, RecordRef, FeatureChange, ChunkChange, ContentDiff } from "./diff.js";
