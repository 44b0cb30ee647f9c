// Every route of `fabra serve` against a real listening server (random port), each bad input with its status and
// JSON error, the OpenAPI document against the routes actually registered, and the metrics they produce.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/server/app.js";
import { createAuth } from "../../src/server/auth.js";
import { counterValue, createServerMetrics } from "../../src/server/metrics.js";
import { readRecordText, verifyRecord } from "../../src/record/index.js";
import { json, startTestServer, type TestServer } from "../helpers/server-app.js";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t.server.close();
});

// Ledger writes take only the per-run token from the state file (test/integration/ledger-ingress.test.ts).
const post = (path: string, body: unknown) =>
  t.fetch(path, {
    method: "POST",
    body: typeof body === "string" ? body : JSON.stringify(body),
    ...(path.startsWith("/v1/ledger/") ? { key: t.server.localToken } : {}),
  });

describe("routes", () => {
  it("GET /health and /ready", async () => {
    const health = await t.fetch("/health");
    expect(health.status).toBe(200);
    expect(await json(health)).toMatchObject({ status: "ok", version: expect.any(String) });
    const ready = await json<{ status: string; checks: Record<string, { ok: boolean }> }>(await t.fetch("/ready"));
    expect(ready.status).toBe("ready");
    expect(Object.keys(ready.checks)).toEqual(["events", "offline", "online", "records", "vector"]);
  });

  it("GET /ready runs each store's own probe (the one `fabra doctor` runs): a failing one makes the server not ready", async () => {
    const down = {
      probe: async () => [
        {
          name: "stores.online (Redis)",
          state: "fail" as const,
          detail: "refused the connection",
          fix: "Start Redis.",
        },
      ],
    };
    const queueDown = {
      probe: async () => [
        { name: "stores.online (Redis Streams)", state: "fail" as const, detail: "Redis 6.0.9", fix: "Upgrade." },
      ],
    };
    const stores = {
      ...t.fabra.stores,
      online: { ...t.fabra.stores.online, ...down },
      events: { ...t.fabra.stores.events, ...queueDown },
    };
    const runtime = Object.assign(Object.create(t.fabra) as typeof t.fabra, { stores });
    const app = createApp({
      runtime,
      metrics: createServerMetrics(),
      auth: createAuth([]),
      bodyLimit: 1024,
      state: { draining: false, inFlight: 0 },
      log: () => {},
      version: "x",
      ledgerWrites: true,
    });
    const res = await app.request("/ready");
    expect(res.status).toBe(503);
    const body = await json<{ status: string; checks: Record<string, { ok: boolean; error?: string }> }>(res);
    expect(body.status).toBe("not_ready");
    expect(body.checks.online).toMatchObject({ ok: false, error: "stores.online (Redis): refused the connection" });
    expect(body.checks.events).toMatchObject({ ok: false, error: "stores.online (Redis Streams): Redis 6.0.9" });
    expect(body.checks.records?.ok).toBe(true);
  });

  it("GET /v1/features/:name computes on a cache miss, then serves the cache; as_of reads history", async () => {
    const first = await t.fetch("/v1/features/userTier?entity_id=u1");
    expect(first.status).toBe(200);
    expect(first.headers.get("content-type")).toMatch(/^application\/json/);
    const a = await json(first);
    expect(a).toMatchObject({
      name: "userTier",
      entity_id: "u1",
      value: "gold",
      served_from: "compute",
      freshness_ms: 0,
    });
    const b = await json(await t.fetch("/v1/features/userTier?entity_id=u1"));
    expect(b).toMatchObject({ value: "gold", served_from: "cache", as_of: a.as_of });
    const past = await json(
      await t.fetch(`/v1/features/userTier?entity_id=u1&as_of=${encodeURIComponent("2999-01-01T00:00:00Z")}`),
    );
    expect(past).toMatchObject({ value: "gold", served_from: "history", as_of: a.as_of });
    const float = await t.fetch("/v1/features/score?entity_id=u7");
    expect(await float.text()).toContain('"value":7.5');
  });

  it("POST /v1/features reads features × entities and reports errors per item", async () => {
    const res = await post("/v1/features", {
      features: ["userTier", "score", "nope", "broken"],
      entity_ids: ["u1", "u2"],
    });
    expect(res.status).toBe(200);
    const { results } = await json<{ results: Record<string, unknown>[] }>(res);
    expect(results).toHaveLength(8);
    expect(results[0]).toMatchObject({ name: "userTier", entity_id: "u1", value: "gold" });
    expect(results[1]).toMatchObject({ name: "score", entity_id: "u1", value: 1.5, served_from: "compute" });
    expect(results[2]).toMatchObject({ name: "nope", entity_id: "u1", error: { code: "FEATURE_NOT_FOUND" } });
    expect(results[3]).toMatchObject({
      name: "broken",
      error: { code: "FEATURE_COMPUTE_FAILED", message: expect.stringContaining("warehouse down") },
    });
    expect(results[4]).toMatchObject({ name: "userTier", entity_id: "u2", value: "free" });
    const pairs = await json<{ results: unknown[] }>(
      await post("/v1/features", { requests: [{ feature: "score", entity_id: "u3" }] }),
    );
    expect(pairs.results).toEqual([expect.objectContaining({ name: "score", entity_id: "u3", value: 3.5 })]);
  });

  it("takes whole-number entity ids as their strings, as feature.get does, and refuses empty or fractional ones", async () => {
    const byNumber = await json<{ results: unknown[] }>(
      await post("/v1/features", { features: ["score"], entity_ids: [41, "41"] }),
    );
    expect(byNumber.results).toEqual([
      expect.objectContaining({ entity_id: "41", value: 41.5 }),
      expect.objectContaining({ entity_id: "41", value: 41.5 }),
    ]);
    const single = await json<{ results: unknown[] }>(
      await post("/v1/features", { requests: [{ feature: "score", entity_id: 42 }] }),
    );
    expect(single.results).toEqual([expect.objectContaining({ entity_id: "42", value: 42.5 })]);
    for (const [body, message] of [
      [
        { features: ["score"], entity_ids: ["u1", ""] },
        '"entity_ids"[1] must be a non-empty string (or a whole number)',
      ],
      [{ features: ["score"], entity_id: 1.5 }, '"entity_id" must be a non-empty string (or a whole number)'],
      [
        { requests: [{ feature: "score", entity_id: {} }] },
        "requests[0].entity_id must be a non-empty string (or a whole number)",
      ],
    ] as const) {
      const res = await post("/v1/features", body);
      expect(res.status).toBe(400);
      expect(await json(res)).toMatchObject({ error: { code: "INVALID_ARGUMENT", message } });
    }
  });

  it("POST /v1/context/:name assembles, records, and the record routes find, verify, diff and replay it", async () => {
    const res = await post("/v1/context/chat", { userId: "u1", query: "reset password", verbose: true });
    expect(res.status).toBe(200);
    const a = await json<{
      context_id: string;
      content: string;
      record_hash: string;
      token_count: number;
      dropped: unknown[];
      meta: Record<string, unknown>;
    }>(res);
    expect(a.content).toContain("User u1 is gold.");
    expect(a.meta).toMatchObject({ persisted: true, budget_exceeded: false, freshness_status: "unknown" });
    expect(a.dropped.length).toBeGreaterThan(0); // 40 tokens cannot hold every chunk

    const record = await t.fetch(`/v1/contexts/${a.context_id}`);
    const text = await record.text();
    expect(verifyRecord(readRecordText(text)).ok).toBe(true);
    expect(readRecordText(text).integrity.record_hash).toBe(a.record_hash);
    expect(readRecordText(text).inputs).toEqual({ userId: "u1", query: "reset password", verbose: true });
    expect(await json(await t.fetch(`/v1/contexts/${a.context_id.slice(4)}/verify`))).toMatchObject({
      context_id: a.context_id,
      ok: true,
    });

    const b = await json<{ context_id: string }>(
      await post("/v1/context/chat", { userId: "u2", query: "invoice due date" }),
    );
    const list = await json<{ items: { context_id: string }[]; next_cursor: string | null }>(
      await t.fetch("/v1/contexts?function=chat&limit=1"),
    );
    expect(list.items.map((i) => i.context_id)).toEqual([b.context_id]);
    const next = await json<{ items: { context_id: string }[] }>(
      await t.fetch(`/v1/contexts?function=chat&limit=1&cursor=${list.next_cursor}`),
    );
    expect(next.items.map((i) => i.context_id)).toEqual([a.context_id]);
    const window = await json<{ items: unknown[] }>(
      await t.fetch(`/v1/contexts?since=2000-01-01T00:00:00Z&until=2000-01-02T00:00:00Z`),
    );
    expect(window.items).toEqual([]);

    const diff = await json<{ verified: boolean; diff: { summary: string; inputs: { changed: { name: string }[] } } }>(
      await post("/v1/contexts/diff", { a: a.context_id, b: b.context_id }),
    );
    expect(diff.verified).toBe(true);
    expect(diff.diff.inputs.changed.map((c) => c.name)).toEqual(["query", "userId"]);
    expect(diff.diff.summary).toMatch(/^content \d/);

    const reads = async () =>
      (await counterValue(t.server.metrics.featureReads, { feature: "userTier", source: "cache" })) +
      (await counterValue(t.server.metrics.featureReads, { feature: "userTier", source: "compute" }));
    const readsBefore = await reads();
    const replay = await json<{ original_id: string; context_id: string; same_content: boolean; mode: string }>(
      await post(`/v1/contexts/${a.context_id}/replay`, ""),
    );
    expect(replay).toMatchObject({ original_id: a.context_id, same_content: true, mode: "recorded" });
    expect(await reads()).toBe(readsBefore); // a recorded replay serves the record's values: no feature was read
    const live = await json(await post(`/v1/contexts/${a.context_id}/replay`, { live: true }));
    expect(live).toMatchObject({ mode: "live", same_content: true });
    expect(await reads()).toBe(readsBefore + 1); // a live replay reads today's value
    const linked = readRecordText(await (await t.fetch(`/v1/contexts/${replay.context_id}`)).text());
    expect(linked.integrity.previous_context_id).toBe(a.context_id);
  });

  it("/v1/ledger rows, count and verified appends", async () => {
    const created = await json<{ context_id: string }>(
      await post("/v1/context/chat", { userId: "u9", query: "limits" }),
    );
    const rows = await json<{ rows: { context_id: string; canonical_text: string }[] }>(
      await t.fetch("/v1/ledger/rows?order=asc&limit=1000"),
    );
    const row = rows.rows.find((r) => r.context_id === created.context_id);
    expect(row).toBeDefined();
    const one = await json<{ canonical_text: string }>(await t.fetch(`/v1/ledger/rows/${created.context_id}`));
    expect(one.canonical_text).toBe(row?.canonical_text);
    expect(await json(await t.fetch("/v1/ledger/count"))).toEqual({ count: rows.rows.length });
    expect(await json(await post("/v1/ledger/rows", { canonical_text: row?.canonical_text }))).toEqual({
      context_id: created.context_id,
      outcome: "exists",
    });
    const tampered = await post("/v1/ledger/rows", { canonical_text: row?.canonical_text.replace('"u9"', '"u8"') });
    expect(tampered.status).toBe(422);
    expect(await json(tampered)).toMatchObject({ error: { code: "VERIFICATION_FAILED" } });
    const pretty = await post("/v1/ledger/rows", {
      canonical_text: JSON.stringify(JSON.parse(row?.canonical_text ?? "{}"), null, 1),
    });
    expect(pretty.status).toBe(400);
  });

  it("GET /openapi.json describes every registered route; GET /metrics counts what happened", async () => {
    const doc = await json<{ openapi: string; paths: Record<string, Record<string, unknown>> }>(
      await t.fetch("/openapi.json"),
    );
    expect(doc.openapi).toBe("3.1.0");
    const app = createApp({
      runtime: t.fabra,
      metrics: createServerMetrics(),
      auth: createAuth([]),
      bodyLimit: 1024,
      state: { draining: false, inFlight: 0 },
      log: () => {},
      version: "x",
      ledgerWrites: true,
    });
    // The viewer's pages and assets (/ui) are HTML, not API: the document describes the API alone.
    const registered = app.routes
      .filter((r) => r.method !== "ALL" && !r.path.startsWith("/ui"))
      .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, "{$1}")}`);
    expect(registered.length).toBeGreaterThan(14);
    for (const route of registered) {
      const [method, path] = route.split(" ") as [string, string];
      expect(doc.paths[path]?.[method], route).toBeDefined();
    }
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`));
    expect(documented.sort()).toEqual([...new Set(registered)].sort());
    expect(JSON.stringify(doc)).toContain('"Inputs_chat"');

    const metrics = await (await t.fetch("/metrics")).text();
    expect(metrics).toMatch(/^# TYPE fabra_http_requests_total counter$/m);
    expect(metrics).toMatch(
      /^fabra_http_requests_total\{method="GET",route="\/v1\/features\/:name",status="200"\} [1-9]\d*$/m,
    );
    expect(metrics).toMatch(
      /^fabra_http_request_duration_seconds_bucket\{method="POST",route="\/v1\/context\/:name",le="\+Inf"\} [1-9]\d*$/m,
    );
    expect(metrics).toMatch(/^fabra_context_assemblies_total\{function="chat",outcome="ok"\} [1-9]\d*$/m);
    expect(metrics).toMatch(
      /^fabra_context_dropped_items_total\{function="chat",reason="budget_exceeded"\} [1-9]\d*$/m,
    );
    expect(metrics).toMatch(/^fabra_ledger_writes_total\{outcome="inserted"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^fabra_ledger_writes_total\{outcome="exists"\} 1$/m);
    expect(metrics).toMatch(/^fabra_feature_reads_total\{feature="userTier",source="cache"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^fabra_context_replays_total\{mode="live",outcome="ok"\} 1$/m);
    const writes = await counterValue(t.server.metrics.ledgerWrites, { outcome: "inserted" });
    const assemblies = await counterValue(t.server.metrics.assemblies, { function: "chat", outcome: "ok" });
    expect(writes).toBe(assemblies); // every assembly and replay wrote its record once
  });
});

describe("bad input: status and JSON error, never a stack trace", () => {
  const cases: [string, () => Promise<Response>, number, string, RegExp?][] = [
    ["feature without entity_id", () => t.fetch("/v1/features/userTier"), 400, "INVALID_ARGUMENT", /entity_id/],
    ["unknown feature", () => t.fetch("/v1/features/userTeir?entity_id=u1"), 404, "FEATURE_NOT_FOUND"],
    [
      "bad as_of",
      () => t.fetch("/v1/features/userTier?entity_id=u1&as_of=yesterday"),
      400,
      "INVALID_ARGUMENT",
      /as_of/,
    ],
    [
      "batch without features",
      () => post("/v1/features", { entity_ids: ["u1"] }),
      400,
      "INVALID_ARGUMENT",
      /"features"/,
    ],
    [
      "batch without entities",
      () => post("/v1/features", { features: ["userTier"] }),
      400,
      "INVALID_ARGUMENT",
      /entities/,
    ],
    [
      "batch with wrong types",
      () => post("/v1/features", { features: "userTier", entity_id: "u1" }),
      400,
      "INVALID_ARGUMENT",
    ],
    [
      "batch too large",
      () =>
        post("/v1/features", {
          features: ["userTier", "score"],
          entity_ids: Array.from({ length: 501 }, (_, i) => `${i}`),
        }),
      400,
      "INVALID_ARGUMENT",
      /1002 reads; at most 1000/,
    ],
    ["unknown context", () => post("/v1/context/chta", { userId: "u1" }), 404, "CONTEXT_NOT_FOUND"],
    ["malformed JSON", () => post("/v1/context/chat", '{"userId": "u1",'), 400, "INVALID_JSON", /line 1/],
    ["empty body", () => post("/v1/context/chat", ""), 400, "INVALID_JSON"],
    ["inputs not an object", () => post("/v1/context/chat", "[1,2]"), 400, "INVALID_ARGUMENT", /array/],
    ["missing input", () => post("/v1/context/chat", { userId: "u1" }), 400, "INVALID_INPUT", /missing input "query"/],
    [
      "wrong input type",
      () => post("/v1/context/chat", { userId: 42, query: "x" }),
      400,
      "INVALID_INPUT",
      /"userId".*integer, expected string/,
    ],
    [
      "unknown input",
      () => post("/v1/context/chat", { userId: "u1", query: "x", usrId: "u1" }),
      400,
      "INVALID_INPUT",
      /no input "usrId"/,
    ],
    ["bad limit", () => t.fetch("/v1/contexts?limit=0"), 400, "INVALID_ARGUMENT", /limit/],
    ["bad since", () => t.fetch("/v1/contexts?since=last-tuesday"), 400, "INVALID_ARGUMENT", /since/],
    ["bad order", () => t.fetch("/v1/contexts?order=sideways"), 400, "INVALID_ARGUMENT", /order/],
    ["bad cursor", () => t.fetch("/v1/contexts?cursor=zzz"), 400, "INVALID_ID"],
    ["bad id", () => t.fetch("/v1/contexts/not-an-id"), 400, "INVALID_ID"],
    ["unknown record", () => t.fetch("/v1/contexts/ctx_0190a1b2-0000-7000-8000-0000000000ff"), 404, "RECORD_NOT_FOUND"],
    [
      "verify unknown record",
      () => t.fetch("/v1/contexts/ctx_0190a1b2-0000-7000-8000-0000000000ff/verify"),
      404,
      "RECORD_NOT_FOUND",
    ],
    [
      "diff without b",
      () => post("/v1/contexts/diff", { a: "ctx_0190a1b2-0000-7000-8000-0000000000ff" }),
      400,
      "INVALID_ARGUMENT",
      /"b"/,
    ],
    [
      "diff of unknown records",
      () =>
        post("/v1/contexts/diff", {
          a: "ctx_0190a1b2-0000-7000-8000-0000000000ff",
          b: "ctx_0190a1b2-0000-7000-8000-0000000000fe",
        }),
      404,
      "RECORD_NOT_FOUND",
    ],
    [
      "replay with live not boolean",
      () => post("/v1/contexts/ctx_0190a1b2-0000-7000-8000-0000000000ff/replay", { live: "yes" }),
      400,
      "INVALID_ARGUMENT",
      /live/,
    ],
    [
      "replay of unknown record",
      () => post("/v1/contexts/ctx_0190a1b2-0000-7000-8000-0000000000ff/replay", {}),
      404,
      "RECORD_NOT_FOUND",
    ],
    ["unknown route", () => t.fetch("/v2/everything"), 404, "NOT_FOUND", /GET \/v2\/everything/],
    ["wrong method", () => t.fetch("/v1/features/userTier?entity_id=u1", { method: "DELETE" }), 404, "NOT_FOUND"],
  ];

  for (const [name, send, status, code, message] of cases) {
    it(`${name} → ${status} ${code}`, async () => {
      const res = await send();
      expect(res.status).toBe(status);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      expect(res.headers.get("x-request-id")).toMatch(/\S/);
      const body = await json<{ error: { code: string; message: string; hint?: string } }>(res);
      expect(body.error.code).toBe(code);
      if (message) expect(body.error.message).toMatch(message);
      expect(JSON.stringify(body)).not.toMatch(/\bat .*:\d+:\d+/); // no stack frames
      if (status < 500) expect(body.error.hint).toEqual(expect.any(String));
    });
  }

  it("a failing context function is a 500 with a request id, logged with its stack; internals stay in the log", async () => {
    const res = await post("/v1/context/boom", {});
    expect(res.status).toBe(500);
    const body = await json<{ error: { code: string; message: string; request_id: string } }>(res);
    expect(body.error.code).toBe("CONTEXT_FAILED");
    expect(body.error.request_id).toBe(res.headers.get("x-request-id"));
    const logged = t.logs.find((l) => l.includes(body.error.request_id));
    expect(logged).toMatch(/500 CONTEXT_FAILED POST \/v1\/context\/boom/);
    expect(logged).toMatch(/TypeError: cannot read properties/);

    const internal = await t.fetch("/v1/context/badItems", {
      method: "POST",
      body: "{}",
      headers: { "x-request-id": "req-42" },
    });
    expect(internal.status).toBe(500);
    const ib = await json<{ error: { code: string; message: string; hint: string } }>(internal);
    expect(ib.error).toMatchObject({ code: "INTERNAL", message: "Internal server error", request_id: "req-42" });
    expect(JSON.stringify(ib)).not.toContain("secret internal detail");
    expect(t.logs.find((l) => l.startsWith("[req-42]"))).toContain("RangeError: secret internal detail");
  });
});
