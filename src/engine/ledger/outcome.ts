// Outcome entries: what a model call answered for a context (response id, model, usage, latency, finish reason, the
// output text or only its hash), kept beside the record in the ledger, never in it. Each entry has its own canonical
// bytes, domain-separated from records by the prefix `fabra:outcome:v1\n`, so a log over the ledger can include it.
import { randomUUID } from "node:crypto";
import { FabraError } from "../../errors.js";
import { canonicalJson } from "../../record/canonical.js";
import { nowDatetime } from "../../record/datetime.js";
import { contentHash, sha256Hex } from "../../record/hash.js";
import { normalizeContextId } from "../../record/id.js";
import { float, type JsonObject, type JsonValue } from "../../record/json.js";
import type { OutcomeRow } from "../../stores/types.js";
import { OUTCOME_LEAF_PREFIX } from "../../tlog/leaves.js";

/** The bytes before an outcome's canonical JSON: no record's canonical text starts with them (tlog/leaves.ts). */
export const OUTCOME_DOMAIN_PREFIX = OUTCOME_LEAF_PREFIX;

export interface OutcomeUsage {
  inputTokens: number | null;
  outputTokens: number | null;
  totalTokens: number | null;
}

/** What an adapter reports about one model call. */
export interface OutcomeInput {
  /** Which integration saw the call: "openai", "ai-sdk", "langchain", or the caller's own name. */
  provider: string;
  responseId: string | null;
  model: string | null;
  usage: OutcomeUsage | null;
  latencyMs: number;
  finishReason: string | null;
  outputText: string | null;
  /** Set when the call failed (its message); the other fields are whatever was known. */
  error?: string | null;
}

/** An outcome entry as stored and served (snake_case, like the record). */
export interface OutcomeEntry {
  outcome_id: string;
  context_id: string;
  recorded_at: string;
  provider: string;
  response_id: string | null;
  model: string | null;
  usage: { input_tokens: number | null; output_tokens: number | null; total_tokens: number | null } | null;
  latency_ms: number;
  finish_reason: string | null;
  /** null when the evidence policy keeps no content (`evidence.includeContent: false`); the hash is always kept. */
  output_text: string | null;
  output_hash: string | null;
  error: string | null;
}

/** An entry for `contextId`; `includeContent` false keeps only the output's hash (the same policy as records). */
export function makeOutcome(contextId: string, input: OutcomeInput, includeContent: boolean): OutcomeEntry {
  checkOutcome(input);
  const usage = input.usage;
  return {
    outcome_id: `out_${randomUUID()}`,
    context_id: normalizeContextId(contextId),
    recorded_at: nowDatetime(),
    provider: input.provider,
    response_id: input.responseId,
    model: input.model,
    usage: usage
      ? { input_tokens: usage.inputTokens, output_tokens: usage.outputTokens, total_tokens: usage.totalTokens }
      : null,
    latency_ms: input.latencyMs,
    finish_reason: input.finishReason,
    output_text: includeContent ? input.outputText : null,
    output_hash: input.outputText === null ? null : contentHash(input.outputText),
    error: input.error ?? null,
  };
}

function checkOutcome(input: OutcomeInput): void {
  const tokens = input.usage ? [input.usage.inputTokens, input.usage.outputTokens, input.usage.totalTokens] : [];
  if (tokens.some((t) => t !== null && !(Number.isSafeInteger(t) && t >= 0))) {
    throw new FabraError("INVALID_ARGUMENT", `The outcome's usage has token counts ${JSON.stringify(tokens)}`, {
      hint: "Token counts are whole numbers >= 0, or null when the provider did not say.",
    });
  }
  if (!Number.isFinite(input.latencyMs) || input.latencyMs < 0) {
    throw new FabraError("INVALID_ARGUMENT", `The outcome's latency is ${input.latencyMs} ms`, {
      hint: "latencyMs is the call's duration in milliseconds (a number >= 0).",
    });
  }
}

/** The entry's canonical JSON (CRS-001 canonical form; latency_ms a float). */
export function outcomeCanonicalJson(entry: OutcomeEntry): string {
  const value: JsonObject = { ...(entry as unknown as JsonObject), latency_ms: float(entry.latency_ms) as JsonValue };
  return canonicalJson(value);
}

/** The bytes a log commits to: the domain prefix, then the canonical JSON (UTF-8). */
export function outcomeCanonicalBytes(entry: OutcomeEntry): Uint8Array {
  return new TextEncoder().encode(OUTCOME_DOMAIN_PREFIX + outcomeCanonicalJson(entry));
}

/** `sha256:` + hex of the canonical bytes. */
export function outcomeHash(entry: OutcomeEntry): string {
  return `sha256:${sha256Hex(outcomeCanonicalBytes(entry))}`;
}

export function outcomeToRow(entry: OutcomeEntry): OutcomeRow {
  return {
    outcomeId: entry.outcome_id,
    contextId: entry.context_id,
    recordedAt: entry.recorded_at,
    entryHash: outcomeHash(entry),
    canonicalText: outcomeCanonicalJson(entry),
  };
}

/** The entry a row holds; OUTCOME_TAMPERED when its text no longer hashes to the stored hash. */
export function rowToOutcome(row: OutcomeRow): OutcomeEntry {
  const entry = JSON.parse(row.canonicalText) as OutcomeEntry;
  if (outcomeHash(entry) !== row.entryHash || outcomeCanonicalJson(entry) !== row.canonicalText) {
    throw new FabraError("VERIFICATION_FAILED", `Outcome ${row.outcomeId} does not match its stored hash`, {
      hint: "The outcome row was changed after it was written; the ledger is append-only, so treat it as tampered.",
    });
  }
  return entry;
}
