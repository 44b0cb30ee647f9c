// fabra/langchain with the real @langchain/core: a FabraRetriever in a chain, and the callback handler recording the
// chat model's prompt as a receipt (with the retrieved documents) and its answer as an outcome. The chat model is a
// minimal LangChain model calling a local OpenAI-compatible server through the real `openai` client.
import { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { AIMessage, type BaseMessage, HumanMessage, SystemMessage } from "@langchain/core/messages";
import type { ChatResult } from "@langchain/core/outputs";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FabraCallbackHandler, FabraRetriever } from "../../src/adapters/langchain.js";
import { createFabra, retriever, type FabraRuntime } from "../../src/index.js";
import { startChatServer, type ChatServer } from "../helpers/chat-server.js";
import { tempFile } from "../helpers/temp.js";

class LocalChatModel extends BaseChatModel {
  constructor(private readonly client: OpenAI) {
    super({});
  }
  _llmType(): string {
    return "local-openai";
  }
  async _generate(messages: BaseMessage[]): Promise<ChatResult> {
    const roles: Record<string, "system" | "user" | "assistant"> = { system: "system", human: "user", ai: "assistant" };
    const completion = await this.client.chat.completions.create({
      model: "local-model",
      messages: messages.map((m) => ({ role: roles[m.getType()] ?? "user", content: String(m.content) })),
    });
    const choice = completion.choices[0];
    const text = choice?.message.content ?? "";
    return {
      generations: [
        {
          text,
          message: new AIMessage({
            content: text,
            id: completion.id,
            usage_metadata: {
              input_tokens: completion.usage?.prompt_tokens ?? 0,
              output_tokens: completion.usage?.completion_tokens ?? 0,
              total_tokens: completion.usage?.total_tokens ?? 0,
            },
            response_metadata: { model_name: completion.model, finish_reason: choice?.finish_reason },
          }),
        },
      ],
    };
  }
}

let server: ChatServer;
let fabra: FabraRuntime;
const docs = retriever({ index: "kb", topK: 1 });

beforeAll(async () => {
  server = await startChatServer();
  fabra = await createFabra({
    stores: { offline: { type: "duckdb", path: tempFile("fabra-langchain-", "fabra.duckdb") } },
    definitions: { docs },
    warn: () => {},
  });
  await fabra.index.add("kb", [{ id: "reset", content: "Reset your password on the sign-in page." }]);
});
afterAll(async () => {
  await fabra?.close();
  await server?.close();
});

describe("fabra/langchain", () => {
  it("records the retrieval and the prompt as a receipt, and the answer as its outcome", async () => {
    const handler = new FabraCallbackHandler({ fabra, contextFunction: "langchainSupport", inputs: { userId: "u1" } });
    const found = await new FabraRetriever({ fabra, retriever: "docs" }).invoke("reset password", {
      callbacks: [handler],
    });
    expect(found[0]?.pageContent).toContain("sign-in page");
    const model = new LocalChatModel(new OpenAI({ apiKey: "k", baseURL: server.baseUrl, maxRetries: 0 }));
    const answer = await model.invoke(
      [new SystemMessage(`Docs: ${found[0]?.pageContent}`), new HumanMessage("How do I reset?")],
      { callbacks: [handler] },
    );
    expect(answer.content).toBe(server.reply);

    const [id] = handler.contextIds;
    const { record } = await fabra.ledger.get(id as string);
    expect(record.context_function).toBe("langchainSupport");
    expect(JSON.parse(record.content)).toEqual([
      { role: "system", content: "Docs: Reset your password on the sign-in page." },
      { role: "user", content: "How do I reset?" },
    ]);
    expect(record.retrieved_items.map((r) => r.document_id)).toEqual(["reset"]);
    expect(record.inputs).toEqual({ userId: "u1" });
    expect((await fabra.ledger.verify(id as string)).verification.ok).toBe(true);
    const [outcome] = await fabra.outcomes(id as string);
    expect(outcome).toMatchObject({
      provider: "langchain",
      model: "local-model",
      finish_reason: "stop",
      output_text: server.reply,
      usage: { input_tokens: 21, output_tokens: 5, total_tokens: 26 },
    });
    expect(outcome?.response_id).toMatch(/^resp_/);
  });
});
