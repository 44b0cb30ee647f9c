// Receipts and outcomes: fabra.record() and POST /v1/receipts write records that verify like any other; outcomes
// are appended beside a record (GET/POST /v1/contexts/:id/outcomes) and never change what GET /v1/contexts/:id serves.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readRecordText, verifyRecord } from "../../src/record/index.js";
import { contentHash } from "../../src/record/hash.js";
import { outcomeHash } from "../../src/engine/ledger/outcome.js";
import { json, startTestServer, type TestServer } from "../helpers/server-app.js";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t.server.close();
});

const post = (path: string, body: unknown) =>
  t.fetch(path, { method: "POST", body: typeof body === "string" ? body : JSON.stringify(body) });

describe("receipts", () => {
  it("fabra.record() seals and persists a hand-built prompt with its features and chunks", async () => {
    await t.fabra.index.add("kb", [{ id: "reset", content: "Reset your password on the sign-in page." }]);
    const [chunk] = await t.fabra.index.search("kb", "reset password", { topK: 1 });
    const result = await t.fabra.record({
      contextFunction: "handBuiltPrompt",
      messages: [
        { role: "system", content: `Docs: ${chunk?.content}` },
        { role: "user", content: "How do I reset?" },
      ],
      inputs: { userId: "u1" },
      features: [{ name: "userTier", entityId: "u1", value: "gold", source: "cache" }],
      chunks: chunk ? [chunk] : [],
    });
    expect(result.meta.persisted).toBe(true);
    const stored = await t.fabra.ledger.get(result.id);
    expect(stored.record.context_function).toBe("handBuiltPrompt");
    expect(stored.record.content).toBe(result.content);
    expect(JSON.parse(result.content)).toEqual(result.messages);
    expect(stored.record.features).toMatchObject([{ name: "userTier", entity_id: "u1", value: "gold" }]);
    expect(stored.record.retrieved_items).toMatchObject([{ chunk_id: chunk?.chunkId, document_id: "reset" }]);
    expect(stored.record.lineage.indexes_used).toEqual(["kb"]);
    expect((await t.fabra.ledger.verify(result.id)).verification.ok).toBe(true);
  });

  it("refuses a receipt with both content and messages, or neither", async () => {
    await expect(
      t.fabra.record({ contextFunction: "x", content: "a", messages: [{ role: "user", content: "a" }], inputs: {} }),
    ).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(t.fabra.record({ contextFunction: "x", inputs: {} })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
  });

  it("POST /v1/receipts answers with the context_id; the record verifies and keeps 12.0 a float", async () => {
    // Raw text: JSON.stringify would write 12.0 as 12.
    const res = await post(
      "/v1/receipts",
      '{"context_function": "pythonPrompt", "content": "System: be brief.\\nUser: hi", "inputs": {"userId": "u2", "temperature": 12.0}}',
    );
    expect(res.status).toBe(200);
    const body = await json<{ context_id: string; record_hash: string; content: string }>(res);
    expect(body.content).toBe("System: be brief.\nUser: hi");
    const text = await (await t.fetch(`/v1/contexts/${body.context_id}`)).text();
    expect(text).toContain('"temperature":12.0');
    const record = readRecordText(text, "receipt");
    expect(verifyRecord(record).ok).toBe(true);
    expect(record.integrity.content_hash).toBe(contentHash("System: be brief.\nUser: hi"));
    expect(record.integrity.record_hash).toBe(body.record_hash);
  });

  it("POST /v1/receipts refuses a body without a prompt, with a hint", async () => {
    const res = await post("/v1/receipts", { context_function: "p", inputs: {} });
    expect(res.status).toBe(400);
    const body = await json<{ error: { code: string; hint: string } }>(res);
    expect(body.error.hint).toMatch(/content|messages/);
  });
});

describe("outcomes over HTTP", () => {
  it("appends and lists outcomes beside the record, which stays byte for byte the same", async () => {
    const made = await json<{ context_id: string }>(
      await post("/v1/receipts", { context_function: "p", messages: [{ role: "user", content: "hi" }], inputs: {} }),
    );
    const id = made.context_id;
    const before = await (await t.fetch(`/v1/contexts/${id}`)).text();
    const added = await post(`/v1/contexts/${id}/outcomes`, {
      provider: "python",
      response_id: "chatcmpl-1",
      model: "gpt-4o-mini",
      usage: { input_tokens: 3, output_tokens: 2, total_tokens: 5 },
      latency_ms: 812.5,
      finish_reason: "stop",
      output_text: "hello",
    });
    expect(added.status).toBe(200);
    const entry = await json<{ entry_hash: string; output_hash: string }>(added);
    expect(entry.output_hash).toBe(contentHash("hello"));
    const list = await json<{ outcomes: { entry_hash: string; latency_ms: number }[] }>(
      await t.fetch(`/v1/contexts/${id}/outcomes`),
    );
    expect(list.outcomes).toHaveLength(1);
    expect(list.outcomes[0]?.entry_hash).toBe(entry.entry_hash);
    const [stored] = await t.fabra.outcomes(id);
    expect(outcomeHash(stored as never)).toBe(entry.entry_hash);
    expect(await (await t.fetch(`/v1/contexts/${id}`)).text()).toBe(before);
  });

  it("404 for outcomes of a record that does not exist, 400 for a bad body", async () => {
    const missing = "ctx_00000000-0000-7000-8000-000000000000";
    expect((await t.fetch(`/v1/contexts/${missing}/outcomes`)).status).toBe(404);
    expect((await post(`/v1/contexts/${missing}/outcomes`, { latency_ms: 1 })).status).toBe(404);
    const made = await json<{ context_id: string }>(
      await post("/v1/receipts", { context_function: "p", content: "x", inputs: {} }),
    );
    const bad = await post(`/v1/contexts/${made.context_id}/outcomes`, { latency_ms: "soon" });
    expect(bad.status).toBe(400);
  });
});
