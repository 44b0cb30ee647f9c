// Context assembly: run the context function under a trace, apply the token budget, judge freshness,
// build the CRS-001 record, seal (and sign) it, and persist it before the content is handed out.
import type { ContextDef } from "../../define/context.js";
import type { ContextItem, ContextResult, Persisted, RetrievedChunk } from "../../define/types.js";
import { FabraError, isFabraError } from "../../errors.js";
import { nowDatetime, datetimeToMs } from "../../record/datetime.js";
import { newContextId } from "../../record/id.js";
import { float, isJsonObject, type JsonObject } from "../../record/json.js";
import { sealRecord, type SealedRecord } from "../../record/seal.js";
import type { SignatureMode, SigningKey } from "../../record/sign.js";
import { SCHEMA_VERSION, type ContextRecord, type Environment, type RetrievedItemRecord } from "../../record/types.js";
import { applyBudget, type BudgetItem } from "./budget.js";
import { judgeFreshness } from "./freshness.js";
import type { Ledger } from "../ledger/ledger.js";
import { checkInputs, interactionRef } from "../../define/inputs.js";
import { toWellFormed } from "../../record/unicode.js";
import { estimateCostUsd } from "./pricing.js";
import { countCachedIn, type Encoding } from "./tokens.js";
import { joinedCount } from "./token-join.js";
import { preparedContext } from "./prepared.js";
import { Trace, withTrace } from "./tracking.js";
import { toJsonValue } from "../../record/values.js";
import { assemblyBegun } from "../../util/company.js";
import { checkRole, groupMessages, hasRoles, serializeMessages } from "./messages.js";

export type EvidenceMode = "required" | "best_effort";

export interface AssemblySettings {
  /** Where the sealed record is appended before the content is handed out. */
  ledger: Pick<Ledger, "append" | "row">;
  environment: Environment;
  evidenceMode: EvidenceMode;
  /** false: the record keeps `content: ""` (hashes cover ""); the caller still gets the content. */
  includeContent: boolean;
  signing: { mode: SignatureMode; key: SigningKey | null };
  codeVersion: string | null;
  fabraVersion: string;
  warn: (message: string) => void;
}

export interface AssemblyOptions {
  /** Links the new record to an earlier one (replay). */
  previousContextId?: string | null;
  /** Runs the context function under this trace (replay pre-loads it with its as-of reads). */
  trace?: Trace;
  /**
   * The inputs as they go into the record, when the caller has them kind-preserving (JSON read losslessly, or a
   * replayed record's inputs); the function still receives the plain `inputs`.
   */
  recordedInputs?: JsonObject;
  /** The time chunk freshness is measured against (epoch ms; default now). A replay uses the original's time. */
  referenceTimeMs?: number;
}

export async function assembleContext(
  def: ContextDef,
  name: string,
  inputs: Record<string, unknown>,
  settings: AssemblySettings,
  options: AssemblyOptions = {},
): Promise<ContextResult> {
  // Counted while in flight: whether an append may have company (util/company.ts).
  const done = assemblyBegun();
  try {
    return await assemble(def, name, inputs, settings, options);
  } finally {
    done();
  }
}

async function assemble(
  def: ContextDef,
  name: string,
  inputs: Record<string, unknown>,
  settings: AssemblySettings,
  options: AssemblyOptions,
): Promise<ContextResult> {
  const started = performance.now();
  const createdAt = nowDatetime();
  const contextId = newContextId();
  const recordedInputs = options.recordedInputs ?? toJsonValue(inputs, "inputs");
  if (!isJsonObject(recordedInputs)) {
    throw new FabraError("INVALID_ARGUMENT", `Context ${name} takes one object of inputs`, {
      hint: `Call it as ${name}({ userId: "u_1", query: "..." }).`,
    });
  }
  checkInputs(def.options.inputs, name, inputs);
  const { model, maxTokens, separator, encoding, composable, slaMs, chunkSlaMs, budgetStrategy } = preparedContext(
    def,
    name,
  );

  const trace = options.trace ?? new Trace();
  const items = checkItems(await runContextFunction(def, name, inputs, trace), name);

  const budgetItems = toBudgetItems(items, encoding);
  const budget = applyBudget(
    budgetItems,
    maxTokens,
    (text) => countCachedIn(text, encoding),
    separator,
    composable ? (included) => joinedCount(included, separator, encoding) : undefined,
    budgetStrategy,
  );
  const includedKeys = new Set(budget.included.map((i) => i.key));
  const sent = sentContent(items, budget.included, budget.content, separator);

  const nowMs = options.referenceTimeMs ?? Date.now();
  const retrieved = retrievedItems(
    trace,
    items,
    includedKeys,
    budgetItems,
    nowMs,
    chunkSlaMs,
    settings.includeContent,
    encoding,
  );
  const freshness = judgeFreshness(
    { featuresMs: slaMs, chunksMs: chunkSlaMs },
    {
      // A default served because the function failed has no age to judge: it is never a fresh value.
      features: trace.features.map((f) => ({ ...f, stale: trace.servedDefault(f.name, f.entity_id) })),
      chunks: retrieved.map((r) => ({
        chunk_id: r.record.chunk_id,
        freshness_ms: r.record.freshness_ms,
        included: r.included,
      })),
    },
  );
  if (freshness.status === "degraded" && def.options.freshnessPolicy === "fail") {
    throw new FabraError(
      "FRESHNESS_VIOLATION",
      `Context ${name} is over its freshness SLA (${slaText(slaMs, chunkSlaMs)}): ${freshness.violations.join(", ")}`,
      {
        hint: 'Refresh those features or re-index those documents, or use freshnessPolicy: "degrade" to serve and record the violation.',
        details: { violations: freshness.violations },
      },
    );
  }

  // Microseconds are all a timer says: no float noise (63.1506159999999) in the record or on screen.
  const latencyMs = Math.round((performance.now() - started) * 1000) / 1000;
  // Lone surrogates become U+FFFD before hashing, and the caller gets that same text (README: compatibility).
  const content = toWellFormed(sent.content);
  const messages = sent.messages.map((m) => ({ ...m, content: toWellFormed(m.content) }));
  const unsealed: ContextRecord = {
    context_id: contextId,
    created_at: createdAt,
    environment: settings.environment,
    schema_version: SCHEMA_VERSION,
    inputs: recordedInputs,
    context_function: name,
    content: settings.includeContent ? content : "",
    token_count: budget.tokensUsed,
    features: trace.features,
    retrieved_items: retrieved.map((r) => r.record),
    assembly: {
      max_tokens: maxTokens,
      tokens_used: budget.tokensUsed,
      items_provided: items.length,
      items_included: budget.included.length,
      dropped_items: budget.dropped.map(({ item, reason }) => ({
        source_id: item.key,
        priority: item.priority,
        token_count: item.tokens,
        reason,
      })),
      required_items_included: !budget.budgetExceeded,
      freshness_sla_ms: slaMs,
      freshness_status: freshness.status,
      freshness_violations: freshness.violations,
    },
    lineage: {
      features_used: unique(trace.features.map((f) => f.name)),
      retrievers_used: unique(trace.retrievals.map((r) => r.retriever)),
      indexes_used: unique(trace.retrievals.flatMap((r) => (r.index === null ? [] : [r.index]))),
      code_version: settings.codeVersion,
      fabra_version: settings.fabraVersion,
      assembly_latency_ms: float(latencyMs),
      estimated_cost_usd: float(estimateCostUsd(model, budget.tokensUsed)),
    },
    integrity: {
      record_hash: "",
      content_hash: "",
      previous_context_id: options.previousContextId ?? null,
      signed_at: null,
      signing_key_id: null,
      signature: null,
    },
  };
  const sealed = sealRecord(unsealed, { signingKey: settings.signing.mode !== "off" ? settings.signing.key : null });
  const record = sealed.record;

  const persisted = await persist(sealed, settings);
  return {
    id: contextId,
    content, // exactly what was hashed (well-formed)
    messages,
    tokenCount: budget.tokensUsed,
    dropped: record.assembly.dropped_items,
    meta: {
      budgetExceeded: budget.budgetExceeded,
      freshnessStatus: freshness.status,
      freshnessViolations: freshness.violations,
      featureFallbacks: trace.fallbacks.map(({ feature, entityId, served, reason }) => ({
        feature,
        entityId,
        served,
        reason,
      })),
      latencyMs,
      estimatedCostUsd: estimateCostUsd(model, budget.tokensUsed),
      recordHash: record.integrity.record_hash,
      persisted,
      interactionRef: interactionRef(inputs),
    },
    record,
  };
}

export async function runContextFunction(
  def: ContextDef,
  name: string,
  inputs: Record<string, unknown>,
  trace: Trace,
): Promise<unknown> {
  try {
    return await withTrace(trace, () => def.fn(inputs));
  } catch (err) {
    if (isFabraError(err)) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw new FabraError("CONTEXT_FAILED", `Context function ${name} threw: ${reason}`, {
      hint: "No record was written. Fix the error in the context function (its stack is in the cause).",
      cause: err,
    });
  }
}

export function checkItems(value: unknown, name: string): ContextItem[] {
  if (!Array.isArray(value)) {
    throw new FabraError(
      "CONTEXT_FAILED",
      `Context function ${name} returned ${value === null ? "null" : typeof value}, not an array of items`,
      {
        hint: 'Return an array like [{ content: "...", priority: 0, required: true }].',
      },
    );
  }
  value.forEach((item: unknown, i) => {
    const where = `item ${i} returned by context ${name}`;
    if (typeof item !== "object" || item === null || typeof (item as ContextItem).content !== "string") {
      throw new FabraError("CONTEXT_FAILED", `${where} has no string \`content\``, {
        hint: "Each item needs content: string.",
      });
    }
    const { priority, required, id, source, role } = item as ContextItem;
    if (role !== undefined) checkRole(role, where);
    if (priority !== undefined && !Number.isSafeInteger(priority)) {
      throw new FabraError("CONTEXT_FAILED", `${where} has priority ${String(priority)}`, {
        hint: "priority is a whole number; 0 is most important.",
      });
    }
    if (required !== undefined && typeof required !== "boolean") {
      throw new FabraError("CONTEXT_FAILED", `${where} has required=${String(required)}`, {
        hint: "required is true or false.",
      });
    }
    // The id names the item in `dropped_items[].source_id`, a string in CRS-001.
    if (id !== undefined && (typeof id !== "string" || id === "")) {
      throw new FabraError(
        "CONTEXT_FAILED",
        `${where} has id ${JSON.stringify(id) ?? String(id)}, not a non-empty string`,
        {
          hint: `Give items string ids, e.g. id: "${typeof id === "number" ? String(id) : "system_prompt"}", or leave id out.`,
        },
      );
    }
    const sources = source === undefined ? [] : Array.isArray(source) ? source : [source];
    sources.forEach((chunk: unknown, j) => {
      if (typeof chunk !== "object" || chunk === null || typeof (chunk as RetrievedChunk).chunkId !== "string") {
        throw new FabraError(
          "CONTEXT_FAILED",
          `${where} has a source${Array.isArray(source) ? `[${j}]` : ""} that is not a retrieved chunk`,
          {
            hint: "source takes chunks a retriever returned (objects with a chunkId), or a list of them.",
          },
        );
      }
    });
  });
  return value as ContextItem[];
}

/** What the model is sent: without roles the joined text (one system message); with roles the serialized messages. */
function sentContent(
  items: ContextItem[],
  included: BudgetItem[],
  joined: string,
  separator: string,
): { content: string; messages: ReturnType<typeof groupMessages> } {
  if (!hasRoles(items))
    return { content: joined, messages: joined === "" ? [] : [{ role: "system", content: joined }] };
  // Messages keep the order the function returned its items in; priority only decides what is dropped.
  const kept = [...included].sort((a, b) => a.index - b.index);
  const messages = groupMessages(
    kept.map((b) => items[b.index] as ContextItem),
    separator,
  );
  return { content: serializeMessages(messages), messages };
}

function sourcesOf(item: ContextItem): RetrievedChunk[] {
  if (!item.source) return [];
  return Array.isArray(item.source) ? item.source : [item.source];
}

function slaText(featuresMs: number | null, chunksMs: number | null): string {
  const parts = [];
  if (featuresMs !== null) parts.push(`features ${featuresMs} ms`);
  if (chunksMs !== null) parts.push(`chunks ${chunksMs} ms`);
  return parts.join(", ");
}

/**
 * The items as the token budget sees them: their keys, priorities and own token counts in `encoding` (each text
 * counted once; a chunk's count comes from the index).
 */
export function toBudgetItems(items: ContextItem[], encoding: Encoding): BudgetItem[] {
  return items.map((item, index) => ({
    key: itemKey(item, index),
    content: item.content,
    priority: item.priority ?? 0,
    required: item.required ?? false,
    tokens: itemTokens(item, encoding),
    index,
  }));
}

/**
 * A chunk's tokens in `encoding`: the count the index stored for that encoding, else counted (and remembered). The
 * stored count is taken only for the text it was made from (retrieved-chunks.ts drops counts whose chunk's content
 * no longer matches its hash).
 */
function chunkTokens(chunk: RetrievedChunk, encoding: Encoding): number {
  return chunk.tokenCounts?.[encoding] ?? countCachedIn(chunk.content, encoding);
}

/** An item's tokens in `encoding`: its source chunk's when the item is that chunk's text, else counted once. */
function itemTokens(item: ContextItem, encoding: Encoding): number {
  for (const chunk of sourcesOf(item)) if (chunk.content === item.content) return chunkTokens(chunk, encoding);
  return countCachedIn(item.content, encoding);
}

function itemKey(item: ContextItem, index: number): string {
  if (item.id) return item.id;
  const first = sourcesOf(item)[0];
  return first ? first.chunkId : `item_${index}`;
}

/** Each retrieved chunk once per retriever, with the priority (and inclusion) of the item that carried it. */
function retrievedItems(
  trace: Trace,
  items: ContextItem[],
  includedKeys: Set<string>,
  budgetItems: BudgetItem[],
  nowMs: number,
  slaMs: number | null,
  includeContent: boolean,
  encoding: Encoding,
): { record: RetrievedItemRecord; included: boolean }[] {
  const out: { record: RetrievedItemRecord; included: boolean }[] = [];
  const seen = new Set<string>();
  for (const retrieval of trace.retrievals) {
    for (const chunk of retrieval.chunks) {
      const key = `${retrieval.retriever}\u0000${chunk.chunkId}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const carrier = findCarrier(chunk, items);
      const carrierItem = carrier === -1 ? undefined : budgetItems[carrier];
      const freshnessMs = Math.max(0, Math.round(nowMs - datetimeToMs(chunk.indexedAt)));
      out.push({
        included: carrierItem === undefined || includedKeys.has(carrierItem.key),
        record: {
          retriever: retrieval.retriever,
          chunk_id: chunk.chunkId,
          document_id: chunk.documentId,
          content_hash: chunk.contentHash,
          content: includeContent ? chunk.content : null,
          // The model's count, as dropped_items and token_count have it (not the index-time cl100k count).
          token_count:
            carrierItem !== undefined && carrierItem.content === chunk.content
              ? carrierItem.tokens
              : chunkTokens(chunk, encoding),
          priority: carrierItem?.priority ?? 0,
          similarity_score: float(chunk.similarity),
          source_url: chunk.sourceUrl,
          as_of: chunk.indexedAt,
          freshness_ms: freshnessMs,
          is_stale: slaMs !== null && freshnessMs > slaMs,
        },
      });
    }
  }
  return out;
}

/** The item carrying a chunk: by `source`, then by id, then the first item whose content contains the chunk. */
function findCarrier(chunk: RetrievedChunk, items: ContextItem[]): number {
  const bySource = items.findIndex((item) => sourcesOf(item).some((s) => s.chunkId === chunk.chunkId));
  if (bySource !== -1) return bySource;
  const byId = items.findIndex((item) => item.id === chunk.chunkId);
  if (byId !== -1) return byId;
  return chunk.content ? items.findIndex((item) => item.content.includes(chunk.content)) : -1;
}

/**
 * Appends the record. A failed append may still have landed (the commit went through, its acknowledgement was lost),
 * so the outcome is what was observed: the ledger is read back by context_id (and the append retried once, which is
 * idempotent: the same id and hash is "exists"). `true` when the record is seen there, `false` only when the ledger
 * answered that it is not, `"unknown"` when the ledger could not be asked. In `required` mode anything but `true`
 * is PERSIST_FAILED (no content without its record).
 */
export async function persist({ record, canonicalText }: SealedRecord, settings: AssemblySettings): Promise<Persisted> {
  let failure: unknown;
  try {
    await settings.ledger.append(record, canonicalText);
    return true;
  } catch (err) {
    failure = err;
  }
  let seen = await readBack(record, settings);
  if (seen === "absent") {
    try {
      await settings.ledger.append(record, canonicalText);
      seen = "present";
    } catch (err) {
      failure = err;
      seen = await readBack(record, settings);
    }
  }
  const reason = failure instanceof Error ? failure.message : String(failure);
  if (seen === "present") {
    settings.warn(
      `context record ${record.context_id}: the append reported a failure (${reason}), but the record is in the ledger`,
    );
    return true;
  }
  const persisted: Persisted = seen === "absent" ? false : "unknown";
  if (settings.evidenceMode === "required") {
    throw new FabraError(
      "PERSIST_FAILED",
      persisted === false
        ? `The context record ${record.context_id} could not be written: ${reason}`
        : `The context record ${record.context_id} may not have been written (${reason}), and the ledger could not be read back to tell`,
      {
        hint: 'Evidence mode is `required`, so no context is served without its record. Fix the ledger store, or set evidence.mode: "best_effort".',
        cause: failure,
      },
    );
  }
  settings.warn(
    persisted === false
      ? `context record ${record.context_id} was not persisted (best_effort): ${reason}`
      : `context record ${record.context_id} may not have been persisted (best_effort; unknown: the ledger could not be read back): ${reason}`,
  );
  return persisted;
}

/** Whether the ledger holds this very record (same id and hash), does not, or could not be asked. */
async function readBack(
  record: ContextRecord,
  settings: AssemblySettings,
): Promise<"present" | "absent" | "unreachable"> {
  try {
    const row = await settings.ledger.row(record.context_id);
    return row.recordHash === record.integrity.record_hash ? "present" : "absent";
  } catch (err) {
    return err instanceof FabraError && err.code === "RECORD_NOT_FOUND" ? "absent" : "unreachable";
  }
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
