// fabra/langchain: a LangChain.js retriever over a fabra retriever, and a callback handler that records what a
// chain did — the prompt a chat model (or LLM) was sent as a receipt (with the documents retrieved in that run), and
// the model's answer as an outcome linked to it. Needs @langchain/core (optional peer).
import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import { Document, type DocumentInterface } from "@langchain/core/documents";
import type { BaseMessage } from "@langchain/core/messages";
import type { LLMResult } from "@langchain/core/outputs";
import { BaseRetriever } from "@langchain/core/retrievers";
import type { ContextMessage, ContextResult, MessageRole, RetrievedChunk } from "../define/types.js";
import type { ReceiptInput } from "../engine/context/receipt.js";
import { contentHash } from "../record/hash.js";
import { nowDatetime } from "../record/datetime.js";
import { failedOutcome, tokenCount, type OutcomeInput, type OutcomeRecorder } from "./outcome-link.js";

const PROVIDER = "langchain";

/** What the retriever needs of a fabra runtime (a `FabraRuntime` is one). */
export interface RetrieverHost {
  runRetriever(name: string, query: string): Promise<RetrievedChunk[]>;
}

/** A LangChain retriever running the fabra retriever `retriever`; each Document carries its chunk in metadata. */
export class FabraRetriever extends BaseRetriever {
  override lc_namespace = ["fabra", "retrievers"];
  private readonly host: RetrieverHost;
  private readonly retrieverName: string;

  constructor(options: { fabra: RetrieverHost; retriever: string }) {
    super();
    this.host = options.fabra;
    this.retrieverName = options.retriever;
  }

  override async _getRelevantDocuments(query: string): Promise<DocumentInterface[]> {
    const chunks = await this.host.runRetriever(this.retrieverName, query);
    return chunks.map((c) => new Document({ id: c.chunkId, pageContent: c.content, metadata: { fabraChunk: c } }));
  }
}

/** What the handler needs of a fabra runtime. */
export interface RecorderHost extends OutcomeRecorder {
  record(receipt: ReceiptInput): Promise<ContextResult>;
}

export interface FabraCallbackOptions {
  fabra: RecorderHost;
  /** The name the receipts are filed under (their context_function). */
  contextFunction: string;
  /** The inputs recorded with each receipt (e.g. the user's question and id). */
  inputs?: Record<string, unknown>;
}

/**
 * Records each chat-model / LLM call of a run: the prompt as a receipt (with the documents retrieved before it in the
 * same handler), then the answer as an outcome. Handlers are awaited, so the record exists before the model is called.
 */
export class FabraCallbackHandler extends BaseCallbackHandler {
  name = "fabra";
  override awaitHandlers = true;
  /** The receipts written, in order (their context ids). */
  readonly contextIds: string[] = [];
  private readonly options: FabraCallbackOptions;
  private readonly runs = new Map<string, { contextId: string; started: number }>();
  private chunks: RetrievedChunk[] = [];

  constructor(options: FabraCallbackOptions) {
    super();
    this.options = options;
  }

  override async handleRetrieverEnd(documents: DocumentInterface[]): Promise<void> {
    this.chunks.push(...documents.map(chunkOf));
  }

  override async handleChatModelStart(_llm: unknown, messages: BaseMessage[][], runId: string): Promise<void> {
    await this.receipt(runId, { messages: (messages[0] ?? []).map(messageOf) });
  }

  override async handleLLMStart(_llm: unknown, prompts: string[], runId: string): Promise<void> {
    await this.receipt(runId, { content: prompts.join("\n") });
  }

  override async handleLLMEnd(output: LLMResult, runId: string): Promise<void> {
    const run = this.runs.get(runId);
    if (!run) return;
    this.runs.delete(runId);
    await this.options.fabra.recordOutcome(run.contextId, {
      provider: PROVIDER,
      latencyMs: performance.now() - run.started,
      ...describeLLMResult(output),
    });
  }

  override async handleLLMError(err: unknown, runId: string): Promise<void> {
    const run = this.runs.get(runId);
    if (!run) return;
    this.runs.delete(runId);
    await this.options.fabra.recordOutcome(
      run.contextId,
      failedOutcome(PROVIDER, performance.now() - run.started, err),
    );
  }

  private async receipt(runId: string, prompt: { messages?: ContextMessage[]; content?: string }): Promise<void> {
    const chunks = this.chunks;
    this.chunks = [];
    const result = await this.options.fabra.record({
      contextFunction: this.options.contextFunction,
      inputs: this.options.inputs ?? {},
      chunks,
      ...prompt,
    });
    this.contextIds.push(result.id);
    this.runs.set(runId, { contextId: result.id, started: performance.now() });
  }
}

const ROLE_OF: Record<string, MessageRole> = {
  system: "system",
  developer: "system",
  human: "user",
  user: "user",
  ai: "assistant",
  assistant: "assistant",
  tool: "tool",
  function: "tool",
};

function messageOf(m: BaseMessage): ContextMessage {
  const type = m.getType();
  const content = typeof m.content === "string" ? m.content : JSON.stringify(m.content);
  return { role: ROLE_OF[type] ?? "user", content };
}

/** A document as a retrieved chunk: a FabraRetriever's carries its own; any other is described from its text. */
function chunkOf(doc: DocumentInterface, i: number): RetrievedChunk {
  const own = (doc.metadata as { fabraChunk?: RetrievedChunk } | undefined)?.fabraChunk;
  if (own) return own;
  const source = typeof doc.metadata?.source === "string" ? doc.metadata.source : null;
  const id = doc.id ?? source ?? `langchain_doc_${i}`;
  return {
    chunkId: id,
    documentId: source ?? id,
    content: doc.pageContent,
    similarity: typeof doc.metadata?.score === "number" ? doc.metadata.score : 0,
    sourceUrl: source,
    tokenCount: 0,
    indexedAt: nowDatetime(),
    contentHash: contentHash(doc.pageContent),
    retriever: "langchain",
    index: "langchain",
  };
}

interface GenerationLike {
  text?: string;
  generationInfo?: { finish_reason?: string };
  message?: {
    id?: string;
    usage_metadata?: { input_tokens?: number; output_tokens?: number; total_tokens?: number };
    response_metadata?: { finish_reason?: string; model_name?: string; model?: string };
  };
}

/** What an LLMResult says about the call. */
export function describeLLMResult(output: LLMResult): Omit<OutcomeInput, "latencyMs" | "provider"> {
  const g = output.generations[0]?.[0] as GenerationLike | undefined;
  const usage = g?.message?.usage_metadata;
  const llmUsage = (output.llmOutput as { tokenUsage?: Record<string, number> } | undefined)?.tokenUsage;
  const meta = g?.message?.response_metadata;
  return {
    responseId: g?.message?.id ?? null,
    model: meta?.model_name ?? meta?.model ?? null,
    usage:
      usage || llmUsage
        ? {
            inputTokens: tokenCount(usage?.input_tokens ?? llmUsage?.promptTokens),
            outputTokens: tokenCount(usage?.output_tokens ?? llmUsage?.completionTokens),
            totalTokens: tokenCount(usage?.total_tokens ?? llmUsage?.totalTokens),
          }
        : null,
    finishReason: meta?.finish_reason ?? g?.generationInfo?.finish_reason ?? null,
    outputText: typeof g?.text === "string" ? g.text : null,
  };
}
