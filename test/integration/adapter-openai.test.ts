// fabra/openai against the real `openai` SDK talking to a local OpenAI-compatible server: the request carries the
// context's messages, and the response (plain, streamed, responses API) is linked to the record as an outcome entry.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chatCompletionParams, responsesParams, streamWithContext, withContext } from "../../src/adapters/openai.js";
import { outcomeCanonicalBytes, OUTCOME_DOMAIN_PREFIX, outcomeHash } from "../../src/engine/ledger/outcome.js";
import { context, createFabra, type FabraRuntime } from "../../src/index.js";
import { contentHash } from "../../src/record/hash.js";
import { startChatServer, type ChatServer } from "../helpers/chat-server.js";
import { tempFile } from "../helpers/temp.js";

let server: ChatServer;
let fabra: FabraRuntime;
let client: OpenAI;
const support = context({}, ({ q }: { q: string }) => [
  { content: "You answer support questions.", role: "system" as const },
  { content: q, role: "user" as const },
]);

beforeAll(async () => {
  server = await startChatServer();
  fabra = await createFabra({
    stores: { offline: { type: "duckdb", path: tempFile("fabra-openai-", "fabra.duckdb") } },
    definitions: { support },
    warn: () => {},
  });
  client = new OpenAI({ apiKey: "test-key", baseURL: server.baseUrl, maxRetries: 0 });
});
afterAll(async () => {
  await fabra?.close();
  await server?.close();
});

describe("fabra/openai", () => {
  it("sends the context's messages to chat.completions and links the completion to the record", async () => {
    const ctx = await support({ q: "How do I reset my password?" });
    const completion = await withContext(fabra, ctx, () =>
      client.chat.completions.create(chatCompletionParams(ctx, { model: "gpt-4o-mini" })),
    );
    expect(completion.choices[0]?.message.content).toBe(server.reply);
    expect(server.requests.at(-1)?.body.messages).toEqual([
      { role: "system", content: "You answer support questions." },
      { role: "user", content: "How do I reset my password?" },
    ]);
    const [outcome, ...more] = await fabra.outcomes(ctx.id);
    expect(more).toEqual([]);
    expect(outcome).toMatchObject({
      context_id: ctx.id,
      provider: "openai",
      response_id: completion.id,
      model: "gpt-4o-mini",
      usage: { input_tokens: 21, output_tokens: 5, total_tokens: 26 },
      finish_reason: "stop",
      output_text: server.reply,
      output_hash: contentHash(server.reply),
      error: null,
    });
    expect(outcome?.latency_ms).toBeGreaterThan(0);
    // The record is untouched; the entry has its own domain-separated bytes.
    expect((await fabra.ledger.verify(ctx.id)).verification.ok).toBe(true);
    const bytes = new TextDecoder().decode(outcomeCanonicalBytes(outcome as never));
    expect(bytes.startsWith(OUTCOME_DOMAIN_PREFIX)).toBe(true);
    expect(outcomeHash(outcome as never)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it("links a streamed completion once the stream ends", async () => {
    const ctx = await support({ q: "Stream it" });
    let text = "";
    for await (const chunk of streamWithContext(fabra, ctx, () =>
      client.chat.completions.create({
        ...chatCompletionParams(ctx, { model: "gpt-4o-mini" }),
        stream: true,
        stream_options: { include_usage: true },
      }),
    )) {
      text += chunk.choices[0]?.delta.content ?? "";
    }
    expect(text).toBe(server.reply);
    const [outcome] = await fabra.outcomes(ctx.id);
    expect(outcome).toMatchObject({
      finish_reason: "stop",
      output_text: server.reply,
      usage: { input_tokens: 21, output_tokens: 5, total_tokens: 26 },
    });
    expect(outcome?.response_id).toMatch(/^resp_/);
  });

  it("sends the messages as responses input and links the response", async () => {
    const ctx = await support({ q: "Responses API" });
    const response = await withContext(fabra, ctx, () =>
      client.responses.create(responsesParams(ctx, { model: "gpt-4o-mini" })),
    );
    expect(server.requests.at(-1)?.path).toBe("/responses");
    expect(server.requests.at(-1)?.body.input).toEqual(ctx.messages);
    const [outcome] = await fabra.outcomes(ctx.id);
    expect(outcome).toMatchObject({ response_id: response.id, finish_reason: "completed", output_text: server.reply });
  });

  it("links a failed call with its error and rethrows it", async () => {
    const ctx = await support({ q: "fail" });
    const broken = new OpenAI({ apiKey: "k", baseURL: `${server.baseUrl}/nowhere`, maxRetries: 0 });
    await expect(
      withContext(fabra, ctx, () => broken.chat.completions.create(chatCompletionParams(ctx, { model: "m" }))),
    ).rejects.toThrow();
    const [outcome] = await fabra.outcomes(ctx.id);
    expect(outcome?.error).toMatch(/404/);
    expect(outcome?.output_hash).toBeNull();
  });

  it("refuses an outcome for a record that is not in the ledger", async () => {
    await expect(
      fabra.recordOutcome("ctx_00000000-0000-7000-8000-000000000000", {
        provider: "openai",
        responseId: null,
        model: null,
        usage: null,
        latencyMs: 1,
        finishReason: null,
        outputText: null,
      }),
    ).rejects.toMatchObject({ code: "RECORD_NOT_FOUND" });
  });
});
