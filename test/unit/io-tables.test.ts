// Tables in and out through io/ (an in-memory DuckDB): entity lists from CSV or plain lines, training tables to
// CSV (file or stream), Parquet and JSON, and events files read for stores that do not read files.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { beforeAll, describe, expect, it } from "vitest";
import { readEntitiesFile } from "../../src/engine/features/entity-source.js";
import { eventFileColumns, readEventFile } from "../../src/io/event-file.js";
import { readCsvText } from "../../src/io/read-csv.js";
import { withMemoryDuckDB } from "../../src/io/memory-duckdb.js";
import { writeCsvTo, writeTableFile } from "../../src/io/write-table.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "fabra-io-"));
});
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe("entities files", () => {
  it("reads a CSV's entity column: quoted commas, a BOM, CRLF, blank lines and a trimmed header", async () => {
    const path = file("ids.csv", '\ufeffname , user_id\r\n"Thirteen, the unlucky",u13\r\n\r\n"say ""hi""", u14 \r\n');
    expect(await readEntitiesFile(path, { entity: "user" })).toEqual(["u13", "u14"]);
    expect(await readEntitiesFile(path, { column: "name" })).toEqual(["Thirteen, the unlucky", 'say "hi"']);
    expect(await readEntitiesFile(file("one.csv", "anything\nu1\n\nu2\n"))).toEqual(["u1", "u2"]);
    // Ids stay text: no number sniffing.
    expect(await readEntitiesFile(file("zeros.csv", "id,n\n007,1\n1e3,2\n"))).toEqual(["007", "1e3"]);
  });

  it("reads plain lines, skipping blanks and # comments", async () => {
    expect(await readEntitiesFile(file("ids.txt", "# users\nu1\n\n  u2  \n"))).toEqual(["u1", "u2"]);
  });

  it("names the file, the row and the columns when something is wrong", async () => {
    await expect(readEntitiesFile(file("noid.csv", "name,email\nx,y\n"), { entity: "user" })).rejects.toThrow(
      /has no column "entity_id" or "user_id" or "user" or "id" \(its columns: name, email\)/,
    );
    await expect(readEntitiesFile(file("gap.csv", "id,name\nu1,a\n,b\n"))).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      message: expect.stringMatching(/gap\.csv row 2: the entity column "id" is empty/),
    });
    await expect(readEntitiesFile(file("header.csv", "id\n"))).rejects.toThrow(/has no entity ids/);
    await expect(readEntitiesFile(file("open.csv", 'id,name\nu1,"never closed\nu2,x\n'))).rejects.toMatchObject({
      code: "FILE_UNREADABLE",
      message: expect.stringContaining("Cannot read the entities file"),
    });
    await expect(readEntitiesFile(join(dir, "missing.csv"))).rejects.toMatchObject({ code: "FILE_NOT_FOUND" });
  });

  it("readCsvText gives the header and text cells, nulls for empty or missing ones", async () => {
    expect(await readCsvText(file("ragged.csv", "a,b,c\n1,2\n3,,x\n"), "the file")).toEqual({
      columns: ["a", "b", "c"],
      rows: [
        ["1", "2", null],
        ["3", null, "x"],
      ],
    });
  });
});

describe("writing tables", () => {
  const table = {
    columns: ["user", "at", "label", "tier", "profile", "note"],
    rows: [
      { user: "u1", at: "2026-01-01T00:00:00Z", label: 0, tier: null, profile: null, note: "plain" },
      {
        user: "u2",
        at: "2026-01-02T00:00:00.5Z",
        label: 1,
        tier: "gold",
        profile: { score: 1.5, id: "u2", big: 2n ** 70n },
        note: 'a "quote", a comma\nand a line',
      },
    ],
  };

  it("CSV: a header row, nulls empty, objects as canonical JSON, RFC 4180 quoting; the same on a stream", async () => {
    const expected = [
      "user,at,label,tier,profile,note",
      "u1,2026-01-01T00:00:00Z,0,,,plain",
      'u2,2026-01-02T00:00:00.5Z,1,gold,"{""big"":1180591620717411303424,""id"":""u2"",""score"":1.5}","a ""quote"", a comma',
      'and a line"',
      "",
    ].join("\n");
    const path = join(dir, "out.csv");
    await writeTableFile(path, "csv", table);
    expect(readFileSync(path, "utf8")).toBe(expected);
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on("data", (c: Buffer) => chunks.push(c));
    await writeCsvTo(out, table);
    expect(Buffer.concat(chunks).toString("utf8")).toBe(expected);
    // What goes out reads back the same.
    expect((await readCsvText(path, "it")).rows[1]?.[5]).toBe('a "quote", a comma\nand a line');
  });

  it("CSV with no rows is the header alone", async () => {
    const path = join(dir, "empty.csv");
    await writeTableFile(path, "csv", { columns: ["user_id", "ts", "tier"], rows: [] });
    expect(readFileSync(path, "utf8")).toBe("user_id,ts,tier\n");
  });

  it("Parquet: typed columns, the datetime columns as TIMESTAMP, objects as JSON text", async () => {
    const path = join(dir, "out.parquet");
    await writeTableFile(path, "parquet", table, { datetimeColumns: ["at"] });
    const types = await withMemoryDuckDB(async (c) =>
      (await c.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${path}')`)).getRowObjectsJS(),
    );
    expect(types.map((t) => [t.column_name, t.column_type])).toEqual([
      ["user", "VARCHAR"],
      ["at", "TIMESTAMP"],
      ["label", "BIGINT"],
      ["tier", "VARCHAR"],
      ["profile", "VARCHAR"],
      ["note", "VARCHAR"],
    ]);
  });

  it("JSON keeps integers beyond 2^53 exact; a file is replaced whole or not at all", async () => {
    const path = join(dir, "out.json");
    await writeTableFile(path, "json", table);
    expect(readFileSync(path, "utf8")).toContain('"big": 1180591620717411303424');
    const nowhere = join(dir, "no-such-dir", "out.parquet");
    await expect(writeTableFile(nowhere, "parquet", table)).rejects.toMatchObject({
      code: "FILE_UNWRITABLE",
      message: expect.stringContaining(`Cannot write ${nowhere}`),
    });
    mkdirSync(join(dir, "a-dir.csv"));
    await expect(writeTableFile(join(dir, "a-dir.csv"), "csv", table)).rejects.toMatchObject({
      code: "FILE_UNWRITABLE",
    });
  });
});

describe("events files read for stores that do not read files", () => {
  const events = (path: string) => ({
    kind: "file" as const,
    path,
    format: "csv" as const,
    entityColumn: "user",
    timestampColumn: "at",
  });

  it("gives the file's rows in order, entity ids as text, times in normal form", async () => {
    const path = file(
      "events.csv",
      "user,at,label,weight\n007,2026-01-01T13:00:00+01:00,a,1.5\nu1,2026-01-02 10:00:00,b,2\n",
    );
    expect(await eventFileColumns(path, "csv")).toEqual(["user", "at", "label", "weight"]);
    expect(await readEventFile(events(path))).toEqual([
      { user: "007", at: "2026-01-01T12:00:00Z", label: "a", weight: 1.5 },
      { user: "u1", at: "2026-01-02T10:00:00Z", label: "b", weight: 2 },
    ]);
  });

  it("fails like the DuckDB store's join: a bad row by number, a column named like a feature, a missing file", async () => {
    await expect(readEventFile(events(file("bad.csv", "user,at\nu1,2026-01-01\nu2,yesterday\n")))).rejects.toThrow(
      /bad\.csv row 2: "yesterday" in column "at" is not a datetime/,
    );
    await expect(readEventFile(events(file("noentity.csv", "user,at\n,2026-01-01\n")))).rejects.toThrow(
      /noentity\.csv row 1: the entity column "user" is empty/,
    );
    await expect(readEventFile(events(file("clash.csv", "user,at,tier\nu1,2026-01-01,x\n")), ["tier"])).rejects.toThrow(
      /clash\.csv already has a column "tier", the name of a requested feature/,
    );
    await expect(readEventFile(events(join(dir, "nope.csv")))).rejects.toMatchObject({ code: "FILE_NOT_FOUND" });
  });
});
