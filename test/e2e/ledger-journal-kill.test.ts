// The DuckDB ledger's journal under SIGKILL: a process that appended records (each acknowledged once its journal
// frame was synced) is killed before it moves them into DuckDB, and a torn frame (a write cut short) and a damaged one
// are left at the journal's end. On the next open every acknowledged record is in the ledger, byte for byte and
// intact, the torn and damaged frames left no row, and the journal is empty again.
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { describe, expect, it } from "vitest";
import { verifyLedger } from "../../src/engine/ledger/verify-rows.js";
import { decodeFrames, encodeFrame } from "../../src/stores/duckdb/journal.js";
import { open as openDuck } from "../../src/stores/duckdb/records.js";
import { syntheticRow } from "../contract/record-store.js";
import { ROOT } from "../helpers/cli.js";
import { tempDir } from "../helpers/temp.js";

/** Appends sealed records in waves of 16, prints each acknowledged id, then blocks its event loop until killed. */
const CHILD = `
import { readFileSync } from "node:fs";
import { join } from "node:path";
const dist = (p) => import(join(${JSON.stringify(ROOT)}, "dist", p));
const { recordToRow } = await dist("engine/ledger/rows.js");
const { newContextId } = await dist("record/id.js");
const { sealRecord } = await dist("record/seal.js");
const { readRecordText } = await dist("record/verify.js");
const { fromEpochMicros } = await dist("record/datetime.js");
const store = await (await dist("stores/duckdb/records.js")).open(process.argv[1]);
const base = readRecordText(readFileSync(join(${JSON.stringify(ROOT)}, "test/fixtures/crs-001/plain.json"), "utf8"));
const next = () => {
  const { record, canonicalText } = sealRecord({
    ...base, context_id: newContextId(), created_at: fromEpochMicros(BigInt(Date.now()) * 1000n),
    content: "Acknowledged once its frame is synced. ".repeat(200),
    integrity: { ...base.integrity, record_hash: "", content_hash: "" },
  });
  return recordToRow(record, canonicalText);
};
for (let wave = 0; wave < 4; wave++) {
  const rows = Array.from({ length: 16 }, next);
  const outcomes = await Promise.all(rows.map((r) => store.append(r)));
  outcomes.forEach((o, i) => { if (o === "inserted") process.stdout.write("ok " + rows[i].contextId + "\\n"); });
}
process.stdout.write("frozen\\n");
// No timer runs again: whatever the journal holds now is never moved into DuckDB by this process.
for (;;) {}
`;

async function appendAndFreeze(path: string): Promise<string[]> {
  const child = spawn(process.execPath, ["--input-type=module", "-e", CHILD, path], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const acked: string[] = [];
  let stderr = "";
  let buffer = "";
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once("exit", (_c, signal) => resolve(signal)));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (d: Buffer) => {
      buffer += d.toString();
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? "";
      for (const line of lines) {
        if (line.startsWith("ok ")) acked.push(line.slice(3));
        if (line === "frozen") {
          child.kill("SIGKILL");
          resolve();
        }
      }
    });
    child.once("exit", (code) => reject(new Error(`the appender exited (${code}) before the kill: ${stderr}`)));
  });
  expect(await exited).toBe("SIGKILL");
  return acked;
}

/** The ids in the DuckDB table itself (not through the store, so the journal is not read). */
async function idsInTable(path: string): Promise<Set<string>> {
  const instance = await DuckDBInstance.create(path);
  try {
    const c = await instance.connect();
    const rows = (await c.runAndReadAll("SELECT context_id FROM fabra_context_records")).getRowObjectsJS();
    c.closeSync();
    return new Set(rows.map((r) => r.context_id as string));
  } finally {
    instance.closeSync();
  }
}

describe("the DuckDB ledger's journal, killed between the journal sync and the move into DuckDB", () => {
  it("every acknowledged record is there after the next open; torn and damaged frames leave nothing", async () => {
    const path = join(tempDir("fabra-journal-kill-"), "fabra.duckdb");
    const acked = await appendAndFreeze(path);
    expect(acked).toHaveLength(64);

    const journals = [0, 1].map((i) => `${path}.journal-${i}`);
    const inJournal = journals.flatMap((j) => decodeFrames(readFileSync(j)).frames.map((f) => f.row.contextId));
    const inTable = await idsInTable(path);
    // The last wave was acknowledged from the journal alone (no move could start after it).
    expect(acked.filter((id) => !inTable.has(id)).length).toBeGreaterThanOrEqual(16);
    for (const id of acked) expect(inTable.has(id) || inJournal.includes(id), id).toBe(true);

    // A crash mid-write: the first half of one more frame; and a whole frame whose bytes were damaged.
    // Each at the end of its file's frames, in the file's generation (what a crash mid-append leaves).
    const atEnd = (journal: string, frame: (generation: number) => Buffer) => {
      const bytes = readFileSync(journal);
      const generation = bytes.length >= 16 ? bytes.readUInt32LE(4) : 1;
      const fd = openSync(journal, "r+");
      writeSync(fd, frame(generation), 0, undefined, decodeFrames(bytes).end);
      closeSync(fd);
    };
    atEnd(journals[0] as string, (g) => {
      const damaged = encodeFrame(g, 1001, syntheticRow(2, "2024-01-01T00:00:00Z"));
      damaged[damaged.length - 3] = (damaged[damaged.length - 3] as number) ^ 0xff;
      return damaged;
    });
    atEnd(journals[1] as string, (g) => {
      const torn = encodeFrame(g, 1000, syntheticRow(1, "2024-01-01T00:00:00Z"));
      return torn.subarray(0, torn.length >> 1);
    });

    const store = await openDuck(path);
    try {
      for (const id of acked) expect(await store.get(id), id).not.toBeNull();
      expect(await store.get(syntheticRow(1, "2024-01-01T00:00:00Z").contextId)).toBeNull();
      expect(await store.get(syntheticRow(2, "2024-01-01T00:00:00Z").contextId)).toBeNull();
      const total = await store.count();
      expect(total).toBe(new Set([...inTable, ...inJournal]).size);
      const { checked, failures } = await verifyLedger(store);
      expect(checked).toBe(total);
      expect(failures).toEqual([]);
      // The journal was emptied once its rows were in DuckDB, and the file takes appends again.
      for (const j of journals) expect(decodeFrames(readFileSync(j)).frames).toEqual([]);
      const again = (await store.get(acked[0] as string)) as NonNullable<Awaited<ReturnType<typeof store.get>>>;
      expect(await store.append(again)).toBe("exists");
      expect(await store.append(syntheticRow(3, "2024-01-01T00:00:00Z"))).toBe("inserted");
    } finally {
      await store.close();
    }
    // Closed with everything in DuckDB: no journal left beside the file.
    for (const j of journals) expect(existsSync(j)).toBe(false);
    expect((await idsInTable(path)).size).toBe(new Set([...inTable, ...inJournal]).size + 1);
  });
});
