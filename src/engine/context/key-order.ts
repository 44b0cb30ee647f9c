// Records keep feature values in canonical form (CRS-001 sorts object keys), so a recorded replay would hand the
// context function `{ name, tier }` for a value it first saw as `{ tier, name }`; a function that prints the object
// then "changes" for no reason of its own. The original content shows the order the function saw: keys are put
// back in the order they first appear there. What the content does not show cannot matter to it.
import { isJsonObject, setMember, type JsonObject, type JsonValue } from "../../record/json.js";

/** `value` with every object's keys (deeply) in the order they first appear in `text`; the rest after, as they were. */
export function keyOrderFrom(text: string, value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map((v) => keyOrderFrom(text, v));
  if (!isJsonObject(value)) return value;
  const keys = Object.keys(value);
  const position = new Map(keys.map((k) => [k, firstMention(text, k)]));
  const ordered = [...keys].sort((a, b) => (position.get(a) as number) - (position.get(b) as number));
  const out: JsonObject = {};
  for (const key of ordered) setMember(out, key, keyOrderFrom(text, value[key] as JsonValue));
  return out;
}

/** Where `key` first shows in `text`: as a JSON member name, else as written; never → after everything. */
function firstMention(text: string, key: string): number {
  const quoted = text.indexOf(`${JSON.stringify(key)}:`);
  if (quoted !== -1) return quoted;
  const bare = key === "" ? -1 : text.indexOf(key);
  return bare === -1 ? Number.POSITIVE_INFINITY : bare;
}

/** Whether two texts differ only by the order of their parts: the same characters, as many times each. */
export function samePartsReordered(a: string, b: string): boolean {
  if (a === b || a.length !== b.length) return false;
  const counts = new Map<number, number>();
  for (let i = 0; i < a.length; i++) counts.set(a.charCodeAt(i), (counts.get(a.charCodeAt(i)) ?? 0) + 1);
  for (let i = 0; i < b.length; i++) {
    const left = (counts.get(b.charCodeAt(i)) ?? 0) - 1;
    if (left < 0) return false;
    counts.set(b.charCodeAt(i), left);
  }
  return true;
}
