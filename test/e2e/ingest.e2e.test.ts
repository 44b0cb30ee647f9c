// Ingested events with real processes: `fabra serve` and a `fabra worker` on the real Postgres (history) and Redis
// (streams, cache), events POSTed over HTTP as a client would (fetch, the Python route's query form too). Both
// processes consume through one group: every event is recomputed exactly once (one history row each), by one of them,
// and the served value is the recomputed one; a malformed entry is dead-lettered and `fabra ingest dead-letter`
// lists it and puts it back.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ResultPromise } from "execa";
import pg from "pg";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectCleanError, fabra, project } from "../helpers/cli.js";
import { migratedSchema, type TestSchema } from "../helpers/pg-stores.js";
import { startServeProcess } from "../helpers/serve-process.js";
import { deleteKeys, POSTGRES_URL, postgresUp, REDIS_URL, redisUp, uniqueName } from "../helpers/services.js";
import { tempDir } from "../helpers/temp.js";

const up = (await postgresUp()) && (await redisUp());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const FEATURES_TS = `
import { entity, feature } from "fabra";

export const user = entity("user");
export const plan = feature({ entity: user, triggers: ["user_updated"] }, (_id: string, trigger) =>
  String(trigger?.payload.plan ?? "free") + "@" + process.pid,
);
`;

describe.skipIf(!up)("fabra serve + fabra worker consuming ingested events (Postgres + Redis)", () => {
  let schema: TestSchema;
  const prefix = `${uniqueName()}:`;
  const dir = tempDir("fabra-ingest-");
  const env = { HOME: dir, NO_COLOR: "1", FABRA_POSTGRES_URL: "", FABRA_REDIS_URL: "" };
  let serve: { child: ResultPromise; url: string };
  let worker: ResultPromise;
  const workerEvents: Record<string, unknown>[] = [];
  let client: pg.Client;

  const waitFor = async (what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000) => {
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
    writeFileSync(join(dir, "features.ts"), FEATURES_TS);
    worker = fabra(["worker", "--json", "--claim-idle", "1s", "--max-attempts", "2"], { cwd: dir, env });
    let buffered = "";
    worker.stdout?.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) if (line.trim()) workerEvents.push(JSON.parse(line) as Record<string, unknown>);
    });
    serve = await startServeProcess(["--no-scheduler"], { cwd: dir, env });
    await waitFor("the worker to start", () => workerEvents.some((e) => e.type === "worker-started"));
  }, 60_000);
  afterAll(async () => {
    for (const p of [worker, serve?.child]) if (p && p.exitCode === null) p.kill("SIGKILL");
    await Promise.allSettled([worker, serve?.child]);
    await client?.end();
    await schema?.drop();
    await deleteKeys(REDIS_URL, prefix);
  });

  it("every event POSTed is recomputed exactly once, by the server or the worker, and served", async () => {
    expect(workerEvents.find((e) => e.type === "worker-started")).toMatchObject({ events: ["user_updated"] });
    const post = (path: string, body: unknown) =>
      fetch(serve.url + path, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const accepted: { msg_id: string; event_id: string; features: string[] }[] = [];
    for (let i = 0; i < 20; i++) {
      // Half in fabra's envelope, half in the Python form (?entity_id=, the payload as the body).
      const res =
        i % 2 === 0
          ? await post("/v1/ingest/user_updated", { entity_id: `u${i}`, payload: { plan: `p${i}` } })
          : await post(`/v1/ingest/user_updated?entity_id=u${i}`, { plan: `p${i}` });
      expect(res.status).toBe(202);
      accepted.push((await res.json()) as (typeof accepted)[number]);
    }
    expect(accepted[0]).toEqual({
      msg_id: expect.stringMatching(/^\d+-\d+$/),
      event_id: expect.any(String),
      features: ["plan"],
    });
    const bad = await post("/v1/ingest/user-updated", { entity_id: "u1" });
    expect(bad.status).toBe(400);

    const table = `${pg.escapeIdentifier(schema.target.schema)}.fabra_feature_values`;
    const rows = async () =>
      (
        await client.query<{ entity_id: string; value_json: string; run_id: string }>(
          `SELECT entity_id, value_json, run_id FROM ${table} WHERE feature = 'plan'`,
        )
      ).rows;
    await waitFor("20 recomputes in history", async () => (await rows()).length >= 20);
    await sleep(500); // room for a double recompute to show up
    const history = await rows();
    expect(history).toHaveLength(20);
    expect(new Set(history.map((r) => r.run_id))).toEqual(new Set(accepted.map((a) => `event:${a.event_id}`)));

    const pids = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${serve.url}/v1/features/plan?entity_id=u${i}`);
      const body = (await res.json()) as { value: string; served_from: string };
      expect(body.served_from).toBe("cache");
      const [value, pid] = body.value.split("@");
      expect(value).toBe(`p${i}`);
      pids.add(pid as string);
    }
    const byWorker = workerEvents.filter((e) => e.type === "event-processed");
    for (const e of byWorker)
      expect(e).toMatchObject({ event_type: "user_updated", features: ["plan"], deliveries: 1 });
    // Every computing pid is the worker's or the server's.
    const workerPid = String(worker.pid);
    for (const pid of pids) expect([workerPid, String(serve.child.pid)]).toContain(pid);
    expect(byWorker.length).toBe([...history].filter((r) => r.value_json.includes(`@${workerPid}`)).length);

    const metrics = await (await fetch(`${serve.url}/metrics`)).text();
    expect(metrics).toMatch(/fabra_ingest_events_received_total\{event="user_updated"\} 20/);
  }, 60_000);

  it("a malformed entry is dead-lettered; `fabra ingest dead-letter` lists it and --retry puts it back", async () => {
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 0 });
    try {
      const junk = (await redis.xadd(
        `${prefix}events:user_updated`,
        "*",
        "data",
        '{"id": "e1", "payload": {}}',
      )) as string;
      await waitFor("the dead letter", async () => (await redis.xlen(`${prefix}dlq:events`)) === 1);
      const listed = await fabra(["ingest", "dead-letter", "--json"], { cwd: dir, env });
      expect(listed.exitCode, String(listed.stderr)).toBe(0);
      const body = JSON.parse(String(listed.stdout)) as { dead_letters: Record<string, unknown>[] };
      expect(body.dead_letters).toEqual([
        expect.objectContaining({
          event_type: "user_updated",
          entry_id: junk,
          reason: expect.stringContaining("it has no entity_id"),
          data: { id: "e1", payload: {} },
        }),
      ]);
      const text = await fabra(["ingest", "dead-letter", "--retry"], { cwd: dir, env });
      expect(text.exitCode, String(text.stderr)).toBe(0);
      expect(String(text.stdout)).toContain("Retried 1 of 1");
      // Put back, it is malformed still: dead-lettered again by whichever consumer takes it.
      await waitFor("dead-lettered again", async () => (await redis.xlen(`${prefix}dlq:events`)) === 1);
    } finally {
      redis.disconnect();
    }
  }, 60_000);

  it("both stop cleanly on SIGTERM", async () => {
    worker.kill("SIGTERM");
    serve.child.kill("SIGTERM");
    const [w, s] = await Promise.all([worker, serve.child]);
    expect(w.exitCode, String(w.stderr)).toBe(0);
    expect(s.exitCode, String(s.stderr)).toBe(0);
    expect(workerEvents.at(-1)).toMatchObject({ type: "stopped" });
  }, 30_000);
});

describe("fabra ingest dead-letter and fabra worker in local mode", () => {
  const local = project(
    "fabra-ingest-local-",
    {
      "fabra.config.ts": `export default { definitions: ["./features.ts"], stores: { offline: { type: "duckdb", path: "f.duckdb" } } };\n`,
      "features.ts": FEATURES_TS,
    },
    {},
    { inProcess: true },
  );

  it("fabra serve queues in-process and recomputes in the server: the value served is the event's", async () => {
    const served = await startServeProcess(["--no-scheduler"], { cwd: local.dir, env: local.env });
    try {
      const res = await fetch(`${served.url}/v1/ingest/user_updated?entity_id=u1`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ plan: "pro" }),
      });
      expect(res.status).toBe(202);
      expect(((await res.json()) as { msg_id: string }).msg_id).toMatch(/^\d+-\d+$/);
      const read = async () =>
        ((await (await fetch(`${served.url}/v1/features/plan?entity_id=u1`)).json()) as { value?: string }).value;
      const deadline = Date.now() + 10_000;
      // The recompute writes the cache; until then a read computes "free" and caches it with an earlier as_of.
      while ((await read()) !== `pro@${served.child.pid}` && Date.now() < deadline) await sleep(50);
      expect(await read()).toBe(`pro@${served.child.pid}`);
      const letters = await (await fetch(`${served.url}/v1/ingest/dead-letter`)).json();
      expect(letters).toEqual({ dead_letters: [] });
    } finally {
      served.child.kill("SIGTERM");
      await served.child;
    }
  }, 30_000);

  it("say the in-process queue lives in fabra serve, with where to look instead", async () => {
    const deadLetters = await local.run(["ingest", "dead-letter"]);
    expectCleanError(deadLetters, 2, /queued inside `fabra serve`/);
    expect(String(deadLetters.stderr)).toContain("GET /v1/ingest/dead-letter");
    const worker = await local.spawn(["worker"]);
    expectCleanError(worker, 2, /consumed by `fabra serve` in local mode/);
  }, 30_000);
});
