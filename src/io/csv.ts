// Minimal RFC 4180 CSV: parsing small files (entity lists) and writing rows (training data to stdout or a file).
import { FabraError } from "../errors.js";
import { encodeValue, toJsonValue } from "../engine/features/values.js";

/** Parses CSV text into rows of fields; quoted fields may hold commas, quotes ("") and newlines. */
export function parseCsv(text: string, source: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let quoted = false;
  let line = 1;
  while (i < text.length) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else {
        if (c === "\n") line++;
        field += c;
      }
      i++;
      continue;
    }
    if (c === '"' && field === "") quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      if (c === "\r" && text[i + 1] === "\n") i++;
      line++;
    } else field += c;
    i++;
  }
  if (quoted) throw new FabraError("FILE_UNREADABLE", `${source}: a quoted field opened before line ${line} is never closed`, { hint: "Close the quote with \"." });
  if (field !== "" || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** One CSV field: values as text (objects and arrays as canonical JSON), quoted when needed; null/undefined as empty. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return "";
  let text: string;
  if (typeof value === "string") text = value;
  else if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") text = String(value);
  else if (value instanceof Date) text = value.toISOString();
  else text = encodeValue(toJsonValue(value, "a CSV field")); // JSON that keeps integers beyond 2^53 exact
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text;
}

/** CSV text for rows with the given columns (header first), lines ending in \n. */
export function formatCsv(columns: string[], rows: Record<string, unknown>[]): string {
  const lines = [columns.map(csvField).join(",")];
  for (const row of rows) lines.push(columns.map((c) => csvField(row[c])).join(","));
  return lines.join("\n") + "\n";
}
