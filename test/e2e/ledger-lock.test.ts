// A DuckDB ledger held by another process: a clear LEDGER_LOCKED error naming the holder, from the API and the
// CLI, and nothing written or lost.
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openRecordStore } from "../../src/stores/index.js";
import { ROOT, sandbox } from "../helpers/cli.js";

const box = sandbox("fabra-lock-", (dir) => ({ FABRA_DUCKDB_PATH: join(dir, "held.duckdb") }));
const path = join(box.dir, "held.duckdb");
let holder: ReturnType<typeof execa> | undefined;

beforeAll(async () => {
  // Another process opens the ledger and keeps it open until killed.
  holder = execa(
    "node",
    [
      "--input-type=module",
      "-e",
      `
    import { DuckDBInstance } from "@duckdb/node-api";
    const db = await DuckDBInstance.create(${JSON.stringify(path)});
    const connection = await db.connect();
    await connection.run("CREATE TABLE IF NOT EXISTS t (x INT)");
    // Held in a live closure: a collected instance would close the file and release its lock.
    globalThis.held = { db, connection };
    console.log("ready");
    setInterval(() => void globalThis.held, 1000);
  `,
    ],
    { cwd: ROOT, reject: false },
  );
  await new Promise<void>((resolve, reject) => {
    holder?.stdout?.on("data", (d: Buffer) => d.toString().includes("ready") && resolve());
    holder?.catch(reject);
  });
});

afterAll(() => {
  holder?.kill("SIGKILL");
});

describe("a ledger held by another process", () => {
  it("fails to open with LEDGER_LOCKED naming the holder's PID and what to do", async () => {
    const error = await openRecordStore({
      stores: { offline: { type: "duckdb", path }, online: { type: "memory" }, vector: { type: "memory" } },
    }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(error).toMatchObject({ code: "LEDGER_LOCKED", details: { pid: holder?.pid } });
    expect((error as Error).message).toContain(`PID ${holder?.pid}`);
    expect((error as { hint: string }).hint).toMatch(/FABRA_DUCKDB_PATH/);
  });

  it("the CLI says so in one line with exit 3", async () => {
    const r = await box.run(["context", "list"]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/^✗ The DuckDB file .*held\.duckdb is in use by another process \(PID \d+/);
    expect(r.stderr).toMatch(/hint: .*one writer at a time/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
