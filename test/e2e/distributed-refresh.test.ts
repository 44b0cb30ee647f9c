// Distributed refresh with real processes: `fabra worker` ×4 on the real Postgres (history, runs) and Redis (locks),
// no leader. 50 features due once are each refreshed exactly once (every computation counted in a Postgres table by
// the feature functions themselves), spread over the workers in random order. A worker killed with SIGKILL while it
// holds a refresh lock: the lock is kept alive by extensions while the worker lives, then expires, and another worker
// resumes the same run to the end.
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import type { ResultPromise } from "execa";
import pg from "pg";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { datetimeToMs } from "../../src/record/datetime.js";
import { fabra } from "../helpers/cli.js";
import { tempDir } from "../helpers/temp.js";
import { migratedSchema, type TestSchema } from "../helpers/pg-stores.js";
import { deleteKeys, POSTGRES_URL, postgresUp, REDIS_URL, redisUp, uniqueName } from "../helpers/services.js";

const JOBS = Array.from({ length: 50 }, (_, i) => `job_${String(i).padStart(2, "0")}`);
const SLOW_ENTITIES = Array.from({ length: 12 }, (_, i) => `s${i + 1}`);
const up = (await postgresUp()) && (await redisUp());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Every computation inserts a row (feature, entity, worker pid) before it returns.
const FEATURES_TS = (jobs: string[]) => `
import { createRequire } from "node:module";
import { entity, feature } from "fabra";

const pg = createRequire(import.meta.url)(process.env.PG_MODULE as string);
const pool = new pg.Pool({ connectionString: process.env.COUNT_PG_URL, max: 1, allowExitOnIdle: true });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function execute(name: string, id: string, ms: number) {
  await pool.query(\`INSERT INTO \${process.env.COUNT_TABLE} (feature, entity_id, pid) VALUES ($1, $2, $3)\`, [name, id, process.pid]);
  await sleep(ms);
  return name + ":" + id;
}

export const user = entity("user");
${jobs.map((j) => `export const ${j} = feature({ entity: user, refresh: "1h", materialize: true, entities: ["a", "b"] }, (id: string) => execute("${j}", id, 25));`).join("\n")}
export const slow = feature({ entity: user, refresh: "1h", materialize: true, entities: ${JSON.stringify(SLOW_ENTITIES)} }, (id: string) => execute("slow", id, 500));
`;

interface WorkerEvent {
  at: string;
  type: string;
  feature?: string;
  run_id?: string;
  resumed?: boolean;
  reason?: string;
}

interface Worker {
  proc: ResultPromise;
  events: WorkerEvent[];
}

describe.skipIf(!up)("distributed refresh: fabra worker processes on Postgres + Redis", () => {
  let schema: TestSchema;
  const prefix = `${uniqueName()}:`;
  const dir = tempDir("fabra-workers-");
  let client: pg.Client;
  let redis: Redis;
  const workers: Worker[] = [];
  const sql = async <T = Record<string, unknown>>(text: string, params: unknown[] = []) =>
    (await client.query(text, params)).rows as T[];
  const table = (name: string) => `${pg.escapeIdentifier(schema.target.schema)}.${pg.escapeIdentifier(name)}`;

  const startWorker = (args: string[]): Worker => {
    const proc = fabra(["worker", "--json", ...args], {
      cwd: dir,
      env: {
        HOME: dir,
        NO_COLOR: "1",
        FABRA_POSTGRES_URL: "",
        FABRA_REDIS_URL: "",
        PG_MODULE: createRequire(import.meta.url).resolve("pg"),
        COUNT_PG_URL: POSTGRES_URL,
        COUNT_TABLE: table("executions"),
      },
    });
    const worker: Worker = { proc, events: [] };
    let buffered = "";
    proc.stdout?.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) if (line.trim()) worker.events.push(JSON.parse(line) as WorkerEvent);
    });
    workers.push(worker);
    return worker;
  };
  const waitFor = async (what: string, check: () => Promise<boolean> | boolean, timeoutMs = 45_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(50);
    }
  };

  beforeAll(async () => {
    schema = await migratedSchema(POSTGRES_URL);
    client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    redis = new Redis(REDIS_URL);
    await sql(
      `CREATE TABLE ${table("executions")} (feature text NOT NULL, entity_id text NOT NULL, pid integer NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())`,
    );
    writeFileSync(
      join(dir, "fabra.config.ts"),
      `export default {
        definitions: ["./features.ts"],
        stores: {
          offline: { type: "postgres", url: ${JSON.stringify(POSTGRES_URL)}, schema: ${JSON.stringify(schema.target.schema)}, poolSize: 2 },
          online: { type: "redis", url: ${JSON.stringify(REDIS_URL)}, keyPrefix: ${JSON.stringify(prefix)} },
        },
      };\n`,
    );
    writeFileSync(join(dir, "features.ts"), FEATURES_TS(JOBS));
  });
  afterAll(async () => {
    for (const w of workers) if (w.proc.exitCode === null) w.proc.kill("SIGKILL");
    await Promise.allSettled(workers.map((w) => w.proc));
    await client?.end();
    redis?.disconnect();
    await schema?.drop();
    await deleteKeys(REDIS_URL, prefix);
  });

  it("4 workers, 50 due features: each refreshed exactly once, by whichever worker took its lock", async () => {
    const four = Array.from({ length: 4 }, () => startWorker(["--features", JOBS.join(","), "--lock-ttl", "5s"]));
    await waitFor(
      "50 succeeded runs",
      async () =>
        Number(
          (
            await sql<{ n: string }>(
              `SELECT count(*) AS n FROM ${table("fabra_materialize_runs")} WHERE status = 'succeeded'`,
            )
          )[0]?.n,
        ) === 50,
    );
    await sleep(1000); // room for a double execution to show up
    for (const w of four) w.proc.kill("SIGTERM");
    const results = await Promise.all(four.map((w) => w.proc));
    for (const r of results) expect(r.exitCode, String(r.stderr)).toBe(0);

    // Exactly one computation per (feature, entity), counted by the feature functions in Postgres.
    const executions = await sql<{ feature: string; entity_id: string; n: string }>(
      `SELECT feature, entity_id, count(*) AS n FROM ${table("executions")} GROUP BY 1, 2 ORDER BY 1, 2`,
    );
    expect(executions).toEqual(
      JOBS.flatMap((feature) => ["a", "b"].map((entity_id) => ({ feature, entity_id, n: "1" }))),
    );
    const runs = await sql<{ feature: string; n: string; status: string; trigger: string; written: string }>(
      `SELECT feature, count(*) OVER (PARTITION BY feature) AS n, status, trigger, entities_written AS written FROM ${table("fabra_materialize_runs")} ORDER BY feature`,
    );
    expect(runs).toEqual(
      JOBS.map((feature) => ({ feature, n: "1", status: "succeeded", trigger: "schedule", written: "2" })),
    );
    const history = await sql<{ n: string }>(`SELECT count(*) AS n FROM ${table("fabra_feature_values")}`);
    expect(history[0]?.n).toBe("100");

    // Each run was announced by exactly one worker, and the one whose pid computed it.
    const started = four.flatMap((w, i) =>
      w.events.filter((e) => e.type === "started").map((e) => ({ ...e, worker: i, pid: w.proc.pid })),
    );
    expect(started.map((e) => e.feature).sort()).toEqual(JOBS);
    const pidOf = new Map(
      (await sql<{ feature: string; pid: number }>(`SELECT DISTINCT feature, pid FROM ${table("executions")}`)).map(
        (r) => [r.feature, r.pid],
      ),
    );
    for (const e of started) expect(pidOf.get(e.feature ?? ""), e.feature).toBe(e.pid);
    // No leader: the work is spread, in a random order (not the definitions' order).
    const perWorker = four.map((_, i) => started.filter((e) => e.worker === i).length);
    expect(perWorker.filter((n) => n > 0).length, `runs per worker: ${perWorker}`).toBeGreaterThanOrEqual(2);
    const order = started.sort((x, y) => datetimeToMs(x.at) - datetimeToMs(y.at)).map((e) => e.feature);
    expect(order).not.toEqual([...JOBS]);
    // Workers that found a feature locked said so and did not run it.
    const skipped = four.flatMap((w) => w.events.filter((e) => e.type === "skipped"));
    for (const s of skipped) expect(["locked", "not-due"]).toContain(s.reason);
  }, 90_000);

  it("a worker killed while holding a lock: the lock lives while it runs, expires after the kill, another worker resumes the run", async () => {
    const lockKey = `${prefix}lock:refresh:slow`;
    const ttl = 1000;
    const a = startWorker(["--features", "slow", "--lock-ttl", "1s", "--concurrency", "1"]);
    await waitFor(
      "worker A computing slow",
      async () =>
        Number(
          (await sql<{ n: string }>(`SELECT count(*) AS n FROM ${table("executions")} WHERE feature = 'slow'`))[0]?.n,
        ) > 0,
    );
    const token = await redis.get(lockKey);
    expect(token).not.toBeNull();
    // A second worker starts meanwhile; it will find the feature locked and leave it.
    const b = startWorker(["--features", "slow", "--lock-ttl", "1s", "--concurrency", "1"]);
    // Longer than the TTL: the lock is extended (same owner token), never lapses, while A is alive.
    const watchedFrom = Date.now();
    while (Date.now() - watchedFrom < ttl * 1.5) {
      expect(await redis.get(lockKey)).toBe(token);
      expect(await redis.pttl(lockKey)).toBeGreaterThan(0);
      await sleep(50);
    }
    await waitFor("worker B skipping the locked feature", () =>
      b.events.some((e) => e.type === "skipped" && e.reason === "locked"),
    );
    expect(await redis.get(lockKey)).toBe(token);
    const runId = a.events.find((e) => e.type === "started")?.run_id;
    expect(runId).toMatch(/^run_/);
    a.proc.kill("SIGKILL");
    const killed = await a.proc;
    expect(killed.signal).toBe("SIGKILL");
    const killedAt = Date.now();
    const [runAtKill] = await sql<{ status: string }>(
      `SELECT status FROM ${table("fabra_materialize_runs")} WHERE run_id = $1`,
      [runId],
    );
    expect(runAtKill?.status).toBe("running"); // the dead worker could not say otherwise
    const writtenByA = Number(
      (
        await sql<{ n: string }>(`SELECT count(*) AS n FROM ${table("fabra_feature_values")} WHERE run_id = $1`, [
          runId,
        ])
      )[0]?.n,
    );
    expect(writtenByA).toBeLessThan(SLOW_ENTITIES.length);

    // The lock expires by itself (nobody extends it any more); only then does B take the feature over.
    await waitFor("the dead worker's lock to expire", async () => (await redis.get(lockKey)) !== token, 10_000);
    const expiredAt = Date.now();
    expect(expiredAt - killedAt).toBeLessThanOrEqual(ttl + 500);
    await waitFor(
      "B to finish slow",
      () => b.events.some((e) => e.type === "finished" && e.feature === "slow"),
      30_000,
    );
    const resumedEvent = b.events.find((e) => e.type === "started");
    expect(resumedEvent).toMatchObject({ feature: "slow", run_id: runId, resumed: true });
    expect(datetimeToMs(resumedEvent?.at ?? "")).toBeGreaterThanOrEqual(expiredAt - 200);
    b.proc.kill("SIGTERM");
    expect((await b.proc).exitCode).toBe(0);

    const runs = await sql<{ run_id: string; status: string; written: string }>(
      `SELECT run_id, status, entities_written AS written FROM ${table("fabra_materialize_runs")} WHERE feature = 'slow'`,
    );
    expect(runs).toEqual([{ run_id: runId, status: "succeeded", written: String(SLOW_ENTITIES.length) }]);
    const history = await sql<{ entity_id: string; n: string }>(
      `SELECT entity_id, count(*) AS n FROM ${table("fabra_feature_values")} WHERE feature = 'slow' GROUP BY 1 ORDER BY 1`,
    );
    expect(history).toEqual([...SLOW_ENTITIES].sort().map((entity_id) => ({ entity_id, n: "1" })));
    // B computed exactly the entities A had not written (work A computed but never wrote is redone), each once.
    const byB = await sql<{ entity_id: string; n: string }>(
      `SELECT entity_id, count(*) AS n FROM ${table("executions")} WHERE feature = 'slow' AND pid = $1 GROUP BY 1`,
      [b.proc.pid],
    );
    expect(byB).toHaveLength(SLOW_ENTITIES.length - writtenByA);
    expect(byB.every((r) => r.n === "1")).toBe(true);
  }, 90_000);
});
