// What the fast byte path (stored-fast.ts) must establish before it may confirm a row: the stored text is exactly
// the CRS-001 canonical text of a valid record filed under the row's id. Read with the native JSON.parse (fast, and
// it never overflows the stack), checked by the same schema the full path uses, no deeper than the full path reads,
// and serialized back: equal text rules out a key twice (JSON.parse keeps one, the text had both), leading or
// trailing bytes, whitespace, NaN, out-of-range or inexact numbers (1e400, big integers, 12.0 read as 12), and any
// other spelling. Whatever does not pass goes to the full path (stored-full.ts), which decides.
import { canonicalRecordText } from "../hash.js";
import { MAX_JSON_DEPTH, type JsonValue } from "../json.js";
import { recordFromJson } from "../schema.js";
import type { ContextRecord } from "../types.js";

/** Whether no object or array in `value` lies deeper than `limit` (the top-level record is depth 1, as the reader counts). */
function within(value: unknown, limit: number): boolean {
  if (typeof value !== "object" || value === null) return true;
  if (limit === 0) return false;
  if (Array.isArray(value)) {
    for (const item of value) if (!within(item, limit - 1)) return false;
    return true;
  }
  for (const key in value) if (!within((value as Record<string, unknown>)[key], limit - 1)) return false;
  return true;
}

/**
 * The record, when `text` is exactly its canonical form and it is filed under `contextId`; otherwise null (never
 * throws: the full path reports why).
 */
export function canonicalRecordAt(text: string, contextId: string): ContextRecord | null {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
    if (!within(value, MAX_JSON_DEPTH)) return null;
    const record = recordFromJson(value as JsonValue);
    if (record.context_id !== contextId) return null;
    return canonicalRecordText(record) === text ? record : null;
  } catch {
    return null;
  }
}
