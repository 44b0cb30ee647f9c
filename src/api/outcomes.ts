// The wire shape of outcome entries (GET/POST /v1/contexts/:id/outcomes): the entry as stored, with its hash over
// the domain-separated canonical bytes (`fabra:outcome:v1\n` + canonical JSON).
import { z } from "zod";
import { FabraError } from "../errors.js";
import { outcomeHash, outcomeToRow, type OutcomeEntry, type OutcomeInput } from "../engine/ledger/outcome.js";
import type { OutcomeRow } from "../stores/types.js";
import { wireInt, wireNumber } from "./wire.js";

const tokens = z.number().int().nonnegative().nullable();

export const outcomeShape = z.object({
  outcome_id: z.string(),
  context_id: z.string(),
  recorded_at: z.string(),
  provider: z.string(),
  response_id: z.string().nullable(),
  model: z.string().nullable(),
  usage: z.object({ input_tokens: tokens, output_tokens: tokens, total_tokens: tokens }).nullable(),
  latency_ms: wireNumber,
  finish_reason: z.string().nullable(),
  output_text: z.string().nullable(),
  output_hash: z.string().nullable(),
  error: z.string().nullable(),
  entry_hash: z.string(),
});
export type OutcomeJson = z.output<typeof outcomeShape>;

export function outcomeJson(entry: OutcomeEntry): OutcomeJson {
  return { ...entry, entry_hash: outcomeHash(entry) };
}

export const outcomeListShape = z.object({ context_id: z.string(), outcomes: z.array(outcomeShape) });

/** The inverse of outcomeJson, as a ledger row; an entry whose bytes do not hash to the hash sent is refused. */
export function outcomeRowFromJson(json: OutcomeJson): OutcomeRow {
  const { entry_hash, ...entry } = json;
  const row = outcomeToRow(entry);
  if (row.entryHash !== entry_hash) {
    throw new FabraError("VERIFICATION_FAILED", `Outcome ${json.outcome_id} does not hash to the entry_hash sent`, {
      hint: "The server and this fabra disagree on the outcome's canonical bytes; check both run the same version.",
    });
  }
  return row;
}

/** The body of POST /v1/contexts/:id/outcomes: what a client in another language saw of its model call. */
export const outcomeBodyShape = z.object({
  provider: z.string().min(1).default("http"),
  response_id: z.string().nullish(),
  model: z.string().nullish(),
  usage: z
    .object({ input_tokens: wireInt.nullish(), output_tokens: wireInt.nullish(), total_tokens: wireInt.nullish() })
    .nullish(),
  latency_ms: wireNumber,
  finish_reason: z.string().nullish(),
  output_text: z.string().nullish(),
  error: z.string().nullish(),
});

export function outcomeFromBody(body: z.output<typeof outcomeBodyShape>): OutcomeInput {
  return {
    provider: body.provider,
    responseId: body.response_id ?? null,
    model: body.model ?? null,
    usage: body.usage
      ? {
          inputTokens: body.usage.input_tokens ?? null,
          outputTokens: body.usage.output_tokens ?? null,
          totalTokens: body.usage.total_tokens ?? null,
        }
      : null,
    latencyMs: body.latency_ms,
    finishReason: body.finish_reason ?? null,
    outputText: body.output_text ?? null,
    error: body.error ?? null,
  };
}
