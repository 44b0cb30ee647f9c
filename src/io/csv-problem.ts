// The first malformed row of a CSV file (RFC 4180: comma-separated, fields with commas, quotes or line breaks in
// double quotes, quotes doubled): its line and what is wrong. Run when DuckDB refuses a file, to say where.
import { open, readFile } from "node:fs/promises";

/** Where a CSV file breaks the format: the 1-based line, and the problem in words. */
export interface CsvProblem {
  line: number;
  problem: string;
}

/** The first problem in CSV `text` (header row first), or null when every row is well formed. */
export function findCsvProblem(text: string): CsvProblem | null {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let line = 1;
  let recordLine = 1;
  let fields = 1;
  let headerFields = -1;
  let fieldStart = true;
  let i = 0;
  const endRecord = (): CsvProblem | null => {
    if (headerFields === -1) headerFields = fields;
    else if (fields !== headerFields) {
      return {
        line: recordLine,
        problem: `it has ${fields} field${fields === 1 ? "" : "s"}, the header has ${headerFields}`,
      };
    }
    return null;
  };
  while (i < body.length) {
    const ch = body[i];
    if (fieldStart && ch === '"') {
      const opened = line;
      i++;
      for (;;) {
        if (i >= body.length) return { line: opened, problem: 'a quoted field is never closed (a missing ")' };
        if (body[i] === '"') {
          if (body[i + 1] === '"') i += 2;
          else break;
        } else {
          if (body[i] === "\n") line++;
          i++;
        }
      }
      i++; // the closing quote
      const next = body[i];
      if (next !== undefined && next !== "," && next !== "\n" && next !== "\r") {
        return {
          line,
          problem: 'text follows a quoted field\'s closing quote (a quote inside a field is doubled: "")',
        };
      }
      fieldStart = false;
      continue;
    }
    if (ch === ",") {
      fields++;
      fieldStart = true;
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && body[i + 1] === "\n") i++;
      if (!(fields === 1 && fieldStart)) {
        const problem = endRecord();
        if (problem) return problem;
      }
      line++;
      recordLine = line;
      fields = 1;
      fieldStart = true;
    } else if (ch === '"') {
      return { line, problem: 'a quote inside an unquoted field (quote the field and double the quote: "")' };
    } else {
      fieldStart = false;
    }
    i++;
  }
  if (!(fields === 1 && fieldStart)) return endRecord();
  return null;
}

/** The first problem of the CSV file at `path`, or null (also when the file cannot be read). */
export async function csvFileProblem(path: string): Promise<CsvProblem | null> {
  try {
    return findCsvProblem(await readFile(path, "utf8"));
  } catch {
    return null;
  }
}

/** The header's names of the CSV file at `path` (its first record, read from the first 64 KiB), trimmed. */
export async function csvHeaderNames(path: string): Promise<string[] | null> {
  let text: string;
  try {
    const handle = await open(path, "r");
    try {
      const { buffer, bytesRead } = await handle.read(Buffer.alloc(65_536), 0, 65_536, 0);
      text = buffer.subarray(0, bytesRead).toString("utf8");
    } finally {
      await handle.close();
    }
  } catch {
    return null;
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const names: string[] = [];
  let field = "";
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"' && field === "") {
      for (i++; i < text.length && !(text[i] === '"' && text[i + 1] !== '"'); i++) {
        field += text[i];
        if (text[i] === '"') i++;
      }
    } else if (ch === ",") {
      names.push(field.trim());
      field = "";
    } else if (ch === "\n" || ch === "\r") {
      break;
    } else field += ch;
  }
  names.push(field.trim());
  return names;
}
