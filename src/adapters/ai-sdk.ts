// fabra/ai-sdk: Vercel AI SDK `generateText` / `streamText` arguments from a context (messages or prompt), and the
// link from the result (id, model, usage, finish reason, latency, text) to the context_id — streaming included.
// Works on the shapes of the `ai` package (optional peer); nothing here imports it.
import { FabraError } from "../errors.js";
import type { OutcomeEntry } from "../engine/ledger/outcome.js";
import {
  failedOutcome,
  linkCall,
  tokenCount,
  type ContextForModel,
  type OutcomeInput,
  type OutcomeRecorder,
} from "./outcome-link.js";

export type { ContextForModel, OutcomeRecorder };

const PROVIDER = "ai-sdk";

/** `{ messages }` for generateText / streamText: the context's messages (system ones allowed in place). */
export function aiSdkMessages(context: ContextForModel): {
  messages: { role: "system" | "user" | "assistant"; content: string }[];
  allowSystemInMessages: true;
} {
  const messages = context.messages.map((m, i) => {
    if (m.role === "tool") {
      throw new FabraError("INVALID_ARGUMENT", `Message ${i} of context ${context.id} has role tool`, {
        hint: "AI SDK tool messages carry tool results, not text; keep tool output in a user or system item.",
      });
    }
    return { role: m.role, content: m.content };
  });
  return { messages, allowSystemInMessages: true };
}

/**
 * `{ system?, prompt }` for a context that is one message, or a system message then a user message. Anything else
 * throws (use aiSdkMessages), so what is sent is always exactly the record's content.
 */
export function aiSdkPrompt(context: ContextForModel): { system?: string; prompt: string } {
  const [first, second, ...rest] = context.messages;
  if (first && !second) return { prompt: first.content };
  if (first?.role === "system" && second?.role === "user" && rest.length === 0)
    return { system: first.content, prompt: second.content };
  throw new FabraError(
    "INVALID_ARGUMENT",
    `Context ${context.id} has ${context.messages.length} messages (${context.messages.map((m) => m.role).join(", ")}); a prompt is one message, or system then user`,
    { hint: "Pass ...aiSdkMessages(ctx) instead." },
  );
}

interface ResultLike {
  text?: string;
  finishReason?: string;
  usage?: { inputTokens?: number; outputTokens?: number; totalTokens?: number };
  totalUsage?: ResultLike["usage"];
  response?: { id?: string; modelId?: string };
}

/** What a generateText result (or a streamText onFinish event) says about the call. */
export function describeAiSdkResult(result: unknown): Omit<OutcomeInput, "latencyMs" | "provider"> {
  const r = result as ResultLike;
  const usage = r.totalUsage ?? r.usage;
  return {
    responseId: r.response?.id ?? null,
    model: r.response?.modelId ?? null,
    usage: usage
      ? {
          inputTokens: tokenCount(usage.inputTokens),
          outputTokens: tokenCount(usage.outputTokens),
          totalTokens: tokenCount(usage.totalTokens),
        }
      : null,
    finishReason: r.finishReason ?? null,
    outputText: typeof r.text === "string" ? r.text : null,
  };
}

/** `await generateTextWithContext(fabra, ctx, () => generateText({ model, ...aiSdkMessages(ctx) }))`. */
export function generateTextWithContext<T>(
  fabra: OutcomeRecorder,
  context: ContextForModel,
  call: () => Promise<T>,
): Promise<T> {
  return linkCall(fabra, context.id, PROVIDER, call, describeAiSdkResult);
}

/** Callbacks to spread into streamText, and the outcome entry once the stream has finished (or failed). */
export interface StreamLink {
  onFinish: (event: unknown) => Promise<void>;
  onError: (event: { error: unknown }) => Promise<void>;
  /** Resolves with the linked entry when the stream ends; rejects if linking failed. */
  recorded: Promise<OutcomeEntry>;
}

/**
 * `streamText({ model, ...aiSdkMessages(ctx), ...streamLink(fabra, ctx) })`: latency runs from this call to the
 * stream's end; onFinish links the text, usage and finish reason; onError links the failure.
 */
export function streamLink(fabra: OutcomeRecorder, context: ContextForModel): StreamLink {
  const started = performance.now();
  let settle: { resolve: (e: OutcomeEntry) => void; reject: (e: unknown) => void } | undefined;
  const recorded = new Promise<OutcomeEntry>((resolve, reject) => {
    settle = { resolve, reject };
  });
  recorded.catch(() => undefined);
  const link = async (outcome: OutcomeInput): Promise<void> => {
    try {
      settle?.resolve(await fabra.recordOutcome(context.id, outcome));
    } catch (err) {
      settle?.reject(err);
      throw err;
    }
  };
  return {
    onFinish: (event) =>
      link({ provider: PROVIDER, latencyMs: performance.now() - started, ...describeAiSdkResult(event) }),
    onError: ({ error }) => link(failedOutcome(PROVIDER, performance.now() - started, error)),
    recorded,
  };
}
