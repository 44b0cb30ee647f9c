// Receipts: a CRS-001 record for a prompt the app assembled itself (the Python ReceiptRecorder), with the same
// evidence guarantees as an assembly: sealed, signed, and persisted per the evidence mode before it is returned.
import type { ContextMessage, ContextResult, RetrievedChunk } from "../../define/types.js";
import { interactionRef } from "../../define/inputs.js";
import { FabraError } from "../../errors.js";
import { datetimeToMs, normalizeDatetime, nowDatetime, toDatetime } from "../../record/datetime.js";
import { newContextId } from "../../record/id.js";
import { float, isJsonObject } from "../../record/json.js";
import { sealRecord } from "../../record/seal.js";
import {
  SCHEMA_VERSION,
  type ContextRecord,
  type FeatureRecord,
  type FeatureSource,
  type RetrievedItemRecord,
} from "../../record/types.js";
import { toJsonValue } from "../../record/values.js";
import { persist, type AssemblySettings } from "./assemble.js";
import { checkMessages, serializeMessages } from "./messages.js";
import { estimateCostUsd } from "./pricing.js";
import { countTokensCached } from "./tokens.js";

/** A feature value the app used, as the receipt records it. */
export interface ReceiptFeature {
  name: string;
  entityId: string;
  value: unknown;
  /** Default "compute". */
  source?: FeatureSource;
  /** When the value was computed (ISO-8601); default now. */
  asOf?: string;
}

export interface ReceiptInput {
  contextFunction: string;
  /** The prompt text as sent; or `messages`, serialized into content as an assembly's messages are. */
  content?: string;
  messages?: ContextMessage[];
  inputs: Record<string, unknown>;
  features?: ReceiptFeature[];
  /** Chunks a fabra retriever (or index.search) returned that went into the prompt. */
  chunks?: RetrievedChunk[];
  /** Picks the tokenizer and price (cl100k_base by default). */
  model?: string;
}

export async function recordReceipt(input: ReceiptInput, settings: AssemblySettings): Promise<ContextResult> {
  const started = performance.now();
  const { content, messages } = receiptContent(input);
  if (typeof input.contextFunction !== "string" || input.contextFunction.trim() === "") {
    throw new FabraError("INVALID_ARGUMENT", "The receipt has no contextFunction", {
      hint: 'Name the code that built the prompt, e.g. contextFunction: "supportPrompt".',
    });
  }
  const inputs = toJsonValue(input.inputs ?? {}, "inputs");
  if (!isJsonObject(inputs)) {
    throw new FabraError("INVALID_ARGUMENT", "The receipt's inputs are not one object", {
      hint: 'Pass inputs: { userId: "u_1", query: "..." }.',
    });
  }
  const createdAt = nowDatetime();
  const nowMs = datetimeToMs(createdAt);
  const features = (input.features ?? []).map((f, i) => featureRecord(f, i, nowMs));
  const chunks = (input.chunks ?? []).map((c, i) => chunkRecord(c, i, nowMs, settings.includeContent));
  const tokens = countTokensCached(content, input.model);
  const unsealed: ContextRecord = {
    context_id: newContextId(),
    created_at: createdAt,
    environment: settings.environment,
    schema_version: SCHEMA_VERSION,
    inputs,
    context_function: input.contextFunction,
    content: settings.includeContent ? content : "",
    token_count: tokens,
    features,
    retrieved_items: chunks,
    assembly: {
      max_tokens: null,
      tokens_used: tokens,
      items_provided: messages.length,
      items_included: messages.length,
      dropped_items: [],
      required_items_included: true,
      freshness_sla_ms: null,
      freshness_status: "unknown",
      freshness_violations: [],
    },
    lineage: {
      features_used: [...new Set(features.map((f) => f.name))],
      retrievers_used: [...new Set(chunks.map((c) => c.retriever))],
      indexes_used: [...new Set((input.chunks ?? []).map((c) => c.index).filter((i) => typeof i === "string"))],
      code_version: settings.codeVersion,
      fabra_version: settings.fabraVersion,
      assembly_latency_ms: float(performance.now() - started),
      estimated_cost_usd: float(estimateCostUsd(input.model, tokens)),
    },
    integrity: {
      record_hash: "",
      content_hash: "",
      previous_context_id: null,
      signed_at: null,
      signing_key_id: null,
      signature: null,
    },
  };
  const sealed = sealRecord(unsealed, { signingKey: settings.signing.mode !== "off" ? settings.signing.key : null });
  const record = sealed.record;
  const persisted = await persist(sealed, settings);
  return {
    id: record.context_id,
    content,
    messages,
    tokenCount: tokens,
    dropped: [],
    meta: {
      budgetExceeded: false,
      freshnessStatus: "unknown",
      freshnessViolations: [],
      latencyMs: performance.now() - started,
      estimatedCostUsd: estimateCostUsd(input.model, tokens),
      recordHash: record.integrity.record_hash,
      featureFallbacks: [],
      interactionRef: interactionRef(input.inputs ?? {}),
      persisted,
    },
    record,
  };
}

function receiptContent(input: ReceiptInput): { content: string; messages: ContextMessage[] } {
  if (input.content !== undefined && input.messages !== undefined) {
    throw new FabraError("INVALID_ARGUMENT", "The receipt has both content and messages", {
      hint: "Pass the prompt once: content (text) or messages ([{ role, content }]).",
    });
  }
  if (input.messages !== undefined) {
    const messages = checkMessages(input.messages, "The receipt's messages");
    return { content: serializeMessages(messages), messages };
  }
  if (typeof input.content !== "string") {
    throw new FabraError("INVALID_ARGUMENT", "The receipt has no content", {
      hint: "Pass content: the prompt text as sent, or messages: [{ role, content }].",
    });
  }
  return { content: input.content, messages: [{ role: "system", content: input.content }] };
}

function featureRecord(f: ReceiptFeature, i: number, nowMs: number): FeatureRecord {
  const where = `The receipt's features[${i}]`;
  if (typeof f?.name !== "string" || f.name === "" || typeof f.entityId !== "string" || f.entityId === "") {
    throw new FabraError("INVALID_ARGUMENT", `${where} needs a name and an entityId`, {
      hint: 'Pass { name: "userTier", entityId: "u_1", value: "pro" }.',
    });
  }
  const source = f.source ?? "compute";
  if (!["cache", "compute", "fallback"].includes(source)) {
    throw new FabraError("INVALID_ARGUMENT", `${where} has source ${JSON.stringify(source)}`, {
      hint: "source is cache, compute or fallback.",
    });
  }
  const asOf = f.asOf === undefined ? toDatetime(nowMs) : normalizeDatetime(f.asOf, `${where}.asOf`);
  return {
    name: f.name,
    entity_id: f.entityId,
    value: toJsonValue(f.value, `${where}.value`),
    source,
    as_of: asOf,
    freshness_ms: Math.max(0, Math.round(nowMs - datetimeToMs(asOf))),
  };
}

function chunkRecord(c: RetrievedChunk, i: number, nowMs: number, includeContent: boolean): RetrievedItemRecord {
  if (typeof c?.chunkId !== "string" || typeof c.documentId !== "string" || typeof c.contentHash !== "string") {
    throw new FabraError("INVALID_ARGUMENT", `The receipt's chunks[${i}] is not a retrieved chunk`, {
      hint: "Pass chunks as a fabra retriever or index.search returned them (chunkId, documentId, contentHash, ...).",
    });
  }
  const freshnessMs = Math.max(0, Math.round(nowMs - datetimeToMs(c.indexedAt)));
  return {
    retriever: c.retriever,
    chunk_id: c.chunkId,
    document_id: c.documentId,
    content_hash: c.contentHash,
    content: includeContent ? c.content : null,
    token_count: c.tokenCount,
    priority: i,
    similarity_score: float(c.similarity),
    source_url: c.sourceUrl,
    as_of: c.indexedAt,
    freshness_ms: freshnessMs,
    is_stale: false,
  };
}
