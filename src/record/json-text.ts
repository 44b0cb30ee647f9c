// Lossless JSON text for output (API responses, `--format json`): like JSON.stringify, but a JsonFloat keeps its
// float form (12.0) and a bigint is written as its exact digits instead of throwing.
import { randomUUID } from "node:crypto";
import { formatFloat } from "./canonical.js";
import { JsonFloat } from "./json-value.js";

// A per-process nonce, so no string a user stores can be mistaken for a marker.
const MARK = `\u0000${randomUUID()}:`;
const MARKED = new RegExp(`"\\\\u0000${MARK.slice(1)}([^"]*)"`, "g");

/** JSON text of `value`; `indent` as in JSON.stringify. */
export function toJsonText(value: unknown, indent?: number): string {
  let marked = false;
  const text = JSON.stringify(
    value,
    function (this: Record<string, unknown>, key: string, v: unknown) {
      const original = this[key];
      if (original instanceof JsonFloat) {
        marked = true;
        return MARK + formatFloat(original.value);
      }
      if (typeof original === "bigint") {
        marked = true;
        return MARK + original.toString();
      }
      return v;
    },
    indent,
  );
  return marked ? text.replace(MARKED, "$1") : text;
}
