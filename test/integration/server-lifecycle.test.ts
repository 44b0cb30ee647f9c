// `fabra serve` under load and at the edges, on a real listening server: API keys, loopback-only mode, the body
// limit (sized and chunked bodies), concurrent requests, and graceful shutdown with requests in flight.
import { request } from "node:http";
import { connect } from "node:net";
import { DuckDBInstance } from "@duckdb/node-api";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/server/app.js";
import { apiKeysFromEnv } from "../../src/config/env.js";
import { createAuth } from "../../src/server/auth.js";
import { createServerMetrics } from "../../src/server/metrics.js";
import { connectedClients } from "../../src/util/company.js";
import { json, startTestServer } from "../helpers/server-app.js";

describe("auth", () => {
  it("with API keys: every route but the probes needs one, by Bearer or X-API-Key; the local token works too", async () => {
    const t = await startTestServer({ apiKeys: ["key-one", "key-two"] });
    try {
      const none = await t.fetch("/v1/features/userTier?entity_id=u1");
      expect(none.status).toBe(401);
      expect(none.headers.get("www-authenticate")).toBe('Bearer realm="fabra"');
      expect(await json(none)).toMatchObject({
        error: { code: "UNAUTHORIZED", message: "This server requires an API key" },
      });
      const wrong = await t.fetch("/v1/contexts", { key: "key-three" });
      expect(wrong.status).toBe(401);
      expect(await json(wrong)).toMatchObject({ error: { message: "The API key is not valid" } });
      expect((await t.fetch("/metrics")).status).toBe(401);

      expect((await t.fetch("/v1/features/userTier?entity_id=u1", { key: "key-two" })).status).toBe(200);
      expect((await t.fetch("/v1/contexts", { headers: { "x-api-key": "key-one" } })).status).toBe(200);
      expect((await t.fetch("/v1/contexts", { key: t.server.localToken })).status).toBe(200);
      for (const open of ["/health", "/ready", "/openapi.json"]) expect((await t.fetch(open)).status).toBe(200);
    } finally {
      await t.server.close();
    }
  });

  it("without keys: loopback clients only", async () => {
    const t = await startTestServer({ apiKeys: [] });
    try {
      expect((await t.fetch("/v1/contexts")).status).toBe(200); // we are on loopback
    } finally {
      await t.server.close();
    }
    const auth = createAuth([]);
    expect(auth.mode).toBe("loopback");
    for (const local of ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
      expect(() => auth.check({}, local)).not.toThrow();
    for (const remote of ["10.0.0.5", "192.168.1.20", "::ffff:10.0.0.5", "2001:db8::1", undefined]) {
      expect(() => auth.check({}, remote)).toThrow(
        expect.objectContaining({ code: "UNAUTHORIZED", message: expect.stringMatching(/only accepts loopback/) }),
      );
    }
    expect(() => createAuth(["k"]).check({}, "127.0.0.1")).toThrow(expect.objectContaining({ code: "UNAUTHORIZED" }));
    expect(() => createAuth(["k"]).check({ authorization: "bearer k" }, "10.0.0.5")).not.toThrow();
  });

  it("counts its connected clients for the ledger's group commit (util/company.ts), until each one closes", async () => {
    const t = await startTestServer();
    try {
      const before = connectedClients();
      const sockets = await Promise.all(
        [0, 1, 2].map(
          () =>
            new Promise<ReturnType<typeof connect>>((resolve, reject) => {
              const socket = connect(t.server.port, "127.0.0.1", () => resolve(socket));
              socket.on("error", reject);
            }),
        ),
      );
      const settled = async (n: number) => {
        for (let i = 0; i < 200 && connectedClients() !== n; i++) await new Promise((r) => setTimeout(r, 5));
        return connectedClients();
      };
      expect(await settled(before + 3)).toBe(before + 3);
      for (const s of sockets) s.destroy();
      expect(await settled(before)).toBe(before);
    } finally {
      await t.server.close();
    }
  });

  it("reads keys from FABRA_API_KEYS (comma-separated) and the original's FABRA_API_KEY", () => {
    expect(apiKeysFromEnv({ FABRA_API_KEYS: " a, b ,,c", FABRA_API_KEY: "d" })).toEqual(["a", "b", "c", "d"]);
    expect(apiKeysFromEnv({ FABRA_API_KEY: "a", FABRA_API_KEYS: "a" })).toEqual(["a"]);
    expect(apiKeysFromEnv({})).toEqual([]);
    // Non-ASCII keys are refused, naming the key's place and never the key.
    expect(() => apiKeysFromEnv({ FABRA_API_KEYS: "ok,clé" })).toThrow(
      /key 2 of FABRA_API_KEYS has a character outside printable ASCII/,
    );
    expect(() => apiKeysFromEnv({ FABRA_API_KEY: "ключ" })).toThrow(/^FABRA_API_KEY has a character/);
    try {
      apiKeysFromEnv({ FABRA_API_KEY: "ключ" });
    } catch (err) {
      expect(String(err)).not.toContain("ключ");
      expect((err as { code?: string }).code).toBe("INVALID_CONFIG");
    }
  });
});

describe("body limit", () => {
  it("refuses a body over the limit with 413, whether sized or chunked", async () => {
    const t = await startTestServer({ bodyLimit: 2048 });
    try {
      const big = JSON.stringify({ userId: "u1", query: "x".repeat(4000) });
      const sized = await t.fetch("/v1/context/chat", { method: "POST", body: big });
      expect(sized.status).toBe(413);
      expect(await json(sized)).toMatchObject({
        error: { code: "PAYLOAD_TOO_LARGE", message: expect.stringContaining("2048 bytes") },
      });

      const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(
          `${t.url}/v1/context/chat`,
          { method: "POST", headers: { "content-type": "application/json", "transfer-encoding": "chunked" } },
          (res) => {
            let body = "";
            res.on("data", (d: Buffer) => (body += d.toString()));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on("error", reject);
        for (let i = 0; i < 8; i++) req.write(big.slice(i * 512, (i + 1) * 512));
        req.end();
      });
      expect(chunked.status).toBe(413);
      expect(JSON.parse(chunked.body)).toMatchObject({ error: { code: "PAYLOAD_TOO_LARGE" } });

      expect(
        (await t.fetch("/v1/context/chat", { method: "POST", body: JSON.stringify({ userId: "u1", query: "fits" }) }))
          .status,
      ).toBe(200);
    } finally {
      await t.server.close();
    }
  });
});

describe("concurrency", () => {
  it("serves 150 concurrent requests correctly, each record with its own inputs", async () => {
    const t = await startTestServer();
    try {
      const before = await t.fabra.stores.records.count();
      const queries = ["reset password", "invoice due date", "requests per minute"];
      const assemblies = Array.from({ length: 100 }, (_, i) =>
        t.fetch("/v1/context/chat", {
          method: "POST",
          body: JSON.stringify({ userId: `u${i}`, query: queries[i % 3] }),
        }),
      );
      const reads = Array.from({ length: 50 }, (_, i) => t.fetch(`/v1/features/score?entity_id=u${i}`));
      const [made, read] = await Promise.all([Promise.all(assemblies), Promise.all(reads)]);
      expect(made.map((r) => r.status)).toEqual(made.map(() => 200));
      expect(read.map((r) => r.status)).toEqual(read.map(() => 200));
      const results = await Promise.all(made.map((r) => json<{ context_id: string; content: string }>(r)));
      expect(new Set(results.map((r) => r.context_id)).size).toBe(100);
      for (const [i, r] of results.entries()) expect(r.content).toContain(`User u${i} is`);
      const values = await Promise.all(read.map((r) => json<{ value: number }>(r)));
      for (const [i, v] of values.entries()) expect(v.value).toBe(i + 0.5);
      expect(await t.fabra.stores.records.count()).toBe(before + 100);
      for (const [i, r] of results.entries()) {
        const row = await t.fabra.stores.records.get(r.context_id);
        expect(row?.canonicalText).toContain(`"userId":"u${i}"`);
      }
    } finally {
      await t.server.close();
    }
  });
});

describe("graceful shutdown", () => {
  it("stops accepting, finishes every request in flight, then closes the stores", async () => {
    const t = await startTestServer();
    const inFlight = Array.from({ length: 12 }, (_, n) =>
      t.fetch("/v1/context/slow", { method: "POST", body: JSON.stringify({ n }) }),
    );
    while (t.gate.entered < 12) await new Promise((r) => setTimeout(r, 5));

    const closing = t.server.close();
    let closed = false;
    void closing.then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(closed).toBe(false); // still draining
    const refused = await new Promise<string>((resolve) => {
      const socket = connect(t.server.port, "127.0.0.1");
      socket.on("connect", () => {
        socket.destroy();
        resolve("connected");
      });
      socket.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? "error"));
    });
    expect(refused).toBe("ECONNREFUSED");

    t.gate.open();
    const responses = await Promise.all(inFlight);
    expect(responses.map((r) => r.status)).toEqual(responses.map(() => 200));
    const bodies = await Promise.all(responses.map((r) => json<{ content: string; context_id: string }>(r)));
    for (const [n, b] of bodies.entries()) expect(b.content).toBe(`slow ${n}`);
    await closing;
    await t.server.closed;

    // Every one of them is in the ledger, and the file is free again (the stores were closed).
    const db = await DuckDBInstance.create(t.ledger);
    const conn = await db.connect();
    const rows = (
      await conn.runAndReadAll("SELECT context_id FROM fabra_context_records WHERE context_function = 'slow'")
    ).getRowObjectsJS();
    conn.closeSync();
    db.closeSync();
    expect(rows.map((r) => r.context_id).sort()).toEqual(bodies.map((b) => b.context_id).sort());
  });

  it("while draining: answers close the connection, late requests get 503 SHUTTING_DOWN, probes say so", async () => {
    const t = await startTestServer();
    const socket = connect(t.server.port, "127.0.0.1");
    await new Promise((r) => socket.once("connect", r));
    let received = "";
    socket.on("data", (d: Buffer) => (received += d.toString()));
    const ended = new Promise((r) => socket.once("close", r));
    const body = '{"n": 7}';
    socket.write(
      `POST /v1/context/slow HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    while (t.gate.entered < 1) await new Promise((r) => setTimeout(r, 5));
    const started = performance.now();
    const closing = t.server.close();
    socket.write("GET /v1/contexts HTTP/1.1\r\nHost: x\r\n\r\n"); // pipelined behind the slow one
    await new Promise((r) => setTimeout(r, 50));
    t.gate.open();
    await ended;
    await closing;
    // The request in flight was answered, and told the client to reconnect elsewhere; nothing was left hanging.
    expect(received).toMatch(/^HTTP\/1\.1 200 /);
    expect(received).toMatch(/^connection: close\r$/im);
    expect(received).toContain('"content":"slow 7"');
    expect(performance.now() - started).toBeLessThan(5000);
    expect(t.logs.join("\n")).not.toMatch(/still running|SHUTTING_DOWN/);

    // What a request arriving during the drain gets (the app alone, in the draining state):
    const app = createApp({
      runtime: t.fabra,
      metrics: createServerMetrics(),
      auth: createAuth([]),
      bodyLimit: 1024,
      state: { draining: true, inFlight: 0 },
      log: () => {},
      version: "x",
      ledgerWrites: true,
    });
    const late = await app.request("/v1/contexts");
    expect(late.status).toBe(503);
    expect(late.headers.get("connection")).toBe("close");
    expect(await late.json()).toMatchObject({ error: { code: "SHUTTING_DOWN", hint: expect.any(String) } });
    expect(await (await app.request("/health")).json()).toMatchObject({ status: "draining" });
    expect((await app.request("/ready")).status).toBe(503);
  });

  it("cuts requests still running after the drain timeout, and says so", async () => {
    const t = await startTestServer({ drainTimeoutMs: 300 });
    const straggler = t.fetch("/v1/context/slow", { method: "POST", body: '{"n": 1}' }).then(
      (r) => r.status,
      () => "cut",
    );
    while (t.gate.entered < 1) await new Promise((r) => setTimeout(r, 5));
    const started = performance.now();
    await t.server.close(); // the slow request never finishes on its own
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(await straggler).toBe("cut");
    expect(t.logs.join("\n")).toMatch(/1 request\(s\) still running after 300 ms/);
    t.gate.open();
  });
});
