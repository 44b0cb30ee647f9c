// fabra/ai-sdk against the real `ai` package and @ai-sdk/openai-compatible talking to a local server: generateText
// and streamText (messages or prompt) send the context, and the result is linked to the record.
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { generateText, streamText } from "ai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { aiSdkMessages, aiSdkPrompt, generateTextWithContext, streamLink } from "../../src/adapters/ai-sdk.js";
import { context, createFabra, type FabraRuntime } from "../../src/index.js";
import { startChatServer, type ChatServer } from "../helpers/chat-server.js";
import { tempFile } from "../helpers/temp.js";

let server: ChatServer;
let fabra: FabraRuntime;
const support = context({}, ({ q }: { q: string }) => [
  { content: "You answer support questions.", role: "system" as const },
  { content: q, role: "user" as const },
]);

const model = () =>
  createOpenAICompatible({ name: "local", baseURL: server.baseUrl, apiKey: "k", includeUsage: true }).chatModel(
    "local-model",
  );

beforeAll(async () => {
  server = await startChatServer();
  fabra = await createFabra({
    stores: { offline: { type: "duckdb", path: tempFile("fabra-ai-sdk-", "fabra.duckdb") } },
    definitions: { support },
    warn: () => {},
  });
});
afterAll(async () => {
  await fabra?.close();
  await server?.close();
});

describe("fabra/ai-sdk", () => {
  it("generateText with the context's messages, linked to the record", async () => {
    const ctx = await support({ q: "How do I reset?" });
    const result = await generateTextWithContext(fabra, ctx, () =>
      generateText({ model: model(), ...aiSdkMessages(ctx), maxRetries: 0 }),
    );
    expect(result.text).toBe(server.reply);
    expect(server.requests.at(-1)?.body.messages).toEqual(ctx.messages);
    const [outcome] = await fabra.outcomes(ctx.id);
    expect(outcome).toMatchObject({
      provider: "ai-sdk",
      response_id: result.response.id,
      model: "local-model",
      usage: { input_tokens: 21, output_tokens: 5, total_tokens: 26 },
      finish_reason: "stop",
      output_text: server.reply,
    });
  });

  it("generateText with system + prompt sends the same messages", async () => {
    const ctx = await support({ q: "prompt form" });
    await generateTextWithContext(fabra, ctx, () =>
      generateText({ model: model(), ...aiSdkPrompt(ctx), maxRetries: 0 }),
    );
    expect(server.requests.at(-1)?.body.messages).toEqual(ctx.messages);
    expect(await fabra.outcomes(ctx.id)).toHaveLength(1);
  });

  it("streamText links the streamed text when the stream ends", async () => {
    const ctx = await support({ q: "stream" });
    const link = streamLink(fabra, ctx);
    const result = streamText({ model: model(), ...aiSdkMessages(ctx), ...link, maxRetries: 0 });
    let text = "";
    for await (const part of result.textStream) text += part;
    expect(text).toBe(server.reply);
    const entry = await link.recorded;
    expect(entry).toMatchObject({
      context_id: ctx.id,
      finish_reason: "stop",
      output_text: server.reply,
      usage: { input_tokens: 21, output_tokens: 5, total_tokens: 26 },
    });
    expect(await fabra.outcomes(ctx.id)).toEqual([entry]);
  });

  it("a prompt refuses messages it cannot carry exactly", async () => {
    await expect(async () =>
      aiSdkPrompt({
        id: "x",
        messages: [
          { role: "user", content: "a" },
          { role: "assistant", content: "b" },
        ],
      }),
    ).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});
