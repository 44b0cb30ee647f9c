// The CLI's client for a running server, against a real one: a context run there reads back as the same result
// (record included), replays, and the remote record store (append, get, list across pages, count, unknown ids).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FabraHttpClient } from "../../src/remote/client.js";
import { open as openRemote } from "../../src/stores/remote/records.js";
import { verifyRecord } from "../../src/record/index.js";
import { startTestServer, type TestServer } from "../helpers/server-app.js";

let t: TestServer;
let client: FabraHttpClient;
beforeAll(async () => {
  t = await startTestServer({ apiKeys: ["the-key"] });
  client = new FabraHttpClient(t.url, "the-key");
});
afterAll(async () => {
  await t.server.close();
});

describe("FabraHttpClient", () => {
  it("runs a context in the server: the result and its record, as the runtime has them", async () => {
    const result = await client.runContext("chat", { userId: "u1", query: "reset password" });
    expect(result.content).toContain("User u1 is gold.");
    expect(result.record.context_id).toBe(result.id);
    expect(result.meta).toMatchObject({
      recordHash: result.record.integrity.record_hash,
      persisted: true,
      freshnessStatus: expect.any(String),
    });
    expect(verifyRecord(result.record).ok).toBe(true);
    const stored = await t.fabra.stores.records.get(result.id);
    expect(stored?.recordHash).toBe(result.meta.recordHash);
  });

  it("replays a record there, and turns the server's errors back into the same FabraError", async () => {
    const { id } = await client.runContext("chat", { userId: "u2", query: "invoices" });
    const replay = await client.replay(id, false);
    expect(replay).toMatchObject({ original_id: id, mode: "recorded", same_content: true });
    expect(replay.diff.summary).toEqual(expect.any(String));
    await expect(client.runContext("nope", {})).rejects.toMatchObject({ code: "CONTEXT_NOT_FOUND" });
    await expect(client.replay("ctx_0190a1b2-c3d4-7e5f-8a9b-000000000000", false)).rejects.toMatchObject({
      code: "RECORD_NOT_FOUND",
    });
  });

  it("says which server did not answer", async () => {
    const gone = new FabraHttpClient("http://127.0.0.1:9", "the-key");
    await expect(gone.getRow("ctx_x")).rejects.toMatchObject({
      code: "STORE_UNAVAILABLE",
      message: expect.stringContaining("http://127.0.0.1:9 did not answer GET /v1/ledger/rows/ctx_x"),
    });
  });
});

describe("the remote record store", () => {
  it("reads rows byte for byte, pages through list, counts, and appends a known record as exists", async () => {
    const store = openRemote(t.url, "the-key");
    for (let i = 0; i < 3; i++) await client.runContext("chat", { userId: `u${i}`, query: "limits" });
    const total = await t.fabra.stores.records.count();
    expect(await store.count()).toBe(total);
    expect(await store.count({ contextFunction: "nope" })).toBe(0);
    const all = await store.list({ order: "asc", limit: 1000 });
    expect(all).toEqual(await t.fabra.stores.records.list({ order: "asc", limit: 1000 }));
    const first = all[0];
    if (!first) throw new Error("no rows");
    expect(await store.get(first.contextId)).toEqual(first);
    expect(await store.get("ctx_0190a1b2-c3d4-7e5f-8a9b-000000000000")).toBeNull();
    // Ledger writes take only the per-run token (the CLI beside the server), never an API key.
    await expect(store.append(first)).rejects.toMatchObject({ code: "FORBIDDEN" });
    const local = openRemote(t.url, t.server.localToken);
    expect(await local.append(first)).toBe("exists");
    await local.close();
    const paged = await store.list({ order: "asc", limit: 2, cursor: first.contextId });
    expect(paged).toEqual(all.slice(1, 3));
    await store.close();
  });
});
