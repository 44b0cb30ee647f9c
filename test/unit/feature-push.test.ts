// POST /v1/features/push: one value or a batch into history and the online cache in one step, kinds kept, a late
// push never hiding a fresher cached value, and bad pushes answered with the error envelope, nothing written.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFabra, entity, type FabraRuntime, feature } from "../../src/index.js";
import { createApp } from "../../src/server/app.js";
import { createAuth } from "../../src/server/auth.js";
import { createServerMetrics } from "../../src/server/metrics.js";

let fabra: FabraRuntime;
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  const user = entity("user");
  const tier = feature({ entity: user }, () => "computed");
  fabra = await createFabra({
    stores: { offline: { type: "duckdb", path: ":memory:" } },
    definitions: { user, tier },
    warn: () => {},
  });
  app = createApp({
    runtime: fabra,
    metrics: createServerMetrics(),
    auth: createAuth(["k"]),
    bodyLimit: 64 * 1024,
    state: { draining: false, inFlight: 0 },
    ledgerWrites: false,
    log: () => {},
    version: "9.9.9",
  });
});
afterAll(() => fabra.close());

const push = async (body: string) => {
  const res = await app.request("/v1/features/push", {
    method: "POST",
    body,
    headers: { authorization: "Bearer k", "content-type": "application/json" },
  });
  return { status: res.status, body: JSON.parse(await res.text()) as Record<string, unknown> };
};

describe("POST /v1/features/push", () => {
  it("writes history and the cache in one step; the read serves the pushed value, a float stays a float", async () => {
    const r = await push('{"feature": "tier", "entity_id": "u1", "value": 12.0}');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ written: 1, cached: 1 });
    expect(String(r.body.run_id)).toMatch(/^push:/);
    expect((await fabra.stores.online.get({ feature: "tier", entityId: "u1" }))?.valueJson).toBe("12.0");
    expect((await fabra.stores.offline.latest("tier", "u1"))?.valueJson).toBe("12.0");
    expect((await fabra.getFeatureValue("tier", "u1")).source).toBe("cache");
  });

  it("a batch with event times goes to history at those times; a late push does not replace a fresher cached value", async () => {
    const r = await push(
      JSON.stringify({
        pushes: [
          { feature: "tier", entity_id: "u2", value: "gold", event_time: "2026-01-02T00:00:00Z" },
          { feature: "tier", entity_id: "u2", value: "silver", event_time: "2026-01-01T00:00:00Z" },
        ],
      }),
    );
    expect(r.body).toMatchObject({ written: 2, cached: 1 });
    // Both event times of u2 are in history (one value per (feature, entity, run): each gets its own run id).
    expect((await fabra.getFeatureAsOf("tier", "u2", "2026-01-01T12:00:00Z")).value).toBe("silver");
    expect((await fabra.getFeatureAsOf("tier", "u2", "2026-01-03T00:00:00Z")).value).toBe("gold");
    expect(await fabra.stores.online.get({ feature: "tier", entityId: "u2" })).toEqual({
      valueJson: '"gold"',
      asOf: "2026-01-02T00:00:00Z",
    });
    const late = await push(
      '{"feature": "tier", "entity_id": "u2", "value": "bronze", "event_time": "2025-12-01T00:00:00Z"}',
    );
    expect(late.body).toMatchObject({ written: 1, cached: 0 });
    expect((await fabra.stores.online.get({ feature: "tier", entityId: "u2" }))?.valueJson).toBe('"gold"');
    expect((await fabra.getFeatureAsOf("tier", "u2", "2025-12-15T00:00:00Z")).value).toBe("bronze");
  });

  it("an unknown feature, a bad entity id or event time is a 4xx naming it, and nothing is written", async () => {
    const unknown = await push('{"feature": "nope", "entity_id": "u3", "value": 1}');
    expect(unknown.status).toBe(404);
    const badId = await push(
      '{"pushes": [{"feature": "tier", "entity_id": "u3", "value": 1}, {"feature": "tier", "entity_id": "", "value": 1}]}',
    );
    expect(badId.status).toBe(400);
    expect(JSON.stringify(badId.body)).toContain("push 2");
    const badTime = await push('{"feature": "tier", "entity_id": "u3", "value": 1, "event_time": "yesterday"}');
    expect(badTime.status).toBe(400);
    expect(JSON.stringify(badTime.body)).toContain("event_time");
    expect(await fabra.stores.offline.latest("tier", "u3")).toBeNull();
  });
});
