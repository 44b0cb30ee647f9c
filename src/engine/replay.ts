// Replay: run a record's context function again with its recorded inputs. By default every feature is served
// as it was (the recorded value, else history as of the record's created_at) and every retriever returns the
// recorded chunks, so an unchanged system reproduces the same content; `live` uses today's data instead.
// The new record links to the original through integrity.previous_context_id; the original is never touched.
import type { ContextResult, RetrievedChunk } from "../define/types.js";
import { FabraError } from "../errors.js";
import { toPlain } from "../record/json-value.js";
import type { ContextRecord } from "../record/types.js";
import { verifyOptionsFromEnv } from "../record/verify-env.js";
import { assembleContext } from "./assemble.js";
import { getLedgerRow, rowToRecord, verifyLedgerRow } from "./ledger.js";
import type { FabraRuntime } from "./runtime.js";
import { featureKey, Trace, type ReplaySource } from "./tracking.js";

export interface ReplayOptions {
  /** Use today's features and a fresh retrieval instead of the recorded ones. */
  live?: boolean;
}

export interface ReplayResult {
  original: ContextRecord;
  replay: ContextResult;
  /** The replay reproduced the original content exactly. */
  sameContent: boolean;
}

export async function replayContext(fabra: FabraRuntime, id: string, options: ReplayOptions = {}): Promise<ReplayResult> {
  const row = await getLedgerRow(fabra.stores.records, id);
  const verification = verifyLedgerRow(row, verifyOptionsFromEnv());
  if (!verification.ok) {
    throw new FabraError("VERIFICATION_FAILED", `Record ${row.contextId} fails verification (${verification.failed?.name}); it will not be replayed`, {
      hint: "A replay of an altered record proves nothing. `fabra context verify` shows the mismatch.",
    });
  }
  const original = rowToRecord(row);
  const name = original.context_function;
  if (!fabra.definitions.contexts.has(name)) {
    throw new FabraError("CONTEXT_NOT_FOUND", `The context function "${name}" of ${original.context_id} no longer exists`, {
      hint: "Replay needs the function: restore it (or its module in `definitions`), or check out the code version the record names.",
    });
  }
  const inputs = toPlain(original.inputs) as Record<string, unknown>;
  const trace = options.live ? new Trace() : new Trace(replaySource(original));
  let replay: ContextResult;
  try {
    replay = await assembleContext(fabra.contextDef(name), name, inputs, { ...fabra.settings, records: fabra.stores.records }, {
      previousContextId: original.context_id,
      trace,
    });
  } catch (err) {
    if (err instanceof FabraError && err.code === "CONTEXT_FAILED") {
      throw new FabraError("CONTEXT_FAILED", `${err.message} (replaying ${original.context_id} with its recorded inputs ${JSON.stringify(Object.keys(inputs))})`, {
        hint: "The recorded inputs may no longer fit the function's parameters; compare them with `fabra context show`.",
        cause: err,
      });
    }
    throw err;
  }
  return { original, replay, sameContent: replay.content === original.content || (original.content === "" && !fabra.settings.includeContent) };
}

function replaySource(record: ContextRecord): ReplaySource {
  const features = new Map(record.features.map((f) => [featureKey(f.name, f.entity_id), f]));
  const chunks = new Map<string, RetrievedChunk[]>();
  for (const item of record.retrieved_items) {
    const list = chunks.get(item.retriever) ?? [];
    list.push({
      chunkId: item.chunk_id,
      documentId: item.document_id,
      content: item.content ?? "",
      similarity: Number(item.similarity_score),
      sourceUrl: item.source_url,
      tokenCount: item.token_count,
      indexedAt: item.as_of,
      contentHash: item.content_hash,
      retriever: item.retriever,
      index: record.lineage.indexes_used[0] ?? "",
    });
    chunks.set(item.retriever, list);
  }
  return { asOf: record.created_at, features, chunks };
}
