// The DuckDB ledger's journal (stores/duckdb/journal.ts, ledger-journal.ts, id-filter.ts): frames end at the first
// torn or damaged one; an acknowledged row that is still only in the journal is seen by every read; twins are
// refused against rows in the journal and in the table alike; replaying a journal whose rows DuckDB already holds
// changes nothing; the id filter never says "not stored" of a stored id.
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { crc32 } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeOutcome, outcomeToRow } from "../../src/engine/ledger/outcome.js";
import { isFabraError } from "../../src/errors.js";
import { DuckDatabase } from "../../src/stores/duckdb/database.js";
import { IdFilter } from "../../src/stores/duckdb/id-filter.js";
import { decodeFrames, encodeFrame, Journal } from "../../src/stores/duckdb/journal.js";
import { DuckDBRecordStore } from "../../src/stores/duckdb/records.js";
import type { LedgerRow, RawLedgerRow } from "../../src/stores/types.js";
import { sealedRow, syntheticRow } from "../contract/record-store.js";
import { tempDir } from "../helpers/temp.js";

/** Rows stay in the journal until a read moves them (or the store closes), however slow the machine is. */
const SLOW_MOVES = { moveDelayMs: 600_000 };
const at = (i: number) => `2025-02-01T00:00:00.${String(i).padStart(6, "0")}Z`;

describe("journal frames", () => {
  const rows = [1, 2, 3].map((i) => ({ ...syntheticRow(i, at(i)), previousContextId: i === 2 ? "ctx_x" : null }));
  const bytes = Buffer.concat(rows.map((r, i) => encodeFrame(7, i, r)));

  it("decode to the rows written, every column exact (a lone surrogate too)", () => {
    const odd: LedgerRow = { ...syntheticRow(9, at(9)), canonicalText: "a\ud800b é", imported: true };
    const { frames, end } = decodeFrames(Buffer.concat([bytes, encodeFrame(7, 3, odd)]));
    expect(frames.map((f) => f.row)).toEqual([...rows, odd]);
    expect(frames.map((f) => f.seq)).toEqual([0, 1, 2, 3]);
    expect(end).toBe(bytes.length + encodeFrame(7, 3, odd).length);
  });

  it("end at a frame cut short, damaged or of another generation: nothing of it, nothing after it", () => {
    const first = encodeFrame(7, 0, rows[0] as LedgerRow).length;
    for (let cut = 1; cut < bytes.length; cut += 97) {
      const { frames, end } = decodeFrames(bytes.subarray(0, cut));
      expect(end).toBeLessThanOrEqual(cut);
      expect(frames.map((f) => f.row)).toEqual(rows.slice(0, frames.length));
    }
    const damaged = Buffer.from(bytes);
    damaged[first + 20] = (damaged[first + 20] as number) ^ 1;
    expect(decodeFrames(damaged).frames.map((f) => f.row)).toEqual([rows[0]]);
    // A whole, intact frame left from before a clear (another generation) after this generation's frames.
    const stale = Buffer.concat([encodeFrame(8, 0, rows[0] as LedgerRow), bytes.subarray(first)]);
    expect(decodeFrames(stale).frames.map((f) => f.row)).toEqual([rows[0]]);
    expect(decodeFrames(Buffer.alloc(64)).frames).toEqual([]);
  });

  /** A frame of generation 7 around any body, with a right checksum: what someone with file access can write. */
  const crafted = (body: string): Buffer => {
    const b = Buffer.from(body, "utf8");
    const header = Buffer.alloc(16);
    const g = Buffer.alloc(4);
    g.writeUInt32LE(7, 0);
    header.writeUInt32LE(0x324a4246, 0);
    header.writeUInt32LE(7, 4);
    header.writeUInt32LE(b.length, 8);
    header.writeUInt32LE(crc32(b, crc32(g)), 12);
    return Buffer.concat([header, b]);
  };
  const valid = JSON.parse(
    encodeFrame(7, 5, rows[0] as LedgerRow)
      .subarray(16)
      .toString("utf8"),
  ) as unknown[];

  it("refuse a whole frame that is not a row (typed error naming its offset), never a TypeError or a skipped row", () => {
    expect(decodeFrames(crafted(JSON.stringify(valid))).frames.map((f) => f.row)).toEqual([rows[0]]);
    const bodies = [
      "null",
      "5",
      '"x"',
      "{}",
      "[]",
      JSON.stringify(valid.slice(0, 9)),
      JSON.stringify([...valid, 1]),
      ...valid.map((_, i) => JSON.stringify(valid.map((v, j) => (j === i ? { x: 1 } : v)))),
      JSON.stringify(valid.map((v, j) => (j === 0 ? 1.5 : v))),
    ];
    for (const body of bodies) {
      let caught: unknown;
      try {
        decodeFrames(Buffer.concat([bytes, crafted(body)]));
      } catch (err) {
        caught = err;
      }
      expect(isFabraError(caught) && caught.code, body).toBe("VERIFICATION_FAILED");
      expect((caught as Error).message).toContain(`at byte ${bytes.length}`);
    }
  });

  it("a store whose journal holds such a frame does not open: the error names the file", async () => {
    const dir = tempDir("fabra-journal-crafted-");
    const path = join(dir, "fabra.duckdb");
    writeFileSync(`${path}.journal-0`, crafted("[null]"));
    const opened = DuckDBRecordStore.open(path, SLOW_MOVES);
    await expect(opened).rejects.toMatchObject({ code: "VERIFICATION_FAILED" });
    await expect(opened).rejects.toThrow(`${path}.journal-0`);
  });
});

describe("a journal file whose clearing fails", () => {
  it("is empty all the same: the next rotation to it works, and reopening replays nothing lost", async () => {
    const path = join(tempDir("fabra-journal-clear-"), "fabra.duckdb");
    const { journal } = await Journal.open(path);
    const [a, b, c] = [1, 2, 3].map((i) => syntheticRow(i, at(i))) as [LedgerRow, LedgerRow, LedgerRow];
    await journal.append([a]);
    const sealed = journal.rotate();
    const real = sealed.handle;
    (sealed as { handle: unknown }).handle = { fd: 2 ** 30 }; // every write to it fails (EBADF)
    await journal.clear(sealed);
    (sealed as { handle: unknown }).handle = real;
    await journal.append([b]);
    expect(journal.rotate()).not.toBe(sealed); // before: INTERNAL ("rotated to before it was cleared")
    await journal.append([c]);
    await journal.close(false);
    // The un-zeroed frame of `a` was overwritten by `c` under a new generation: `b` and `c` are what is framed.
    const framed = [0, 1].flatMap((i) => decodeFrames(readFileSync(`${path}.journal-${i}`)).frames.map((f) => f.row));
    expect(framed.map((r) => r.contextId).sort()).toEqual([b.contextId, c.contextId].sort());
  });

  it("refuses an append after it is closed with SHUTTING_DOWN, not a disk fault", async () => {
    const path = join(tempDir("fabra-journal-closed-"), "fabra.duckdb");
    const store = await DuckDBRecordStore.open(path);
    await store.close();
    const late = await store.append(sealedRow(1, at(1), "late")).catch((e: unknown) => e);
    expect(isFabraError(late) && late.code).toBe("SHUTTING_DOWN");
    expect((late as Error).message).toContain("nothing was appended");
  });
});

describe("the DuckDB ledger with its journal", () => {
  let dir: string;
  let path: string;
  let store: DuckDBRecordStore;
  /** Rows in the journal files (whole frames of their generation). */
  const journalBytes = () =>
    [0, 1].reduce((n, i) => n + decodeFrames(readFileSync(`${path}.journal-${i}`)).frames.length, 0);

  beforeAll(async () => {
    dir = tempDir("fabra-journal-");
    path = join(dir, "fabra.duckdb");
    store = await DuckDBRecordStore.open(path, SLOW_MOVES);
  });
  afterAll(async () => {
    await store.close();
  });

  it("reads see an acknowledged row while it is only in the journal: get, getByHash, list, count, scans, the log", async () => {
    const rows = Array.from({ length: 12 }, (_, i) => sealedRow(100 + i, at(100 + i), "ryw"));
    expect(await Promise.all(rows.map((r) => store.append(r)))).toEqual(rows.map(() => "inserted"));
    expect(journalBytes()).toBeGreaterThan(0); // not moved into DuckDB yet
    const last = rows[11] as LedgerRow;
    expect(await store.get(last.contextId)).toEqual(last);
    expect(journalBytes()).toBeGreaterThan(0); // get answered from the journal's rows
    expect(await store.getByHash(last.recordHash)).toEqual(last);
    expect(journalBytes()).toBe(0); // the other reads move the rows in first

    const more = Array.from({ length: 5 }, (_, i) => sealedRow(200 + i, at(200 + i), "ryw"));
    await Promise.all(more.map((r) => store.append(r)));
    expect(await store.count({ contextFunction: "ryw" })).toBe(17);
    await Promise.all(more.map((_, i) => store.append(sealedRow(300 + i, at(300 + i), "ryw"))));
    expect((await store.list({ contextFunction: "ryw", order: "asc", limit: 100 })).map((r) => r.contextId)).toEqual(
      [...rows, ...more, ...more.map((_, i) => sealedRow(300 + i, at(300 + i), "ryw"))].map((r) => r.contextId),
    );
    const tail = sealedRow(400, at(400), "ryw");
    await store.append(tail);
    const raw: RawLedgerRow[] = [];
    for await (const batch of store.scanRaw(7)) raw.push(...batch);
    expect(raw.map((r) => r.contextId)).toContain(tail.contextId);
    expect(Buffer.from(raw.find((r) => r.contextId === tail.contextId)?.canonicalBytes ?? []).toString()).toBe(
      tail.canonicalText,
    );
    const logged = sealedRow(401, at(401), "ryw");
    const size = await store.integrateLog();
    await store.append(logged);
    expect(await store.integrateLog()).toBe(size + 1);
    expect(await store.logLeafIndex(logged.contextId)).toBe(size);
  });

  it("moves a journal of many statements' rows in one move, every column exact and in journal order", async () => {
    // At most 64 rows and 192 KB of text a statement (STATEMENT_ROWS, STATEMENT_CHARS): 150 short rows and a few of
    // 100 KB are statements cut both ways, in one transaction, the last one short.
    const before = journalBytes();
    const rows = Array.from({ length: 157 }, (_, i) => {
      const row = syntheticRow(900 + i, at(900 + i), "many");
      return i % 25 === 3 ? { ...row, canonicalText: `${row.canonicalText}${"x".repeat(100_000)}` } : row;
    });
    for (const row of rows) expect(await store.append(row)).toBe("inserted");
    expect(journalBytes()).toBe(before + 157);
    expect(await store.list({ contextFunction: "many", order: "asc", limit: 200 })).toEqual(rows);
    expect(journalBytes()).toBe(0);
  });

  it("twins are refused against a row in the journal and against one in the table", async () => {
    const row = sealedRow(500, at(500), "twins");
    const other = { ...row, recordHash: `sha256:${"a".repeat(64)}` };
    expect(await store.append(row)).toBe("inserted");
    expect(journalBytes()).toBeGreaterThan(0);
    expect(await store.append(row)).toBe("exists");
    const inJournal = await store.append(other).catch((e: unknown) => e);
    expect(isFabraError(inJournal) && inJournal.code).toBe("RECORD_CONFLICT");
    await store.count(); // moved into the table
    expect(journalBytes()).toBe(0);
    expect(await store.append(row)).toBe("exists");
    const inTable = await store.append(other).catch((e: unknown) => e);
    expect(isFabraError(inTable) && inTable.code).toBe("RECORD_CONFLICT");
    expect(await store.count({ contextFunction: "twins" })).toBe(1);
  });

  it("refuses, before acknowledging, a row DuckDB would refuse; takes a created_at DuckDB reads", async () => {
    const bad = await store
      .append({ ...syntheticRow(600, at(600)), createdAt: "2025-02-30T00:00:00Z" })
      .catch((e) => e);
    expect(isFabraError(bad) && bad.code).toBe("INVALID_RECORD");
    const float = await store.append({ ...syntheticRow(601, at(601)), tokenCount: 1.5 }).catch((e) => e);
    expect(isFabraError(float) && float.code).toBe("INVALID_RECORD");
    const spaced = { ...syntheticRow(602, at(602)), createdAt: "2025-02-01 00:00:00.5" };
    expect(await store.append(spaced)).toBe("inserted");
    // As DuckDB gives it back, whether the row is still in the journal or in the table.
    expect((await store.get(spaced.contextId))?.createdAt).toBe("2025-02-01T00:00:00.500000Z");
    expect(journalBytes()).toBeGreaterThan(0);
    await store.count();
    expect((await store.get(spaced.contextId))?.createdAt).toBe("2025-02-01T00:00:00.500000Z");
    expect(await store.get(syntheticRow(600, at(600)).contextId)).toBeNull();
  });

  it("get gives a row's text as the table will hold it, still in the journal or moved in (a lone surrogate)", async () => {
    const odd = {
      ...syntheticRow(650, at(650)),
      contextFunction: "fn\udc00",
      canonicalText: '{"t":"a\ud800b \ud83d\ude00"}',
    };
    expect(await store.append(odd)).toBe("inserted");
    expect(journalBytes()).toBeGreaterThan(0);
    const waiting = await store.get(odd.contextId);
    await store.count(); // moved into the table
    const moved = await store.get(odd.contextId);
    expect(moved?.canonicalText).toBe('{"t":"a\ufffdb \ud83d\ude00"}');
    expect(waiting).toEqual(moved);
  });

  it("replaying a journal whose rows DuckDB already holds changes nothing (a crash after the move, before the clear)", async () => {
    const rows = Array.from({ length: 8 }, (_, i) => sealedRow(700 + i, at(700 + i), "replay"));
    await Promise.all(rows.map((r) => store.append(r)));
    const saved = [0, 1].map((i) => readFileSync(`${path}.journal-${i}`));
    expect(saved.reduce((n, b) => n + b.length, 0)).toBeGreaterThan(0);
    const before = await store.count();
    await store.close();
    for (const [i, b] of saved.entries()) writeFileSync(`${path}.journal-${i}`, b);
    store = await DuckDBRecordStore.open(path, SLOW_MOVES);
    expect(journalBytes()).toBe(0);
    expect(await store.count()).toBe(before);
    for (const r of rows) expect(await store.get(r.contextId)).toEqual(r);
    expect(await store.append(rows[0] as LedgerRow)).toBe("exists"); // the filter built from the table knows it
  });
});

describe("the transparency log after a crash", () => {
  it("misses no entry when a record with a leaf was still only in the journal (the counts of entries and leaves match)", async () => {
    const path = join(tempDir("fabra-journal-log-"), "l.duckdb");
    const store = await DuckDBRecordStore.open(path, SLOW_MOVES);
    const record = sealedRow(960, at(960), "log");
    await store.append(record);
    expect(await store.integrateLog()).toBe(1); // its leaf, from the queue, while the row is only in the journal
    const journals = [0, 1].map((i) => readFileSync(`${path}.journal-${i}`));
    const outcome = outcomeToRow(
      makeOutcome(
        record.contextId,
        {
          provider: "test",
          responseId: "r",
          model: "m",
          usage: null,
          latencyMs: 1,
          finishReason: "stop",
          outputText: "a",
        },
        true,
      ),
    );
    await store.appendOutcome(outcome); // committed, queued, no step before the crash
    await store.close();
    // The crash as it would have left the file: the record not yet moved into the table, its frame in the journal.
    const db = await DuckDatabase.open(path);
    await db.run("DELETE FROM fabra_context_records WHERE context_id = $1", [record.contextId]);
    await db.close();
    for (const [i, b] of journals.entries()) writeFileSync(`${path}.journal-${i}`, b);

    const reopened = await DuckDBRecordStore.open(path, SLOW_MOVES);
    try {
      expect(await reopened.get(record.contextId)).toEqual(record);
      expect(await reopened.integrateLog()).toBe(2);
      expect(await reopened.logLeafIndex(record.contextId)).toBe(0);
      expect(await reopened.logLeafIndex(outcome.outcomeId)).toBe(1);
    } finally {
      await reopened.close();
    }
  });
});

describe("a journal altered on disk (checksums are not signatures)", () => {
  it("a forged frame of an id already framed is refused as a twin on open, as a forged row in the table is", async () => {
    const acknowledged = sealedRow(950, at(950), "forged");
    const forged = {
      ...acknowledged,
      canonicalText: `${acknowledged.canonicalText} `,
      recordHash: `sha256:${"f".repeat(64)}`,
    };
    const opened = async (journals: Buffer[], inTable?: LedgerRow) => {
      const path = join(tempDir("fabra-journal-forged-"), "f.duckdb");
      await (await DuckDBRecordStore.open(path)).close(); // the tables, no rows
      if (inTable) {
        const db = await DuckDatabase.open(path);
        await db.run(
          "INSERT INTO fabra_context_records (context_id, created_at, context_function, environment, token_count, record_hash, previous_context_id, canonical_text) VALUES ($1, $2::TIMESTAMP, $3, $4, $5, $6, $7, $8)",
          [
            inTable.contextId,
            inTable.createdAt,
            inTable.contextFunction,
            inTable.environment,
            inTable.tokenCount,
            inTable.recordHash,
            inTable.previousContextId,
            inTable.canonicalText,
          ],
        );
        await db.close();
      }
      for (const [i, b] of journals.entries()) writeFileSync(`${path}.journal-${i}`, b);
      return DuckDBRecordStore.open(path).then(
        async (store) => {
          const row = await store.get(acknowledged.contextId);
          await store.close();
          return row?.recordHash;
        },
        (e: unknown) => (isFabraError(e) ? e.code : e),
      );
    };
    // The acknowledged frame waits in journal-1; a frame of another record with that id, given an earlier seq, is
    // written into journal-0 (or the forged row straight into the table) before the next open.
    const ours = encodeFrame(3, 4, acknowledged);
    expect(await opened([encodeFrame(5, 0, forged), ours])).toBe("RECORD_CONFLICT");
    expect(await opened([Buffer.alloc(0), ours], forged)).toBe("RECORD_CONFLICT");
    // The same frame twice (a replay) is one row.
    expect(await opened([encodeFrame(5, 0, acknowledged), ours])).toBe(acknowledged.recordHash);
  });
});

describe("one journal per file in the process", () => {
  it("is shared by the stores on the file; one closing while another opens loses nothing", async () => {
    const path = join(tempDir("fabra-journal-two-"), "two.duckdb");
    const a = await DuckDBRecordStore.open(path, SLOW_MOVES);
    const b = await DuckDBRecordStore.open(path, SLOW_MOVES);
    const first = sealedRow(800, at(800), "two");
    expect(await a.append(first)).toBe("inserted");
    expect(await b.append(first)).toBe("exists"); // the other store sees the row still in the journal
    expect(await b.get(first.contextId)).toEqual(first);
    await a.close();
    const second = sealedRow(801, at(801), "two");
    expect(await b.append(second)).toBe("inserted");
    const [, c] = await Promise.all([b.close(), DuckDBRecordStore.open(path, SLOW_MOVES)]);
    try {
      expect(await c.get(first.contextId)).toEqual(first);
      expect(await c.get(second.contextId)).toEqual(second);
      expect(await c.count()).toBe(2);
    } finally {
      await c.close();
    }
  });
  it("is one journal and one DuckDB instance whatever path names the file (relative, through a symlink)", async () => {
    const dir = tempDir("fabra-journal-paths-");
    mkdirSync(join(dir, "real"));
    symlinkSync(join(dir, "real"), join(dir, "link"));
    const path = join(dir, "real", "one.duckdb");
    const a = await DuckDBRecordStore.open(path, SLOW_MOVES);
    const b = await DuckDBRecordStore.open(relative(process.cwd(), path), SLOW_MOVES);
    const c = await DuckDBRecordStore.open(join(dir, "link", "one.duckdb"), SLOW_MOVES);
    try {
      const rows = [900, 901, 902].map((i) => sealedRow(i, at(i), "paths"));
      expect(await a.append(rows[0] as LedgerRow)).toBe("inserted");
      expect(await b.append(rows[0] as LedgerRow)).toBe("exists");
      expect(
        await c.append({ ...(rows[0] as LedgerRow), recordHash: `sha256:${"b".repeat(64)}` }).catch((e) => e.code),
      ).toBe("RECORD_CONFLICT");
      expect(await b.append(rows[1] as LedgerRow)).toBe("inserted");
      expect(await c.append(rows[2] as LedgerRow)).toBe("inserted");
      // A crash now: every acknowledged row has its frame (no journal wrote over another's).
      const framed = [0, 1].flatMap((i) => decodeFrames(readFileSync(`${path}.journal-${i}`)).frames.map((f) => f.row));
      expect(framed).toEqual(rows);
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });
});

describe("the id filter", () => {
  it("says 'maybe' for every stored and acknowledged id, and 'no' for nearly every new one", async () => {
    const dir = tempDir("fabra-idfilter-");
    const store = await DuckDBRecordStore.open(join(dir, "f.duckdb"));
    const rows = Array.from({ length: 300 }, (_, i) => syntheticRow(i, at(i)));
    await Promise.all(rows.map((r) => store.append(r)));
    await store.count();
    const db = await DuckDatabase.open(join(dir, "f.duckdb"));
    try {
      const waiting = ["ctx_waiting-1"];
      const filter = new IdFilter(db, () => waiting);
      expect(filter.mayHave("anything")).toBe(true); // not built yet: everything is looked up
      await filter.build();
      filter.add("ctx_added-after");
      for (const id of [...rows.map((r) => r.contextId), ...waiting, "ctx_added-after"])
        expect(filter.mayHave(id), id).toBe(true);
      const fresh = Array.from(
        { length: 2000 },
        (_, i) => `ctx_0190a1b2-c3d4-7e5f-8a9b-${String(90000 + i).padStart(12, "0")}`,
      );
      expect(fresh.filter((id) => filter.mayHave(id)).length).toBeLessThan(10);
    } finally {
      await db.close();
      await store.close();
    }
  });
});
