// The original's routes on `fabra serve`: GET /v1/record/{ref} and GET /v1/context/{id} by ctx_ id, bare UUID or
// sha256: record hash (the stored bytes), its diff route, X-API-Key, and interaction_ref in the assembly's meta.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readRecordText, verifyRecord } from "../../src/record/index.js";
import { json, startTestServer, type TestServer } from "../helpers/server-app.js";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ apiKeys: ["k-python"] });
});
afterAll(async () => {
  await t.server.close();
});

const withKey = (path: string, init: RequestInit = {}) =>
  t.fetch(path, { ...init, headers: { "x-api-key": "k-python", ...(init.headers as Record<string, string>) } });
const assemble = async (body: Record<string, unknown>) =>
  json<{ context_id: string; record_hash: string; meta: Record<string, unknown> }>(
    await withKey("/v1/context/chat", { method: "POST", body: JSON.stringify(body) }),
  );

describe("the original's routes", () => {
  it("finds a record by ctx_ id, bare UUID and sha256: hash on /v1/record and /v1/context, byte for byte", async () => {
    const a = await assemble({ userId: "u1", query: "reset password", session_id: "sess_7", turn_id: 2 });
    expect(a.meta.interaction_ref).toBe("sess_7:2");
    const stored = await (await withKey(`/v1/contexts/${a.context_id}`)).text();
    expect(verifyRecord(readRecordText(stored)).ok).toBe(true);
    expect(readRecordText(stored).inputs).toMatchObject({ session_id: "sess_7", turn_id: 2 });
    for (const ref of [a.context_id, a.context_id.slice(4), a.record_hash, a.record_hash.toUpperCase()]) {
      for (const path of [`/v1/record/${encodeURIComponent(ref)}`, `/v1/context/${encodeURIComponent(ref)}`]) {
        const res = await withKey(path);
        expect(res.status, path).toBe(200);
        expect(res.headers.get("content-type")).toContain("application/json");
        expect(await res.text(), path).toBe(stored);
      }
    }
    const raw = await withKey(`/v1/record/${a.record_hash}`); // the colon unescaped, as clients send it
    expect(await raw.text()).toBe(stored);
  });

  it("answers 404 for an unknown hash, 400 for a malformed ref, 401 without the key", async () => {
    const unknown = await withKey(`/v1/record/sha256:${"0".repeat(64)}`);
    expect(unknown.status).toBe(404);
    expect(await json(unknown)).toMatchObject({ error: { code: "RECORD_NOT_FOUND" } });
    const malformed = await withKey("/v1/context/sha256:abc");
    expect(malformed.status).toBe(400);
    expect(await json(malformed)).toMatchObject({ error: { code: "INVALID_ID" } });
    expect((await t.fetch("/v1/record/sha256:abc")).status).toBe(401);
    expect((await t.fetch("/v1/record/sha256:abc", { headers: { "x-api-key": "wrong" } })).status).toBe(401);
  });

  it("diffs two records by any ref, with the answer of POST /v1/contexts/diff", async () => {
    const a = await assemble({ userId: "u1", query: "reset password", call_id: "call_1" });
    expect(a.meta.interaction_ref).toBe("call_1");
    const b = await assemble({ userId: "u2", query: "invoice due date" });
    expect(b.meta.interaction_ref).toBeNull();
    const res = await withKey(`/v1/context/${a.record_hash}/diff/${b.context_id}`);
    expect(res.status).toBe(200);
    const diff = await json<{ verified: boolean; diff: { summary: string } }>(res);
    expect(diff.verified).toBe(true);
    const ours = await json(
      await withKey("/v1/contexts/diff", {
        method: "POST",
        body: JSON.stringify({ a: a.context_id, b: b.context_id }),
      }),
    );
    expect(diff).toEqual(ours);
  });

  it("lists the routes in the OpenAPI document", async () => {
    const doc = await json<{ paths: Record<string, unknown> }>(await withKey("/openapi.json"));
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(["/v1/record/{ref}", "/v1/context/{id}", "/v1/context/{a}/diff/{b}"]),
    );
  });
});
