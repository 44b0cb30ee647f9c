// fabra/openai: chat.completions and responses parameters from a context, and wrappers around the client's calls
// (plain and streaming) that link the response (id, model, usage, finish reason, latency, output) to the context_id.
// Works on the shapes of the `openai` package (optional peer); nothing here imports it.
import { FabraError } from "../errors.js";
import {
  failedOutcome,
  linkCall,
  tokenCount,
  type ContextForModel,
  type OutcomeInput,
  type OutcomeRecorder,
} from "./outcome-link.js";

export type { ContextForModel, OutcomeRecorder };

const PROVIDER = "openai";

/** A text message both chat.completions and responses accept. */
export interface TextMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** The context's messages as OpenAI text messages (tool messages need a tool_call_id a context cannot give). */
export function openAIMessages(context: ContextForModel): TextMessage[] {
  return context.messages.map((m, i) => {
    if (m.role === "tool") {
      throw new FabraError("INVALID_ARGUMENT", `Message ${i} of context ${context.id} has role tool`, {
        hint: "OpenAI tool messages answer a tool call by its id; keep tool output in a user or system item.",
      });
    }
    return { role: m.role, content: m.content };
  });
}

/** `client.chat.completions.create` parameters: `params` with the context's messages. */
export function chatCompletionParams<P extends { model: string }>(
  context: ContextForModel,
  params: P,
): P & { messages: TextMessage[] } {
  return { ...params, messages: openAIMessages(context) };
}

/** `client.responses.create` parameters: `params` with the context's messages as `input`. */
export function responsesParams<P extends { model: string }>(
  context: ContextForModel,
  params: P,
): P & { input: TextMessage[] } {
  return { ...params, input: openAIMessages(context) };
}

interface ChatCompletionLike {
  id?: string;
  model?: string;
  object?: string;
  usage?: { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number } | null;
  choices?: { finish_reason?: string | null; message?: { content?: string | null } }[];
}

interface ResponseLike {
  id?: string;
  model?: string;
  object?: string;
  status?: string;
  incomplete_details?: { reason?: string } | null;
  usage?: { input_tokens?: number; output_tokens?: number; total_tokens?: number } | null;
  output_text?: string;
  output?: { type?: string; content?: { type?: string; text?: string }[] }[];
}

/** What a chat completion or a response says about the call. */
export function describeOpenAIResponse(response: unknown): Omit<OutcomeInput, "latencyMs" | "provider"> {
  const r = response as ChatCompletionLike & ResponseLike;
  if (r.object === "response") {
    return {
      responseId: r.id ?? null,
      model: r.model ?? null,
      usage: r.usage
        ? {
            inputTokens: tokenCount(r.usage.input_tokens),
            outputTokens: tokenCount(r.usage.output_tokens),
            totalTokens: tokenCount(r.usage.total_tokens),
          }
        : null,
      finishReason: r.incomplete_details?.reason ?? r.status ?? null,
      outputText: typeof r.output_text === "string" ? r.output_text : responseText(r),
    };
  }
  const choice = r.choices?.[0];
  return {
    responseId: r.id ?? null,
    model: r.model ?? null,
    usage: r.usage
      ? {
          inputTokens: tokenCount(r.usage.prompt_tokens),
          outputTokens: tokenCount(r.usage.completion_tokens),
          totalTokens: tokenCount(r.usage.total_tokens),
        }
      : null,
    finishReason: choice?.finish_reason ?? null,
    outputText: choice?.message?.content ?? null,
  };
}

function responseText(r: ResponseLike): string | null {
  const parts = (r.output ?? []).flatMap((o) =>
    o.type === "message" ? (o.content ?? []).filter((c) => c.type === "output_text").map((c) => c.text ?? "") : [],
  );
  return parts.length === 0 ? null : parts.join("");
}

/**
 * Calls `call` (e.g. `() => client.chat.completions.create(chatCompletionParams(ctx, { model }))` or a
 * `responses.create`), links the response to `context.id`, and returns it unchanged.
 */
export function withContext<T>(fabra: OutcomeRecorder, context: ContextForModel, call: () => Promise<T>): Promise<T> {
  return linkCall(fabra, context.id, PROVIDER, call, describeOpenAIResponse);
}

interface StreamChunkLike {
  id?: string;
  model?: string;
  type?: string;
  response?: unknown;
  delta?: unknown;
  usage?: ChatCompletionLike["usage"];
  choices?: { finish_reason?: string | null; delta?: { content?: string | null } }[];
}

/**
 * A streaming call (`stream: true`, chat chunks or responses events): yields every chunk as it arrives and, when the
 * stream ends, links what it said. Chat streams report usage only with `stream_options: { include_usage: true }`.
 */
export async function* streamWithContext<C>(
  fabra: OutcomeRecorder,
  context: ContextForModel,
  call: () => Promise<AsyncIterable<C>>,
): AsyncGenerator<C, void, undefined> {
  const started = performance.now();
  const state = { id: null as string | null, model: null as string | null, finish: null as string | null, text: "" };
  let usage: OutcomeInput["usage"] = null;
  let completed: Omit<OutcomeInput, "latencyMs" | "provider"> | null = null;
  try {
    for await (const chunk of await call()) {
      const c = chunk as StreamChunkLike;
      if (c.type === "response.completed" || c.type === "response.incomplete") {
        completed = describeOpenAIResponse(c.response);
      } else if (c.type === "response.output_text.delta" && typeof c.delta === "string") {
        state.text += c.delta;
      } else if (c.type === undefined) {
        state.id ??= c.id ?? null;
        state.model ??= c.model ?? null;
        const choice = c.choices?.[0];
        if (choice?.delta?.content) state.text += choice.delta.content;
        if (choice?.finish_reason) state.finish = choice.finish_reason;
        if (c.usage) usage = describeOpenAIResponse({ usage: c.usage }).usage;
      }
      yield chunk;
    }
  } catch (err) {
    await fabra.recordOutcome(context.id, failedOutcome(PROVIDER, performance.now() - started, err));
    throw err;
  }
  const described = completed ?? {
    responseId: state.id,
    model: state.model,
    usage,
    finishReason: state.finish,
    outputText: state.text,
  };
  await fabra.recordOutcome(context.id, { provider: PROVIDER, latencyMs: performance.now() - started, ...described });
}
