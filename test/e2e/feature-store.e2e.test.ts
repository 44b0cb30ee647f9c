// The feature-store commands of the built CLI (in-process; the kill and the worker in child processes): `fabra
// materialize` killed with SIGKILL mid-run and re-run (one row per (feature, entity, run), no gaps), a throwing entity
// reported, `features list`, `training-data` to CSV and Parquet, `fabra worker` until SIGTERM, and every bad-input path
// (exit 2, one line).
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { beforeAll, describe, expect, it } from "vitest";
import { expectCleanError, project as cliProject } from "../helpers/cli.js";
const ENTITIES = 1500;

const FEATURES_TS = `
import { writeFileSync } from "node:fs";
import { entity, feature } from "fabra";

export const user = entity("user");
const ids = Array.from({ length: ${ENTITIES} }, (_, i) => "u" + i);
let computed = 0;

// Slow enough to be killed mid-run; u13 always fails.
export const slow = feature({ entity: user, materialize: true, entities: ids }, async (id: string) => {
  await new Promise((r) => setTimeout(r, 2));
  if (++computed === 400 && process.env.MARK) writeFileSync(process.env.MARK, "400 computed");
  if (id === "u13") throw new Error("no data for u13");
  return { id, score: Number(id.slice(1)) + 0.5 };
});

export const tier = feature({ entity: user, refresh: "1h", ttl: "2h", materialize: true, entities: ["u1", "u2"] }, (id: string) =>
  id === "u1" ? "gold" : "free",
);
`;

/** `run` is in-process (helpers/cli-in-process.ts); `spawn` is a child process, for the kill and the worker. */
function project() {
  const box = cliProject(
    "fabra-fs-e2e-",
    {
      "fabra.config.ts": `export default { definitions: ["./features.ts"], stores: { offline: { type: "duckdb", path: "fabra.duckdb" } } };\n`,
      "features.ts": FEATURES_TS,
    },
    {},
    { inProcess: true },
  );
  return {
    dir: box.dir,
    run: (args: string[], extraEnv: Record<string, string> = {}) => box.run(args, { env: extraEnv }),
    spawn: (args: string[], extraEnv: Record<string, string> = {}) => box.spawn(args, { env: extraEnv }),
  };
}

async function query<T>(path: string, sql: string): Promise<T[]> {
  const instance = await DuckDBInstance.create(path);
  const c = await instance.connect();
  try {
    return (await c.runAndReadAll(sql)).getRowObjectsJS() as T[];
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

/** A clean usage error (exit code 2). */
const expectUsageError = (result: { stderr: unknown; exitCode?: number }, pattern: RegExp) =>
  expectCleanError(result, 2, pattern);

describe("fabra materialize / features / training-data / worker", () => {
  const { dir, run, spawn } = project();
  const db = join(dir, "fabra.duckdb");
  let runId = "";

  beforeAll(() => {
    mkdirSync(join(dir, "empty-dir"));
  });

  it("resumes a run killed with SIGKILL: one row per (feature, entity, run), no gaps, the failure reported", async () => {
    const mark = join(dir, "mark");
    const child = spawn(["materialize", "slow", "--concurrency", "4", "--batch-size", "50"], { MARK: mark });
    for (let i = 0; i < 600 && !existsSync(mark); i++) await new Promise((r) => setTimeout(r, 25));
    expect(existsSync(mark)).toBe(true);
    child.kill("SIGKILL");
    const killed = await child;
    expect(killed.signal).toBe("SIGKILL");
    runId = /▶ slow: run (run_[0-9a-f-]+)/.exec(killed.stdout)?.[1] ?? "";
    expect(runId).not.toBe("");

    const before = await query<{ n: bigint }>(
      db,
      `SELECT count(*) AS n FROM fabra_feature_values WHERE feature = 'slow'`,
    );
    const writtenBefore = Number(before[0]?.n);
    expect(writtenBefore).toBeGreaterThan(0);
    expect(writtenBefore).toBeLessThan(ENTITIES - 1);

    const again = await run(["materialize", "slow", "--json"]);
    expect(again.exitCode, again.stderr).toBe(1); // finished, but u13 failed
    const out = JSON.parse(again.stdout) as { ok: boolean; exit_code: number; features: Record<string, unknown>[] };
    expect(out).toMatchObject({ ok: false, exit_code: 1 });
    expect(out.features[0]).toMatchObject({
      feature: "slow",
      run_id: runId,
      resumed: true,
      status: "partial",
      already_written: writtenBefore,
      written: ENTITIES - 1 - writtenBefore,
      failed: 1,
      errors: [{ entity_id: "u13", error: "no data for u13" }],
    });

    const perRun = await query<{ run_id: string; n: bigint; entities: bigint }>(
      db,
      `SELECT run_id, count(*) AS n, count(DISTINCT entity_id) AS entities FROM fabra_feature_values WHERE feature = 'slow' GROUP BY run_id`,
    );
    expect(perRun).toEqual([{ run_id: runId, n: BigInt(ENTITIES - 1), entities: BigInt(ENTITIES - 1) }]);
    const missing = await query<{ id: string }>(
      db,
      `SELECT 'u' || i AS id FROM range(${ENTITIES}) t(i) WHERE 'u' || i NOT IN (SELECT entity_id FROM fabra_feature_values WHERE feature = 'slow') ORDER BY id`,
    );
    expect(missing).toEqual([{ id: "u13" }]);
    const runs = await query<{ run_id: string; status: string; entities_written: bigint; entities_failed: bigint }>(
      db,
      `SELECT run_id, status, entities_written, entities_failed FROM fabra_materialize_runs WHERE feature = 'slow'`,
    );
    expect(runs).toEqual([
      { run_id: runId, status: "partial", entities_written: BigInt(ENTITIES - 1), entities_failed: 1n },
    ]);
  }, 90_000);

  it("prints a summary naming the failure, lists features with their runs, and takes --entities files", async () => {
    const plain = await run(["materialize", "tier"]);
    expect(plain.exitCode, plain.stderr).toBe(0);
    expect(plain.stdout).toMatch(/✓ tier: 2 written in .* \(run_/);
    expect(plain.stdout).toMatch(/1 feature: 2 values written, 0 failed/);
    // The online store is not shared across processes (memory): the cache dies with the command, and it says so.
    expect(plain.stdout).toContain("note: the online store is memory, so this command's cache dies with it");

    writeFileSync(join(dir, "ids.csv"), 'user_id,name\nu13,"Thirteen, the unlucky"\nu14,x\n');
    const fromCsv = await run(["materialize", "slow", "--entities", "ids.csv"]);
    expect(fromCsv.exitCode).toBe(1);
    expect(fromCsv.stdout).toMatch(/! slow: 1 written, 1 failed/);
    expect(fromCsv.stdout).toMatch(/✗ 1 entity of slow failed:\n\s+u13: no data for u13/);

    const list = await run(["features", "list", "--json"]);
    expect(list.exitCode, list.stderr).toBe(0);
    const features = JSON.parse(list.stdout) as {
      name: string;
      refresh: string | null;
      materialize: boolean;
      last_run: { status: string } | null;
      next_run: string | null;
    }[];
    expect(features.map((f) => [f.name, f.refresh, f.materialize, f.last_run?.status, f.next_run === null])).toEqual([
      ["slow", null, true, "partial", true],
      ["tier", "1h", true, "succeeded", false],
    ]);
    const table = await run(["features", "list"]);
    expect(table.stdout).toMatch(/^name\s+entity\s+refresh\s+ttl\s+materialized\s+last run\s+next run$/m);
    expect(table.stdout).toMatch(/^tier\s+user\s+1h\s+2h\s+yes\s+succeeded .* ago \(2 written\)\s+in 59m/m);
  }, 60_000);

  it("writes point-in-time training data to CSV on stdout and to Parquet", async () => {
    writeFileSync(
      join(dir, "events.csv"),
      "user,at,label\nu1,2000-01-01T00:00:00Z,0\nu1,2999-01-01T00:00:00Z,1\nu2,2999-01-01,1\n",
    );
    const csv = await run([
      "training-data",
      "--events",
      "events.csv",
      "--features",
      "tier,slow",
      "--entity-column",
      "user",
      "--timestamp-column",
      "at",
    ]);
    expect(csv.exitCode, csv.stderr).toBe(0);
    expect(csv.stdout).toBe(
      [
        "user,at,label,tier,slow",
        "u1,2000-01-01T00:00:00Z,0,,",
        'u1,2999-01-01T00:00:00Z,1,gold,"{""id"":""u1"",""score"":1.5}"',
        'u2,2999-01-01T00:00:00Z,1,free,"{""id"":""u2"",""score"":2.5}"', // (execa strips the final newline)
      ].join("\n"),
    );
    const parquet = await run([
      "training-data",
      "--events",
      "events.csv",
      "--features",
      "tier",
      "--entity-column",
      "user",
      "--timestamp-column",
      "at",
      "--as-of",
      "-o",
      "out.parquet",
    ]);
    expect(parquet.exitCode, parquet.stderr).toBe(0);
    expect(parquet.stdout).toMatch(
      /✓ Wrote 3 rows × 5 columns to out.parquet \(entity column user, time column at; values found: tier 67%\)/,
    );
    const rows = await query<Record<string, unknown>>(
      ":memory:",
      `SELECT "user", label, tier, tier_as_of IS NOT NULL AS has_as_of, typeof("at") AS at_type FROM '${join(dir, "out.parquet")}'`,
    );
    expect(rows.map((r) => [r.user, r.label, r.tier, r.has_as_of, r.at_type])).toEqual([
      ["u1", 0n, null, false, "TIMESTAMP"],
      ["u1", 1n, "gold", true, "TIMESTAMP"],
      ["u2", 1n, "free", true, "TIMESTAMP"],
    ]);

    // Default columns: <entity>_id and ts are found without flags; an events file with no rows keeps its columns.
    writeFileSync(join(dir, "events2.csv"), "user_id,ts,label\nu1,2999-01-01T00:00:00Z,1\n");
    const detected = await run(["training-data", "--events", "events2.csv", "--features", "tier"]);
    expect(detected.exitCode, detected.stderr).toBe(0);
    expect(detected.stdout).toBe("user_id,ts,label,tier\nu1,2999-01-01T00:00:00Z,1,gold");
    writeFileSync(join(dir, "empty.csv"), "user_id,ts,label\n");
    const empty = await run(["training-data", "--events", "empty.csv", "--features", "tier", "--as-of"]);
    expect(empty.exitCode, empty.stderr).toBe(0);
    expect(empty.stdout).toBe("user_id,ts,label,tier,tier_as_of");
    const emptyJson = await run([
      "training-data",
      "--events",
      "empty.csv",
      "--features",
      "tier",
      "-o",
      "empty.parquet",
    ]);
    expect(emptyJson.stdout).toMatch(/Wrote 0 rows × 4 columns to empty\.parquet/);
  }, 60_000);

  it("gives one clear line and exit 2 for bad input", async () => {
    writeFileSync(join(dir, "bad.csv"), "name,email\nx,y\n");
    const cases: [string[], RegExp][] = [
      [["materialize", "slwo"], /Unknown feature "slwo"[\s\S]*Did you mean "slow"\?/],
      [["materialize", "--entities", "nope.txt"], /No such entities file: .*nope\.txt/],
      [["materialize", "--entities", "empty-dir"], /is a directory/],
      [
        ["materialize", "slow", "--entities", "bad.csv"],
        /has no column "entity_id" or "user_id" or "user" or "id" \(its columns: name, email\)/,
      ],
      [["materialize", "--concurrency", "0"], /--concurrency "0" is not a positive whole number/],
      [["training-data", "--events", "missing.csv", "--features", "tier"], /No such events file: missing\.csv/],
      [["training-data", "--events", "events.csv", "--features", "teir"], /Unknown feature "teir"/],
      [
        [
          "training-data",
          "--events",
          "events.csv",
          "--features",
          "tier",
          "--entity-column",
          "user",
          "--timestamp-column",
          "at",
          "-o",
          "x.xlsx",
        ],
        /cannot tell the format/,
      ],
      [
        ["training-data", "--events", "events.csv", "--features", "tier"],
        /events\.csv has no timestamp column: none of timestamp, ts, event_time, time \(its columns: user, at, label\)/,
      ],
      [
        ["training-data", "--events", "bad.csv", "--features", "tier"],
        /bad\.csv has no entity column: none of entity_id, user_id, user, id \(its columns: name, email\)/,
      ],
      [
        ["training-data", "--events", "events.csv", "--features", "tier", "--entity-column", "name"],
        /events\.csv has no entity column "name" \(its columns: user, at, label\)/,
      ],
      [
        ["training-data", "--events", "events.csv", "--features", " , "],
        /--features names no feature[\s\S]*hint: Use e\.g\. --features slow,tier \(features: slow, tier\)/,
      ],
      [
        [
          "training-data",
          "--events",
          "events.csv",
          "--features",
          "tier",
          "--entity-column",
          "user",
          "--timestamp-column",
          "at",
          "--ttl",
          "soon",
        ],
        /ttl is "soon", which is not a duration/,
      ],
      [
        ["worker", "--features", "slow"],
        /Feature slow has no refresh schedule, so it cannot be refreshed on a schedule[\s\S]*Features refreshed on a schedule: tier\./,
      ],
      [["worker", "--features", "tiar"], /Unknown feature "tiar"[\s\S]*Did you mean "tier"\?/],
      [["worker", "--lock-ttl", "forever"], /--lock-ttl "forever" is not a duration/],
    ];
    // Each on its own DuckDB file; the worker's in a child process (it runs until stopped when it starts).
    const results = await Promise.all(
      cases.map(([args], i) =>
        (args[0] === "worker" ? spawn : run)(args, { FABRA_DUCKDB_PATH: join(dir, `errors-${i}.duckdb`) }),
      ),
    );
    for (const [i, result] of results.entries()) expectUsageError(result, (cases[i] as [string[], RegExp])[1]);
  }, 60_000);

  it("fabra worker refreshes due features and stops cleanly on SIGTERM", async () => {
    const worker = spawn(["worker", "--lock-ttl", "2s"], { FABRA_DUCKDB_PATH: join(dir, "worker.duckdb") });
    let output = "";
    worker.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    for (let i = 0; i < 400 && !/tier: 2 written/.test(output); i++) await new Promise((r) => setTimeout(r, 25));
    expect(output).toMatch(/worker: refreshing tier \(1h\)/);
    expect(output).toMatch(/tier: started run_/);
    expect(output).toMatch(/tier: 2 written in/);
    expect(output).toContain("note: the online store is memory, so refreshed values are cached in this process only");
    worker.kill("SIGTERM");
    const done = await worker;
    expect(done.exitCode, done.stderr).toBe(0);
    expect(done.stdout).toMatch(/worker: SIGTERM: stopping after the current batch/);
    expect(done.stdout).toMatch(/worker: stopped$/m);
    const runs = await query<{ status: string; trigger: string }>(
      join(dir, "worker.duckdb"),
      "SELECT status, trigger FROM fabra_materialize_runs",
    );
    expect(runs).toEqual([{ status: "succeeded", trigger: "schedule" }]);
  }, 60_000);
});
