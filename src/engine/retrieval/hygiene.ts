// Index hygiene: removing documents from an index (by id), dropping an index, and pruning the documents whose
// source file is gone, so a deleted page stops reaching prompts.
import { FabraError } from "../../errors.js";
import type { IndexedDocumentInfo, VectorStore } from "../../stores/types.js";
import { didYouMean } from "../../util/suggest.js";
import { sourceFileGone } from "./documents.js";

export interface RemovedDocuments {
  /** Document ids removed. */
  documents: string[];
  /** Chunks they had. */
  chunks: number;
}

/**
 * Removes documents by id; every id must be in the index (a typo removes nothing: DOCUMENT_NOT_FOUND, naming the
 * closest id), so nothing is removed unless all are found.
 */
export async function removeDocuments(vector: VectorStore, index: string, ids: string[]): Promise<RemovedDocuments> {
  const held = await vector.listDocuments(index);
  if (held.length === 0) throw await indexNotFound(vector, index);
  const byId = new Map(held.map((d) => [d.documentId, d]));
  const missing = ids.filter((id) => !byId.has(id));
  if (missing.length > 0) {
    const first = missing[0] as string;
    const guess = didYouMean(first, byId.keys());
    throw new FabraError(
      "INVALID_ARGUMENT",
      `The index "${index}" has no document ${missing.map((m) => JSON.stringify(m)).join(", ")}; nothing was removed`,
      {
        hint: `${guess ? `${guess} ` : ""}A document's id is its path from the project root, as \`fabra index documents --index ${index}\` lists them.`,
        details: { missing },
      },
    );
  }
  const unique = [...new Set(ids)];
  const chunks = await vector.deleteDocuments(index, unique);
  return { documents: unique, chunks };
}

/** Drops an index and its chunks; INDEX_NOT_FOUND when there is none of that name. */
export async function dropIndex(vector: VectorStore, index: string): Promise<{ chunks: number }> {
  const known = await vector.listIndexes();
  if (!known.some((i) => i.name === index)) throw await indexNotFound(vector, index);
  return { chunks: await vector.dropIndex(index) };
}

/**
 * The documents `index add --prune` removes: those not among `kept` (the documents of this run) whose source is a
 * file that no longer exists. Documents added from elsewhere (the library API, other sources) are never pruned.
 */
export async function documentsToPrune(held: IndexedDocumentInfo[], kept: ReadonlySet<string>): Promise<string[]> {
  const out: string[] = [];
  for (const d of held) if (!kept.has(d.documentId) && (await sourceFileGone(d.sourceUrl))) out.push(d.documentId);
  return out;
}

/** Prunes (see documentsToPrune). */
export async function pruneDocuments(
  vector: VectorStore,
  index: string,
  kept: ReadonlySet<string>,
): Promise<RemovedDocuments> {
  const gone = await documentsToPrune(await vector.listDocuments(index), kept);
  return { documents: gone, chunks: gone.length === 0 ? 0 : await vector.deleteDocuments(index, gone) };
}

async function indexNotFound(vector: VectorStore, index: string): Promise<FabraError> {
  const names = (await vector.listIndexes()).map((i) => i.name);
  const guess = didYouMean(index, names);
  return new FabraError("INDEX_NOT_FOUND", `There is no vector index "${index}"`, {
    hint: `${guess ? `${guess} ` : ""}${names.length > 0 ? `Indexes here: ${names.join(", ")}.` : "There are no indexes yet: fabra index add <path> --index <name>."}`,
  });
}

/** An index name as the CLI and the routes accept it (letters, digits, _ . -); INVALID_ARGUMENT otherwise. */
export function requireIndexName(name: string): string {
  if (!/^[A-Za-z0-9_.-]{1,200}$/.test(name)) {
    throw new FabraError("INVALID_ARGUMENT", `Index name ${JSON.stringify(name)} is not valid`, {
      hint: "Use letters, digits, _ . and - (at most 200).",
    });
  }
  return name;
}
