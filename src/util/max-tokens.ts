// A token budget to try (`fabra context explain --max-tokens`, the viewer's explain form, POST
// /v1/contexts/:id/explain): one parser and one error message for the flag's text, the form field and the JSON body.
import { FabraError } from "../errors.js";

/**
 * A whole number ≥ 1, or null for no budget. As `text` (a flag, a form field): plain digits (no `1e3`, `0x10`,
 * signs or spaces) or `none`; as `json` (a body, an API call): a number or null. `name` is how the caller calls it
 * (`--max-tokens`, `max_tokens`), for the error.
 */
export function parseMaxTokens(value: unknown, name: string, from: "text" | "json" = "text"): number | null {
  if (from === "text" ? value === "none" : value === null) return null;
  const n =
    from === "json"
      ? typeof value === "number"
        ? value
        : Number.NaN
      : typeof value === "string" && /^\d+$/.test(value)
        ? Number(value)
        : Number.NaN;
  if (Number.isSafeInteger(n) && n >= 1) return n;
  throw new FabraError("INVALID_ARGUMENT", `${name} ${shown(value)} is not a whole number ≥ 1, or none for no budget`, {
    hint: `e.g. ${name} 4000 (the budget to try), or ${name} ${from === "text" ? "none" : "null"}.`,
  });
}

function shown(value: unknown): string {
  if (value === undefined) return "(missing)";
  if (typeof value === "bigint") return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
