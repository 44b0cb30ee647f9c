// The built CLI's machine-readable side: `context run --inputs` read losslessly and recorded as given (locally and
// through a running `fabra serve`), every `--format json` / `--json` output in the HTTP API's snake_case shapes, and
// the flags that take durations.
import type { ResultPromise } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectCleanError, project as cliProject } from "../helpers/cli.js";
import { startServeProcess } from "../helpers/serve-process.js";

const DEFS = `
import { context, entity, feature } from "fabra";
export const user = entity("user");
export const big = feature({ entity: user }, () => 12345678901234567890n);
export const tier = feature({ entity: user, materialize: true, entities: ["u1", "u2"] }, (id: string) => (id === "u1" ? "gold" : "free"));
// The function sees plain JS values; the record keeps the inputs as given.
export const echoContext = context({ maxTokens: 100 }, async (inputs: Record<string, unknown>) => [
  { content: Object.keys(inputs).sort().map((k) => k + "=" + typeof inputs[k] + ":" + String(inputs[k])).join(" "), priority: 0 },
]);
`;

const project = () =>
  cliProject(
    "fabra-json-e2e-",
    {
      "fabra.config.ts": `export default { definitions: ["./defs.ts"], stores: { offline: { type: "duckdb", path: "fabra.duckdb" } } };\n`,
      "defs.ts": DEFS,
    },
    {},
    { inProcess: true },
  );

/** A clean usage error (exit code 2). */
const expectUsageError = (result: { stderr: unknown; exitCode?: number }, pattern: RegExp) =>
  expectCleanError(result, 2, pattern);

const INPUTS = '{"x": 12.0, "n": 12345678901234567890, "s": "hi", "nested": {"f": -0.0, "a": [1, 2.50]}}';
const RECORDED = '"inputs":{"n":12345678901234567890,"nested":{"a":[1,2.5],"f":-0.0},"s":"hi","x":12.0}';

describe("context run --inputs", () => {
  const p = project();

  it("records the inputs losslessly (12.0 a float, big integers exact), like POST /v1/context, and passes plain values", async () => {
    const ran = await p.run([
      "context",
      "run",
      "echoContext",
      "--inputs",
      INPUTS,
      "--input",
      "s=over",
      "--format",
      "json",
    ]);
    expect(ran.exitCode, ran.stderr).toBe(0);
    const result = JSON.parse(ran.stdout) as Record<string, unknown>;
    // The HTTP API's shape: snake_case, record_hash at the top.
    expect(Object.keys(result).sort()).toEqual([
      "content",
      "context_id",
      "dropped",
      "messages",
      "meta",
      "record_hash",
      "token_count",
    ]);
    expect(Object.keys(result.meta as object).sort()).toEqual([
      "budget_exceeded",
      "estimated_cost_usd",
      "feature_fallbacks",
      "freshness_status",
      "freshness_violations",
      "interaction_ref",
      "latency_ms",
      "persisted",
    ]);
    expect(result.content).toBe(
      "n=bigint:12345678901234567890 nested=object:[object Object] s=string:over x=number:12",
    );
    const shown = await p.run(["context", "show", result.context_id as string, "--format", "json"]);
    expect(shown.stdout).toContain(RECORDED.replace('"s":"hi"', '"s":"over"'));
    expect(shown.stdout).toContain(`"record_hash":"${result.record_hash as string}"`);
  });

  it("refuses text that is not a JSON object with one clear line", async () => {
    expectUsageError(
      await p.run(["context", "run", "echoContext", "--inputs", '{"x": 12.0']),
      /Invalid JSON in --inputs at line 1, column \d+/,
    );
    expectUsageError(
      await p.run(["context", "run", "echoContext", "--inputs", "[1]"]),
      /--inputs must be a JSON object/,
    );
    expectUsageError(
      await p.run(["context", "run", "echoContext", "--json", "--format", "text"]),
      /--json and --format text contradict/,
    );
  });
});

describe("through a running fabra serve", () => {
  const p = project();
  let server: { child: ResultPromise; url: string };

  beforeAll(async () => {
    server = await startServeProcess(["--drain-timeout", "2s", "--no-scheduler"], { cwd: p.dir, env: p.env });
  });

  afterAll(async () => {
    server.child.kill("SIGKILL");
    await server.child;
  });

  it("sends the inputs kind-preserving, so the server records what a local run records", async () => {
    const ran = await p.run(["context", "run", "echoContext", "--inputs", INPUTS, "--json"]);
    expect(ran.exitCode, ran.stderr).toBe(0);
    const result = JSON.parse(ran.stdout) as { context_id: string; content: string };
    expect(result.content).toBe("n=bigint:12345678901234567890 nested=object:[object Object] s=string:hi x=number:12");
    const record = await fetch(`${server.url}/v1/contexts/${result.context_id}`).then((r) => r.text());
    expect(record).toContain(RECORDED);

    // The text view is built from the server's answer too.
    const text = await p.run(["context", "run", "echoContext", "--inputs", '{"x": 1.5}']);
    expect(text.exitCode, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^context_id ctx_/);
    expect(text.stdout).toContain("x=number:1.5");
  });

  it("stops within the drain timeout given as a duration", async () => {
    server.child.kill("SIGTERM");
    const exited = await server.child;
    expect(exited.exitCode, String(exited.stderr)).toBe(0);
    expect(exited.stdout).toContain("fabra server stopped");
  });
});

describe("--format json and --json everywhere, in the HTTP API's shapes", () => {
  const p = project();

  beforeAll(async () => {
    for (let i = 0; i < 3; i++)
      expect((await p.run(["context", "run", "echoContext", "--input", `i=${i}`])).exitCode).toBe(0);
  });

  it("context list: { items, next_cursor } as GET /v1/contexts, paged with --cursor", async () => {
    const first = await p.run(["context", "list", "--limit", "2", "--json"]);
    expect(first.exitCode, first.stderr).toBe(0);
    const page1 = JSON.parse(first.stdout) as {
      items: { context_id: string; context_function: string }[];
      next_cursor: string | null;
    };
    expect(page1.items).toHaveLength(2);
    expect(page1.items[0]?.context_function).toBe("echoContext");
    expect(page1.next_cursor).toBe(page1.items[1]?.context_id);
    const second = await p.run([
      "context",
      "list",
      "--limit",
      "2",
      "--format",
      "json",
      "--cursor",
      page1.next_cursor as string,
    ]);
    const page2 = JSON.parse(second.stdout) as { items: { context_id: string }[]; next_cursor: string | null };
    expect(page2.items).toHaveLength(1);
    expect(page2.next_cursor).toBeNull();
    expect(new Set([...page1.items, ...page2.items].map((r) => r.context_id)).size).toBe(3);

    const table = await p.run(["context", "list", "--limit", "2"]);
    expect(table.stdout).toContain(`(more with --cursor ${page1.next_cursor})`);
    expectUsageError(await p.run(["context", "list", "--cursor", "nope"]), /is not a context id/);
  });

  it("features get: the shape and serializer of GET /v1/features/:name (big integers exact); --as-of from history", async () => {
    for (const args of [["--json"], ["--format", "json"]]) {
      const got = await p.run(["features", "get", "big", "u1", ...args]);
      expect(got.exitCode, got.stderr).toBe(0);
      expect(got.stdout).toMatch(/"value": 12345678901234567890,/);
      expect(JSON.parse(got.stdout)).toMatchObject({
        name: "big",
        entity_id: "u1",
        served_from: "compute",
        freshness_ms: 0,
      });
    }
    const text = await p.run(["features", "get", "big", "u1"]);
    expect(text.stdout).toContain("big(u1) = 12345678901234567890");

    // A value computed now, read as of an hour later: its age then is an hour, not 0.
    const asOf = new Date(Date.now() + 3_600_000).toISOString();
    const past = await p.run(["features", "get", "big", "u1", "--as-of", asOf, "--json"]);
    expect(past.exitCode, past.stderr).toBe(0);
    const value = JSON.parse(past.stdout) as { served_from: string; freshness_ms: number };
    expect(value.served_from).toBe("history");
    expect(value.freshness_ms).toBeGreaterThan(3_500_000);
    expectUsageError(await p.run(["features", "get", "nope", "u1", "--as-of", "1h"]), /Unknown feature "nope"/);
    expectUsageError(await p.run(["features", "get", "big", " "]), /The entity id is empty/);
  });

  it("materialize, features list, index list: snake_case, and errors as JSON too", async () => {
    const done = await p.run(["materialize", "tier", "--format", "json"]);
    expect(done.exitCode, done.stderr).toBe(0);
    const out = JSON.parse(done.stdout) as { ok: boolean; exit_code: number; features: Record<string, unknown>[] };
    expect(out).toMatchObject({ ok: true, exit_code: 0 });
    expect(out.features[0]).toMatchObject({
      feature: "tier",
      status: "succeeded",
      resumed: false,
      total: 2,
      written: 2,
      already_written: 0,
      errors: [],
    });
    expect(out.features[0]?.run_id).toMatch(/^run_/);
    expect(Object.keys(out.features[0] ?? {}).filter((k) => /[A-Z]/.test(k))).toEqual([]);

    const bad = await p.run(["materialize", "tierr", "--json"]);
    expect(bad.exitCode).toBe(2);
    expect(JSON.parse(bad.stdout)).toMatchObject({ ok: false, exit_code: 2, error: { code: "FEATURE_NOT_FOUND" } });
    expect(bad.stderr).toMatch(/^✗ /);

    const list = await p.run(["features", "list", "--format", "json"]);
    expect(list.exitCode, list.stderr).toBe(0);
    const features = JSON.parse(list.stdout) as { name: string; last_run: Record<string, unknown> | null }[];
    const tier = features.find((f) => f.name === "tier");
    expect(tier?.last_run).toMatchObject({
      run_id: out.features[0]?.run_id,
      feature: "tier",
      status: "succeeded",
      entities_written: 2,
      entities_failed: 0,
    });

    const indexes = await p.run(["index", "list", "--format", "json"]);
    expect(indexes.exitCode, indexes.stderr).toBe(0);
    expect(JSON.parse(indexes.stdout)).toEqual([]);
  });

  it("duration flags take units; bad ones are one clear line", async () => {
    expectUsageError(await p.spawn(["serve", "--drain-timeout", "10x"]), /--drain-timeout "10x" is not a duration/);
    expectUsageError(
      await p.spawn(["serve", "--drain-timeout", "0"]),
      /--drain-timeout "0" is not a duration of at least 1ms/,
    );
    expectUsageError(
      await p.spawn(["worker", "--lock-ttl", "50ms"]),
      /--lock-ttl "50ms" is not a duration of at least 100ms/,
    );
  });
});
