// What every adapter shares: the runtime seen as an outcome recorder, and timing a model call so its outcome (or its
// failure) is linked to the context's record.
import type { ContextMessage } from "../define/types.js";
import type { OutcomeEntry, OutcomeInput } from "../engine/ledger/outcome.js";

export type { OutcomeEntry, OutcomeInput };

/** The part of a fabra runtime an adapter needs (a `FabraRuntime` is one). */
export interface OutcomeRecorder {
  recordOutcome(contextId: string, outcome: OutcomeInput): Promise<OutcomeEntry>;
}

/** The part of a context result an adapter reads. */
export interface ContextForModel {
  id: string;
  messages: ContextMessage[];
}

/**
 * Runs `call`, then links `describe(response)` to the record (latency measured around the call). A failed call is
 * linked with its error and rethrown. The outcome is written before the response is handed back.
 */
export async function linkCall<T>(
  recorder: OutcomeRecorder,
  contextId: string,
  provider: string,
  call: () => Promise<T>,
  describe: (response: T) => Omit<OutcomeInput, "latencyMs" | "provider">,
): Promise<T> {
  const started = performance.now();
  let response: T;
  try {
    response = await call();
  } catch (err) {
    await recorder.recordOutcome(contextId, failedOutcome(provider, performance.now() - started, err));
    throw err;
  }
  await recorder.recordOutcome(contextId, { provider, latencyMs: performance.now() - started, ...describe(response) });
  return response;
}

export function failedOutcome(provider: string, latencyMs: number, err: unknown): OutcomeInput {
  return {
    provider,
    responseId: null,
    model: null,
    usage: null,
    latencyMs,
    finishReason: null,
    outputText: null,
    error: err instanceof Error ? err.message : String(err),
  };
}

/** A token count from a provider's usage object: a whole number >= 0, else null. */
export function tokenCount(value: unknown): number | null {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : null;
}
