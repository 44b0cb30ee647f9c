// Small pieces of DuckDB SQL shared by the table readers here and the DuckDB store: quoting, and a TIMESTAMP as
// CRS-001 normal-form datetime text.

export const quoteId = (name: string) => `"${name.replace(/"/g, '""')}"`;
export const quoteText = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** A TIMESTAMP expression as CRS-001 normal-form text (fraction only when not zero). */
export const normalForm = (x: string) =>
  `CASE WHEN epoch_us(${x}) % 1000000 = 0 THEN strftime(${x}, '%Y-%m-%dT%H:%M:%SZ') ELSE strftime(${x}, '%Y-%m-%dT%H:%M:%S.%fZ') END`;

/** The first line of a driver error, without the stack DuckDB appends. */
export const firstLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).split("\n")[0] ?? "";
