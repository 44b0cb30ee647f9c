// Chunks a custom retriever body returns: checked field by field (errors name the retriever, the chunk and the
// field), with what fabra can compute filled in (contentHash, tokenCount, indexedAt, sourceUrl), so a record never
// holds a half-made chunk and a mistake is one clear error instead of a crash deep in assembly.
import type { RetrievedChunk } from "../../define/types.js";
import { FabraError } from "../../errors.js";
import { normalizeDatetime, nowDatetime, toDatetime } from "../../record/datetime.js";
import { contentHash } from "../../record/hash.js";
import { countTokensCached, ENCODINGS, type TokenCounts } from "../context/tokens.js";

const HINT =
  "A retriever body returns chunks like { chunkId, documentId, content, similarity } (plus optional sourceUrl, tokenCount, indexedAt); " +
  "return the `search` results, or objects built like them.";

/** The body's return value as complete chunks of retriever `name` (searching `index`), or CONTEXT_FAILED. */
export function checkRetrievedChunks(value: unknown, name: string, index: string | undefined): RetrievedChunk[] {
  if (!Array.isArray(value)) {
    throw new FabraError(
      "CONTEXT_FAILED",
      `Retriever ${name} returned ${value === null ? "null" : typeof value}, not an array of chunks`,
      { hint: HINT },
    );
  }
  let now: string | undefined;
  return value.map((raw: unknown, i): RetrievedChunk => {
    const bad = (field: string, expected: string, got: unknown) =>
      new FabraError(
        "CONTEXT_FAILED",
        `Retriever ${name} returned chunk ${i} with ${field} ${describe(got)}; it should be ${expected}`,
        { hint: HINT },
      );
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw bad("value", "an object", raw);
    const c = raw as Partial<Record<keyof RetrievedChunk, unknown>>;
    const text = (field: "chunkId" | "documentId", value: unknown) => {
      if (typeof value !== "string" || value === "") throw bad(`\`${field}\``, "a non-empty string", value);
      return value;
    };
    const chunkId = text("chunkId", c.chunkId);
    const documentId = text("documentId", c.documentId);
    if (typeof c.content !== "string") throw bad("`content`", "a string", c.content);
    const content = c.content;
    if (typeof c.similarity !== "number" || !Number.isFinite(c.similarity))
      throw bad("`similarity`", "a finite number", c.similarity);
    if (c.sourceUrl !== undefined && c.sourceUrl !== null && typeof c.sourceUrl !== "string")
      throw bad("`sourceUrl`", "a string or null", c.sourceUrl);
    if (
      c.tokenCount !== undefined &&
      !(typeof c.tokenCount === "number" && Number.isSafeInteger(c.tokenCount) && c.tokenCount >= 0)
    ) {
      throw bad("`tokenCount`", "a whole number of at least 0", c.tokenCount);
    }
    let indexedAt: string;
    if (c.indexedAt === undefined) indexedAt = now ??= nowDatetime();
    else if (c.indexedAt instanceof Date && !Number.isNaN(c.indexedAt.getTime())) indexedAt = toDatetime(c.indexedAt);
    else {
      try {
        indexedAt = normalizeDatetime(c.indexedAt as string, "indexedAt");
      } catch {
        throw bad("`indexedAt`", "an ISO-8601 datetime (or a Date)", c.indexedAt);
      }
    }
    // Always the hash of the content the record will carry (a body may have changed the text of a search hit).
    const hash = contentHash(content);
    // Index-time counts stay only with the text they were made from (a search hit handed back unchanged).
    const counts = c.contentHash === hash ? indexCounts(c.tokenCounts) : undefined;
    return {
      chunkId,
      documentId,
      content,
      similarity: c.similarity,
      sourceUrl: c.sourceUrl ?? null,
      tokenCount: (c.tokenCount as number | undefined) ?? counts?.cl100k_base ?? countTokensCached(content),
      ...(counts ? { tokenCounts: counts } : {}),
      indexedAt,
      contentHash: hash,
      retriever: name,
      index: typeof c.index === "string" && c.index !== "" ? c.index : (index ?? ""),
    };
  });
}

/** Token counts a search hit carried, when they are well-formed (whole numbers per known encoding). */
function indexCounts(value: unknown): TokenCounts | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const out: { cl100k_base?: number; o200k_base?: number } = {};
  for (const encoding of ENCODINGS) {
    const n = (value as Record<string, unknown>)[encoding];
    if (typeof n === "number" && Number.isSafeInteger(n) && n >= 0) out[encoding] = n;
  }
  return out;
}

function describe(v: unknown): string {
  if (v === undefined) return "missing";
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === "number" || typeof v === "boolean" || v === null) return String(v);
  return Array.isArray(v) ? "an array" : `a ${typeof v}`;
}
