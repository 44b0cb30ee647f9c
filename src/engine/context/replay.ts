// Replay: run a record's context function again with its recorded inputs. By default every feature is served
// as it was (the recorded value, else history as of the record's created_at), every retriever returns the
// recorded chunks and freshness is judged at the original's time, so an unchanged system reproduces the same
// content; `live` uses today's data instead. The new record links to the original through
// integrity.previous_context_id; the original is never touched.
import type { ContextDef } from "../../define/context.js";
import type { ContextResult, RetrievedChunk } from "../../define/types.js";
import { FabraError } from "../../errors.js";
import { datetimeToMs } from "../../record/datetime.js";
import { diffRecords, type RecordDiff } from "../../record/diff.js";
import { contentHash } from "../../record/hash.js";
import { isJsonObject, toPlain } from "../../record/json.js";
import type { ContextRecord, RetrievedItemRecord } from "../../record/types.js";
import { assembleContext } from "./assemble.js";
import type { FabraRuntime } from "../runtime.js";
import { keyOrderFrom, samePartsReordered } from "./key-order.js";
import { featureKey, Trace, type ReplaySource } from "./tracking.js";

export interface ReplayOptions {
  /** Use today's features and a fresh retrieval instead of the recorded ones. */
  live?: boolean;
}

export interface ReplayResult {
  original: ContextRecord;
  replay: ContextResult;
  live: boolean;
  /** The replay reproduced the original content exactly; null when the original keeps no content to compare. */
  sameContent: boolean | null;
  /**
   * The contents differ, but only by the order of their parts (the same characters, as many times each) while the
   * record holds object-valued features: most likely key order, which the record cannot keep (CRS-001 sorts keys).
   */
  onlyOrderDiffers: boolean;
  /** Original (A) against replay (B). */
  diff: RecordDiff;
}

export async function replayContext(
  fabra: FabraRuntime,
  id: string,
  options: ReplayOptions = {},
): Promise<ReplayResult> {
  // A replay of a record that fails verification (altered, or unsigned where signatures are required) proves nothing.
  const { record: original } = await fabra.ledger.intact(id, "it will not be replayed");
  const name = original.context_function;
  const def = recordedContextDef(fabra, original, "Replay re-runs");
  const live = options.live === true;
  const inputs = toPlain(original.inputs) as Record<string, unknown>;
  const trace = live ? new Trace() : new Trace(await recordedSource(fabra, original));
  // A record written without content (FABRA_RECORD_INCLUDE_CONTENT=0, sensitive data) is replayed into one
  // without content too, whatever this process keeps: replaying must never store what the original kept out.
  const includeContent = fabra.settings.includeContent && keptContent(original);
  let replay: ContextResult;
  try {
    replay = await assembleContext(
      def,
      name,
      inputs,
      { ...fabra.settings, includeContent, ledger: fabra.ledger },
      {
        previousContextId: original.context_id,
        trace,
        recordedInputs: original.inputs,
        referenceTimeMs: live ? undefined : datetimeToMs(original.created_at),
      },
    );
  } catch (err) {
    throw explain(err, original);
  }
  const stored = contentStored(original);
  const sameContent = stored ? replay.content === original.content : null;
  return {
    original,
    replay,
    live,
    sameContent,
    onlyOrderDiffers:
      sameContent === false &&
      original.features.some((f) => isJsonObject(f.value) || Array.isArray(f.value)) &&
      samePartsReordered(original.content, replay.content),
    diff: diffRecords(original, replay.record),
  };
}

/** Whether a record kept its content (false: written with FABRA_RECORD_INCLUDE_CONTENT=0, `content: ""`). */
export function contentStored(record: ContextRecord): boolean {
  return !(record.content === "" && record.token_count > 0);
}

/** Whether a record kept its content and its chunks' texts. */
function keptContent(record: ContextRecord): boolean {
  return contentStored(record) && !record.retrieved_items.some((item) => item.content === null);
}

/** Errors of the re-run, said in terms of the replay. */
function explain(err: unknown, original: ContextRecord): unknown {
  if (!(err instanceof FabraError)) return err;
  const keys = JSON.stringify(Object.keys(original.inputs));
  if (err.code === "INVALID_INPUT") {
    return new FabraError(
      "REPLAY_INCOMPATIBLE",
      `The inputs recorded in ${original.context_id} (${keys}) no longer fit ${original.context_function}: ${err.message}`,
      {
        hint: "The function's declared inputs changed since the record was written; replay it with the code version the record names.",
        cause: err,
      },
    );
  }
  if (err.code === "CONTEXT_FAILED") {
    return new FabraError(
      "CONTEXT_FAILED",
      `${err.message} (replaying ${original.context_id} with its recorded inputs ${keys})`,
      {
        hint: "The recorded inputs may no longer fit the function's parameters; compare them with `fabra context show`.",
        cause: err,
      },
    );
  }
  return err;
}

/**
 * The context function that wrote `record`, to re-run it (`reRuns`: who does, for the hint, e.g. "Replay re-runs");
 * CONTEXT_NOT_FOUND when it no longer exists in this project.
 */
export function recordedContextDef(fabra: FabraRuntime, record: ContextRecord, reRuns: string): ContextDef {
  const name = record.context_function;
  const def = fabra.definitions.contexts.get(name);
  if (def) return def;
  throw new FabraError("CONTEXT_NOT_FOUND", `The context function "${name}" of ${record.context_id} no longer exists`, {
    hint: `${reRuns} the function: restore it (or its module in \`definitions\`), or check out the code version the record names.`,
  });
}

/**
 * The original's feature values and chunks, for the default (as-recorded) replay; object-valued features with their
 * keys in the order the original content shows (key-order.ts). `recordedOnly`: nothing outside the record is read.
 */
export async function recordedSource(
  fabra: FabraRuntime,
  record: ContextRecord,
  options: { recordedOnly?: boolean } = {},
): Promise<ReplaySource> {
  const text = contentStored(record) ? record.content : "";
  const features = new Map(
    record.features.map((f) => [featureKey(f.name, f.entity_id), { ...f, value: keyOrderFrom(text, f.value) }]),
  );
  const chunks = new Map<string, RetrievedChunk[]>();
  const contents = await storedChunkContents(fabra, record);
  for (const item of record.retrieved_items) {
    const index =
      fabra.definitions.retrievers.get(item.retriever)?.options.index ?? record.lineage.indexes_used[0] ?? "";
    const list = chunks.get(item.retriever) ?? [];
    list.push({
      chunkId: item.chunk_id,
      documentId: item.document_id,
      content: item.content ?? contents.get(item.chunk_id) ?? "",
      similarity: Number(item.similarity_score),
      sourceUrl: item.source_url,
      tokenCount: Number(item.token_count),
      indexedAt: item.as_of,
      contentHash: item.content_hash,
      retriever: item.retriever,
      index,
    });
    chunks.set(item.retriever, list);
  }
  return { asOf: record.created_at, features, chunks, recordedOnly: options.recordedOnly === true };
}

/**
 * A record written with FABRA_RECORD_INCLUDE_CONTENT=0 keeps only each chunk's content_hash; the replay takes the
 * text from the index and insists it is the same text (by hash), else it cannot reproduce the original.
 */
async function storedChunkContents(fabra: FabraRuntime, record: ContextRecord): Promise<Map<string, string>> {
  const missing = record.retrieved_items.filter((item) => item.content === null);
  const found = new Map<string, string>();
  if (missing.length === 0) return found;
  const byIndex = new Map<string, RetrievedItemRecord[]>();
  for (const item of missing) {
    const index = fabra.definitions.retrievers.get(item.retriever)?.options.index;
    for (const name of index ? [index] : record.lineage.indexes_used)
      byIndex.set(name, [...(byIndex.get(name) ?? []), item]);
  }
  for (const [index, items] of byIndex) {
    for (const chunk of await fabra.stores.vector.getChunks(
      index,
      items.map((i) => i.chunk_id),
    ))
      found.set(chunk.chunkId, chunk.content);
  }
  for (const item of missing) {
    const content = found.get(item.chunk_id);
    if (content === undefined || contentHash(content) !== item.content_hash) {
      throw new FabraError(
        "REPLAY_INCOMPATIBLE",
        `Chunk ${item.chunk_id} of ${record.context_id} is ${content === undefined ? "no longer in the index" : "in the index with different content"}, and the record keeps only its hash`,
        {
          hint: "Re-index the documents as they were, or replay with --live to use today's index.",
        },
      );
    }
  }
  return found;
}
