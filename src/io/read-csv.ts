// Reading a CSV file with a header row as text cells, through an in-memory DuckDB (RFC 4180 quoting, a UTF-8 BOM
// skipped, short rows padded with nulls, blank lines between rows skipped). Used for entity lists
// (`materialize --entities FILE`); events files are read by event-file.ts, with their column types.
import { FabraError } from "../errors.js";
import { firstLine } from "./duckdb-sql.js";
import { withMemoryDuckDB } from "./memory-duckdb.js";

export interface CsvText {
  /** The header's names, trimmed. */
  columns: string[];
  /** Each row's cells in column order; an empty cell is null. */
  rows: (string | null)[][];
}

/** The header and rows of the CSV file at `path`; `what` names the file in errors ("the entities file"). */
export async function readCsvText(path: string, what: string): Promise<CsvText> {
  return withMemoryDuckDB(async (c) => {
    try {
      const reader = await c.runAndReadAll(
        `SELECT * FROM read_csv($1, header = true, all_varchar = true, delim = ',', quote = '"', escape = '"', null_padding = true)`,
        [path],
      );
      return { columns: reader.columnNames().map((n) => n.trim()), rows: reader.getRowsJS() as (string | null)[][] };
    } catch (err) {
      throw new FabraError(
        "FILE_UNREADABLE",
        `Cannot read ${what} ${path} as CSV: ${firstLine(err).replace(/^[A-Za-z ]+ Error: /, "")}`,
        {
          hint: 'Use CSV with a header row; a field holding a comma, a quote or a line break goes in double quotes, with quotes doubled ("").',
          cause: err,
        },
      );
    }
  });
}
