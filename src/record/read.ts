// Reading record text: JSON (lossless) → checked, normalized ContextRecord.
import { parseJson } from "./json.js";
import { recordFromJson } from "./schema.js";
import type { ContextRecord } from "./types.js";

/**
 * Parses record text (canonical or pretty-printed); throws INVALID_JSON / INVALID_RECORD naming where. A key twice
 * in one object is refused: the record shown must be the record hashed.
 */
export function readRecordText(text: string, source = "input"): ContextRecord {
  return recordFromJson(parseJson(text, source, { uniqueKeys: true }));
}
