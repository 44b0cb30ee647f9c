// Request validation and /openapi.json come from the routes' zod declarations: parameters and bodies that fail
// their schema answer in the one error envelope (status, code, a message naming the field, a hint), bodies stay
// kind-preserving (a big integer entity id keeps its digits), and the document lists the project's own names.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { context, createFabra, entity, feature, type FabraRuntime } from "../../src/index.js";
import { createApp } from "../../src/server/app.js";
import { createAuth } from "../../src/server/auth.js";
import { createServerMetrics } from "../../src/server/metrics.js";
import { counterValue } from "../../src/server/metrics.js";
import { featureReadLane, plainEntityQuery } from "../../src/server/routes/features.js";
import { nodeExchange, parseWire } from "../helpers/node-exchange.js";

// biome-ignore lint/suspicious/noExplicitAny: response JSON, read by path in the assertions
type Json = Record<string, any>;

let fabra: FabraRuntime;
let app: ReturnType<typeof createApp>;
let deps: Parameters<typeof createApp>[0];

const LOCAL_TOKEN = "per-run-token";

beforeAll(async () => {
  const user = entity("user");
  const tier = feature({ entity: user }, (id: string) => {
    if (id === "boom") throw new Error("the tier service is down");
    return `tier of ${id}`;
  });
  const chat = context({ inputs: { userId: "string", limit: "integer?" } }, () => [{ content: "x" }]);
  const plain = context({}, () => [{ content: "y" }]);
  fabra = await createFabra({
    stores: { offline: { type: "duckdb", path: ":memory:" } },
    definitions: { user, tier, chat, plain },
    warn: () => {},
  });
  deps = {
    runtime: fabra,
    metrics: createServerMetrics(),
    auth: createAuth(["k"], LOCAL_TOKEN),
    bodyLimit: 1024,
    state: { draining: false, inFlight: 0 },
    log: () => {},
    version: "9.9.9",
    ledgerWrites: true,
  };
  app = createApp(deps);
});
afterAll(() => fabra.close());

const call = async (path: string, init: RequestInit = {}) => {
  const res = await app.request(path, {
    ...init,
    headers: { authorization: "Bearer k", "content-type": "application/json", ...init.headers },
  });
  return { status: res.status, body: JSON.parse(await res.text()) as Json };
};
// Ledger writes take only the per-run token (an API key is refused: test/integration/ledger-ingress.test.ts).
const post = (path: string, body: string) =>
  call(path, {
    method: "POST",
    body,
    ...(path.startsWith("/v1/ledger/") ? { headers: { authorization: `Bearer ${LOCAL_TOKEN}` } } : {}),
  });

describe("request validation", () => {
  it.each([
    ["/v1/contexts?limit=abc", 'limit="abc" is not a whole number from 1 to 1000', "Use e.g. limit=20."],
    ["/v1/ledger/rows?limit=5000", 'limit="5000" is not a whole number from 1 to 1000', "Use e.g. limit=100."],
    ["/v1/contexts?order=up", 'order="up" is not one of desc, asc', "Use order=desc."],
    [
      "/v1/ledger/count?since=monday",
      'since="monday" is not an ISO-8601 datetime or a duration ago',
      "Use e.g. since=2026-03-01T09:00:00Z or since=1h.",
    ],
    [
      "/v1/contexts?status=fine",
      'status="fine" is not a freshness status',
      "Use one of guaranteed, degraded, unknown.",
    ],
    ["/v1/contexts?feature=tier", 'feature="tier" is not name=value', "Use e.g. feature=userTier=enterprise."],
    [
      "/v1/contexts?has_drops=maybe",
      'has_drops="maybe" is not true or false',
      "Use has_drops=true or has_drops=false.",
    ],
    ["/v1/features/tier", "The query parameter entity_id is required", "Add ?entity_id=u_1."],
    [
      "/v1/contexts?limit=1&limit=2",
      "limit: Invalid input: expected string, received array",
      "GET /openapi.json describes every parameter.",
    ],
  ])("GET %s → 400 naming the parameter", async (path, message, hint) => {
    expect(await call(path)).toEqual({ status: 400, body: { error: { code: "INVALID_ARGUMENT", message, hint } } });
  });

  it("keeps the code a parameter's own parser gives (a bad cursor is INVALID_ID)", async () => {
    const { status, body } = await call("/v1/ledger/rows?cursor=zzz");
    expect(status).toBe(400);
    expect(body.error.code).toBe("INVALID_ID");
  });

  it.each([
    ["/v1/contexts/diff", '{"a": 5, "b": "x"}', '"a" in The body must be a string'],
    ["/v1/contexts/diff", '{"a": "x"}', 'The body is missing "b"'],
    ["/v1/ledger/rows", "{}", 'The body is missing "canonical_text"'],
    [
      "/v1/features",
      '{"features": "tier", "entity_id": "u1"}',
      "features: Invalid input: expected array, received string",
    ],
    [
      "/v1/features",
      '{"requests": [{"feature": 1, "entity_id": "u1"}]}',
      "requests[0].feature: Invalid input: expected string, received number",
    ],
    ["/v1/contexts/ctx_0190a1b2-0000-7000-8000-0000000000ff/replay", '{"live": 1}', '"live" must be true or false'],
  ])("POST %s %s → 400 naming the field", async (path, body, message) => {
    const res = await post(path, body);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: "INVALID_ARGUMENT", message, hint: expect.stringMatching(/^Send /) });
  });

  it("reads bodies kind-preserving and under the size limit, without asking for a content type", async () => {
    const big = await post("/v1/features", '{"features": ["tier"], "entity_ids": [12345678901234567890]}');
    expect(big.body.results).toEqual([
      expect.objectContaining({ entity_id: "12345678901234567890", value: "tier of 12345678901234567890" }),
    ]);
    const untyped = await app.request("/v1/features", {
      method: "POST",
      headers: { authorization: "Bearer k" },
      body: '{"features": ["tier"], "entity_id": 7}',
    });
    expect(untyped.status).toBe(200);
    // (The ledger route takes records up to the ledger's own size limit: see test/integration/large-records.test.ts.)
    const tooBig = await post("/v1/contexts/diff", JSON.stringify({ a: "x".repeat(2000), b: "y" }));
    expect(tooBig).toMatchObject({ status: 413, body: { error: { code: "PAYLOAD_TOO_LARGE" } } });
  });
});

describe("GET /openapi.json", () => {
  it("is generated from the declarations, with the project's features, contexts and declared inputs", async () => {
    const { status, body: doc } = await call("/openapi.json");
    expect(status).toBe(200);
    expect(doc.info.version).toBe("9.9.9");
    const param = (path: string, name: string) =>
      doc.paths[path].get.parameters.find((p: { name: string }) => p.name === name);
    expect(param("/v1/features/{name}", "name").schema.enum).toEqual(["tier"]);
    expect(param("/v1/features/{name}", "entity_id").required).toBe(true);
    expect(param("/v1/contexts", "limit").schema).toMatchObject({
      type: "integer",
      minimum: 1,
      maximum: 1000,
      default: 20,
    });
    expect(param("/v1/contexts", "order").schema.enum).toEqual(["desc", "asc"]);
    const assemble = doc.paths["/v1/context/{name}"].post;
    expect(assemble.parameters[0].schema.enum).toEqual(["chat", "plain"]);
    expect(assemble.requestBody.content["application/json"].schema).toEqual({
      oneOf: [{ $ref: "#/components/schemas/Inputs_chat" }, { type: "object" }],
    });
    expect(doc.components.schemas.Inputs_chat).toMatchObject({
      type: "object",
      additionalProperties: false,
      properties: { userId: { type: "string" }, limit: { type: ["integer", "null"] } },
      required: ["userId"],
    });
    expect(doc.components.schemas.Inputs_plain).toBeUndefined();
    expect(doc.paths["/v1/contexts/diff"].post.requestBody.content["application/json"].schema).toMatchObject({
      required: ["a", "b"],
    });
    expect(doc.paths["/health"].get.security).toEqual([]);
    expect(doc.security).toEqual([{ bearer: [] }, { apiKey: [] }]);
    expect(Object.keys(doc.components.securitySchemes)).toEqual(["bearer", "apiKey"]);
    expect(doc.paths["/v1/contexts"].get.responses["400"].content["application/json"].schema).toEqual({
      $ref: "#/components/schemas/Error",
    });
  });
});

describe("GET /v1/features/:name, the unchecked hot path", () => {
  it("takes only a query of exactly entity_id=<unreserved characters>", () => {
    expect(plainEntityQuery("/v1/features/tier?entity_id=u_1")).toBe("u_1");
    expect(plainEntityQuery("/v1/features/tier?entity_id=A-z.0~_")).toBe("A-z.0~_");
    for (const url of [
      "/v1/features/tier",
      "/v1/features/tier?entity_id=",
      "/v1/features/tier?entity_id=u%201",
      "/v1/features/tier?entity_id=u+1",
      "/v1/features/tier?entity_id=u_1&as_of=2026-01-01T00:00:00Z",
      "/v1/features/tier?entity_id=u_1&entity_id=u_2",
      "/v1/features/tier?as_of=x&entity_id=u_1",
      "/v1/features/tier?xentity_id=u_1",
    ])
      expect(plainEntityQuery(url)).toBe(null);
  });

  it("answers as the checked route does, and leaves every other request to it", async () => {
    await call("/v1/features/tier?entity_id=u_1"); // computed once; both reads below are cache hits
    const fast = await call("/v1/features/tier?entity_id=u_1");
    const checked = await call("/v1/features/tier?entity_id=u_1&ignored=1"); // not plain: the declared route
    expect(fast.status).toBe(200);
    expect({ ...fast.body, freshness_ms: 0 }).toEqual({ ...checked.body, freshness_ms: 0 });
    expect((await call("/v1/features/nope?entity_id=u_1")).status).toBe(404);
    expect((await call("/v1/features/tier?entity_id=u_1&entity_id=u_2")).status).toBe(400);
    const unauthorized = await app.request("/v1/features/tier?entity_id=u_1");
    expect(unauthorized.status).toBe(401);
  });
});

describe("featureReadLane: plain feature reads in front of hono's adapter", () => {
  /** Node's sides of a request from loopback; `took` says whether the lane answers it (`wire`: its bytes). */
  const request = (path: string, headers: Record<string, string> = { authorization: "Bearer k" }, method = "GET") => {
    const node = nodeExchange({
      method,
      url: path,
      rawHeaders: Object.entries(headers).flat(),
      remoteAddress: "127.0.0.1",
    });
    return { ...node, took: featureReadLane(deps)(node.incoming, node.outgoing) };
  };
  const read = async (wire: Promise<string>) => {
    const { status, headers, body } = parseWire(await wire);
    return { status, headers, body: JSON.parse(body) as Json };
  };

  it("answers a plain read itself, as the checked route does, and counts it under the route", async () => {
    await call("/v1/features/tier?entity_id=u_7"); // computed once, cached from here
    const counted = { method: "GET", route: "/v1/features/:name", status: "200" };
    const before = await counterValue(deps.metrics.requests, counted);
    const answered = request("/v1/features/tier?entity_id=u_7", { "x-api-key": "k", "x-request-id": "r-1" });
    expect(answered.took).toBe(true);
    const { headers, ...fast } = await read(answered.wire);
    expect(headers["x-request-id"]).toBe("r-1");
    expect(headers["content-type"]).toBe("application/json; charset=utf-8");
    const checked = await call("/v1/features/tier?entity_id=u_7&ignored=1");
    expect(fast).toEqual({ status: 200, body: { ...checked.body, freshness_ms: fast.body.freshness_ms } });
    expect(fast.body).toMatchObject({ value: "tier of u_7", served_from: "cache" });
    expect(await counterValue(deps.metrics.requests, counted)).toBe(before + 2);
    expect(deps.state.inFlight).toBe(0);
  });

  it("leaves to hono whatever it does not answer exactly as hono would", () => {
    for (const path of [
      "/v1/features/nope?entity_id=u_1", // unknown feature: hono's 404
      "/v1/features/ti%72?entity_id=u_1", // a name hono would decode
      "/v1/features/tier?entity_id=u_1&as_of=2026-01-01T00:00:00Z",
      "/v1/features/tier?entity_id=u%201",
      "/v1/features/tier/?entity_id=u_1",
      "/v1/features/?entity_id=u_1",
      "/v1/features/tier",
      "/v1/contexts?entity_id=u_1",
    ])
      expect(request(path).took, path).toBe(false);
    // Failing auth (no key, a wrong one): the middleware answers, with its 401.
    expect(request("/v1/features/tier?entity_id=u_1", {}).took).toBe(false);
    expect(request("/v1/features/tier?entity_id=u_1", { authorization: "Bearer nope" }).took).toBe(false);
    expect(request("/v1/features/tier?entity_id=u_1", undefined, "POST").took).toBe(false);
    deps.state.draining = true;
    try {
      expect(request("/v1/features/tier?entity_id=u_1").took).toBe(false);
    } finally {
      deps.state.draining = false;
    }
  });

  it("answers a failing read with the error envelope the checked route gives", async () => {
    const answered = request("/v1/features/tier?entity_id=boom");
    expect(answered.took).toBe(true);
    const { headers: _headers, ...fast } = await read(answered.wire);
    const checked = await call("/v1/features/tier?entity_id=boom&ignored=1");
    expect(fast.status).toBeGreaterThanOrEqual(500);
    expect(fast).toEqual({
      status: checked.status,
      body: { error: { ...checked.body.error, request_id: fast.body.error.request_id } },
    });
    expect(fast.body.error.code).toBe("FEATURE_COMPUTE_FAILED");
    expect(deps.state.inFlight).toBe(0);
  });
});
