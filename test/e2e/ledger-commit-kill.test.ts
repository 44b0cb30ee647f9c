// Group commit under SIGKILL: a process appending large records 64 at a time (so it is nearly always inside a
// commit) is killed mid-run. Every append it was told had committed is in the ledger, and every row there is a whole,
// intact record (no partial row, no partial batch left half-written); the ledger takes appends again after. On the
// DuckDB file (its WAL replayed on open) and on the real Postgres (the killed connection's open transaction rolled back).
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { verifyLedger } from "../../src/engine/ledger/verify-rows.js";
import { open as openDuck } from "../../src/stores/duckdb/records.js";
import { open as openPg } from "../../src/stores/postgres/records.js";
import type { RecordStore } from "../../src/stores/types.js";
import { ROOT } from "../helpers/cli.js";
import { migratedSchema } from "../helpers/pg-stores.js";
import { POSTGRES_URL, postgresUp } from "../helpers/services.js";
import { tempDir } from "../helpers/temp.js";

/** The appender: opens the store named on its command line and appends sealed ~100 KB records, 64 in flight, forever. */
const CHILD = `
import { readFileSync } from "node:fs";
import { join } from "node:path";
const dist = (p) => import(join(${JSON.stringify(ROOT)}, "dist", p));
const { recordToRow } = await dist("engine/ledger/rows.js");
const { newContextId } = await dist("record/id.js");
const { sealRecord } = await dist("record/seal.js");
const { readRecordText } = await dist("record/verify.js");
const { fromEpochMicros } = await dist("record/datetime.js");
const [kind, where, schema] = process.argv.slice(1); // node -e: no script path in argv
const store = kind === "duckdb"
  ? await (await dist("stores/duckdb/records.js")).open(where)
  : await (await dist("stores/postgres/records.js")).open({ url: where, schema, service: "stores.offline" });
const base = readRecordText(readFileSync(join(${JSON.stringify(ROOT)}, "test/fixtures/crs-001/plain.json"), "utf8"));
const content = "Killed mid-commit, nothing half-written. ".repeat(1200);
const next = () => {
  const { record, canonicalText } = sealRecord({
    ...base, context_id: newContextId(), created_at: fromEpochMicros(BigInt(Date.now()) * 1000n), content,
    integrity: { ...base.integrity, record_hash: "", content_hash: "" },
  });
  return recordToRow(record, canonicalText);
};
await Promise.all(Array.from({ length: 64 }, async () => {
  for (;;) {
    const row = next();
    if ((await store.append(row)) === "inserted") process.stdout.write("ok " + row.contextId + "\\n");
  }
}));
`;

/** Runs the appender until it has acknowledged `acks` appends, then SIGKILLs it; returns the acknowledged ids. */
async function appendThenKill(args: string[], acks: number): Promise<string[]> {
  const child = spawn(process.execPath, ["--input-type=module", "-e", CHILD, ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const acked: string[] = [];
  let stderr = "";
  let buffer = "";
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.once("exit", (_code, signal) => resolve(signal)),
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (d: Buffer) => {
      buffer += d.toString();
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? "";
      for (const line of lines) if (line.startsWith("ok ")) acked.push(line.slice(3));
      if (acked.length >= acks) {
        child.kill("SIGKILL");
        resolve();
      }
    });
    child.once("exit", (code) => reject(new Error(`the appender exited (${code}) before the kill: ${stderr}`)));
  });
  expect(await exited).toBe("SIGKILL");
  return acked;
}

async function expectWholeLedger(store: RecordStore, acked: string[]): Promise<void> {
  for (const id of acked) expect(await store.get(id), id).not.toBeNull();
  const total = await store.count();
  expect(total).toBeGreaterThanOrEqual(acked.length);
  // Every row there (acknowledged or committed just before the kill) is a whole record that verifies.
  const { checked, failures } = await verifyLedger(store);
  expect(checked).toBe(total);
  expect(failures).toEqual([]);
}

const pgUp = await postgresUp();

describe("group commit killed with SIGKILL mid-commit", () => {
  it("DuckDB: every acknowledged record is there, every row is intact, and the file takes appends again", async () => {
    const path = join(tempDir("fabra-commit-kill-"), "fabra.duckdb");
    const acked = await appendThenKill(["duckdb", path], 80);
    const store = await openDuck(path);
    try {
      await expectWholeLedger(store, acked);
      const again = await store.get(acked[0] as string);
      expect(await store.append(again as NonNullable<typeof again>)).toBe("exists");
    } finally {
      await store.close();
    }
  });

  it.runIf(pgUp)("Postgres: the same, the killed connection's transaction rolled back", async () => {
    const schema = await migratedSchema(POSTGRES_URL);
    try {
      const acked = await appendThenKill(["postgres", POSTGRES_URL, schema.target.schema], 80);
      const store = await openPg(schema.target);
      try {
        await expectWholeLedger(store, acked);
      } finally {
        await store.close();
      }
    } finally {
      await schema.drop();
    }
  });
});
