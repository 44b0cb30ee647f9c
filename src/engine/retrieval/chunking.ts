// Token-based chunking for indexing: windows of `chunkTokens` tokens overlapping by `overlapTokens`, cut on
// character boundaries (a window never splits a UTF-8 sequence) and, where possible, at whitespace.
import { FabraError } from "../../errors.js";
import { type Encoding, encodingFor } from "../context/tokens.js";
import { countBySegments, tokenByteStarts } from "../context/token-segments.js";

export interface ChunkingOptions {
  chunkTokens: number;
  overlapTokens: number;
  /** Tokenizer model; cl100k_base by default. */
  model?: string;
}

export interface TextChunk {
  index: number;
  content: string;
  tokenCount: number;
}

export function checkChunking(opts: ChunkingOptions): void {
  if (!Number.isInteger(opts.chunkTokens) || opts.chunkTokens < 8) {
    throw new FabraError("INVALID_CONFIG", `chunking.chunkTokens is ${opts.chunkTokens}`, {
      hint: "Use a whole number of at least 8 (e.g. 256).",
    });
  }
  if (!Number.isInteger(opts.overlapTokens) || opts.overlapTokens < 0 || opts.overlapTokens >= opts.chunkTokens) {
    throw new FabraError("INVALID_CONFIG", `chunking.overlapTokens is ${opts.overlapTokens}`, {
      hint: `Use a whole number from 0 to less than chunkTokens (${opts.chunkTokens}), e.g. ${Math.floor(opts.chunkTokens / 8)}.`,
    });
  }
}

export function chunkText(text: string, opts: ChunkingOptions): TextChunk[] {
  checkChunking(opts);
  const trimmed = text.trim();
  if (trimmed === "") return [];
  const encoding = encodingFor(opts.model);
  // Byte offset where each token starts in the UTF-8 text (and the end); windows are cut at these offsets.
  const starts = tokenByteStarts(trimmed, encoding);
  const tokenTotal = starts.length - 1;
  if (tokenTotal <= opts.chunkTokens) return [{ index: 0, content: trimmed, tokenCount: tokenTotal }];
  const bytes = Buffer.from(trimmed, "utf8");

  const chunks: TextChunk[] = [];
  const step = opts.chunkTokens - opts.overlapTokens;
  for (let first = 0; first < tokenTotal; first += step) {
    const last = Math.min(tokenTotal, first + opts.chunkTokens);
    let from = toCharBoundary(bytes, starts[first] as number, +1);
    let to = toCharBoundary(bytes, starts[last] as number, -1);
    if (first > 0) from = toWordStart(bytes, from, to);
    if (last < tokenTotal) to = toWhitespace(bytes, from, to);
    const window = bytes.subarray(from, to).toString("utf8");
    const content = window.trim();
    if (content !== "") {
      const start = from + Buffer.byteLength(window.slice(0, window.length - window.trimStart().length));
      const end = start + Buffer.byteLength(content);
      const tokenCount = seamCount(bytes, starts, start, end, encoding) ?? countBySegments(content, encoding);
      chunks.push({ index: chunks.length, content, tokenCount });
    }
    if (last === tokenTotal) break;
  }
  return chunks;
}

/**
 * The exact token count of bytes[start, end) without tokenizing all of it, or null when it cannot be proven so.
 * tiktoken's encoders (cl100k_base, o200k_base) split text into pre-tokenizer pieces by a regex and apply BPE to
 * each piece alone. A space between two ASCII lowercase letters is a piece boundary in both encoders' patterns,
 * whatever surrounds it (the letters before it end a piece, and " word" starts one), in the whole document and in
 * the chunk alike. So with P the first and Q the last such space inside the chunk, the chunk's tokens are: those of
 * [start, P) encoded alone, the document's own tokens from P to Q (already counted), and those of [Q, end) encoded
 * alone. The two seams are short; the middle costs a binary search.
 */
function seamCount(bytes: Buffer, starts: Uint32Array, start: number, end: number, encoding: Encoding): number | null {
  const lower = (b: number | undefined) => b !== undefined && b >= 0x61 && b <= 0x7a;
  const boundary = (i: number) => bytes[i] === 0x20 && lower(bytes[i - 1]) && lower(bytes[i + 1]);
  let p = -1;
  for (let i = start + 1; i < end - 1; i++)
    if (boundary(i)) {
      p = i;
      break;
    }
  if (p < 0) return null;
  let q = p;
  for (let i = end - 2; i > p; i--)
    if (boundary(i)) {
      q = i;
      break;
    }
  const ip = tokenAt(starts, p);
  const iq = tokenAt(starts, q);
  if (ip < 0 || iq < 0) return null; // not a token boundary in the document: never expected, but then count it all
  const head = bytes.subarray(start, p).toString("utf8");
  const tail = bytes.subarray(q, end).toString("utf8");
  return countBySegments(head, encoding) + (iq - ip) + countBySegments(tail, encoding);
}

/** The index of the token starting at byte `offset`, or -1 when no token starts there. */
function tokenAt(starts: Uint32Array, offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const at = starts[mid] as number;
    if (at === offset) return mid;
    if (at < offset) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** Moves a byte offset off UTF-8 continuation bytes (10xxxxxx), forwards or backwards. */
function toCharBoundary(bytes: Buffer, at: number, direction: 1 | -1): number {
  let i = at;
  while (i > 0 && i < bytes.length && ((bytes[i] as number) & 0xc0) === 0x80) i += direction;
  return i;
}

/** Moves a window's start past a partial word, to just after the first whitespace in its first fifth. */
function toWordStart(bytes: Buffer, from: number, to: number): number {
  if (isSpace(bytes[from - 1] as number)) return from;
  const ceiling = from + Math.floor((to - from) / 5);
  for (let i = from; i < ceiling; i++) if (isSpace(bytes[i] as number)) return i + 1;
  return from;
}

const isSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x09 || b === 0x0d;

/** Pulls a window's end back to the last whitespace in its final fifth, so words are not cut in half. */
function toWhitespace(bytes: Buffer, from: number, to: number): number {
  const floor = from + Math.floor(((to - from) * 4) / 5);
  for (let i = to; i > floor; i--) {
    if (isSpace(bytes[i - 1] as number)) return i;
  }
  return to;
}
