// Exact tokenization of long texts (indexing) through a cache of their segments, so each distinct word goes through
// tiktoken once per process instead of once per occurrence.
//
// Why it is exact: tiktoken's encoders (cl100k_base, o200k_base) split text into pre-tokenizer pieces by a regex,
// matched left to right, and apply BPE to each piece alone. A space between two ASCII lowercase letters is a piece
// boundary in both patterns, whatever surrounds it: every alternative that takes a letter ends its piece at the
// last letter of a run (a space is no letter), and " word" starts the next piece. Cut at those spaces, a text's
// segments each end with a lowercase letter (but the last), so no piece of the whole crosses a cut and none of the
// patterns' look-aheads (`\s+(?!\S)`, `\s+$`) sees past one: each segment, encoded alone, gives exactly the tokens
// the whole text gives there. (The same argument lets chunking count a chunk from its seams; both are
// property-tested against tiktoken on both encoders.)
//
// A segment not seen before is not sent to tiktoken whole when it is ASCII: it is split into tiktoken's own
// pre-tokenizer pieces by the encoding's pattern restricted to ASCII (below), and each distinct piece goes through
// tiktoken once. A text's tokens are the BPE of each piece alone, so that is exact wherever the JS pattern finds the
// pieces tiktoken's finds: on ASCII text it is the same pattern (\p{L} is [A-Za-z] there, \p{N} [0-9], \s
// [\t\n\v\f\r ] in both regex engines, both leftmost-first with backtracking), and a piece is encoded alone only
// when the pattern finds it whole alone too (a whitespace piece can split otherwise: its look-ahead sees the end).
// Prose has a few thousand distinct pieces against tens of thousands of distinct segments (a segment joins the words
// around punctuation or capitals: "end.\nThe next").
import type { TokenCounts } from "../../define/types.js";
import { HASH_START, hashStep, SegmentTable } from "./segment-table.js";
import { type Encoding, encoderOf } from "./tokens.js";

/** Distinct segments (and pieces) remembered per encoding before the cache starts over (a few MB of short strings). */
const MAX_SEGMENTS = 200_000;
/** Longer segments (text without such spaces: code, CJK, tables) are not remembered whole (their pieces may be). */
const MAX_CACHED_LENGTH = 64;
/** Per encoding: segment text → the UTF-8 byte length of each of its tokens; and the same for pieces. */
const tables = new Map<Encoding, { segments: SegmentTable; pieces: Map<string, Uint16Array> }>();
/** Per encoding: token id → its UTF-8 byte length (0 = not decoded yet; no token is empty). */
const byteLengths = new Map<Encoding, Uint16Array>();

const isLower = (c: number) => c >= 0x61 && c <= 0x7a;

function tablesOf(encoding: Encoding) {
  let found = tables.get(encoding);
  if (!found) {
    found = { segments: new SegmentTable(), pieces: new Map() };
    tables.set(encoding, found);
  }
  return found;
}

/**
 * Calls `each(lengths)` with the byte length of each token of each segment of `text` in turn (segments cut at spaces
 * between ASCII lowercase letters): the tokens tiktoken gives the whole text, in order. Each segment's hash is
 * computed in the same pass, for the table.
 */
function forEachSegment(text: string, encoding: Encoding, each: (lengths: Uint16Array) => void): void {
  const { segments, pieces } = tablesOf(encoding);
  const end = text.length;
  let from = 0;
  let hash = HASH_START;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x20 && i > 0 && i < end - 1 && isLower(text.charCodeAt(i - 1)) && isLower(text.charCodeAt(i + 1))) {
      each(segmentLengths(segments, pieces, text, from, i, hash, encoding));
      from = i;
      hash = HASH_START;
    }
    hash = hashStep(hash, c);
  }
  if (from < end) each(segmentLengths(segments, pieces, text, from, end, hash, encoding));
}

/** The byte length of each token of text[from, to) encoded alone: from the table, by its pieces, or by tiktoken. */
function segmentLengths(
  segments: SegmentTable,
  pieces: Map<string, Uint16Array>,
  text: string,
  from: number,
  to: number,
  hash: number,
  encoding: Encoding,
): Uint16Array {
  const cacheable = to - from <= MAX_CACHED_LENGTH;
  if (cacheable) {
    const hit = segments.get(text, from, to, hash);
    if (hit) return hit;
  }
  const segment = text.slice(from, to);
  const lengths = byPieces(pieces, segment, encoding) ?? encodeLengths(segment, encoding);
  if (cacheable) {
    if (segments.size >= MAX_SEGMENTS) segments.clear();
    segments.set(segment, hash, lengths);
  }
  return lengths;
}

/**
 * tiktoken's pre-tokenizer patterns (cl100k_base, o200k_base) for ASCII text, alternatives in the same order:
 * \p{L} is [A-Za-z] there (\p{Lu} [A-Z], \p{Ll} [a-z]; \p{Lt}, \p{Lm}, \p{Lo}, \p{M} empty), \p{N} [0-9], and
 * (?i:'s|'t|'re|'ve|'m|'ll|'d) the contractions in either case. Sticky: each match starts where the last ended.
 */
const CONTRACTION = "'(?:[sS]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD])";
const ASCII_PIECES: Record<Encoding, RegExp> = {
  cl100k_base: new RegExp(
    String.raw`${CONTRACTION}|[^\r\nA-Za-z0-9]?[A-Za-z]+|[0-9]{1,3}| ?[^\sA-Za-z0-9]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`,
    "y",
  ),
  o200k_base: new RegExp(
    String.raw`[^\r\nA-Za-z0-9]?[A-Z]*[a-z]+(?:${CONTRACTION})?|[^\r\nA-Za-z0-9]?[A-Z]+[a-z]*(?:${CONTRACTION})?|[0-9]{1,3}| ?[^\sA-Za-z0-9]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`,
    "y",
  ),
};

/** The end of the pre-tokenizer piece of ASCII `text` that starts at `from` (-1 if none: never expected). */
function pieceEnd(pattern: RegExp, text: string, from: number): number {
  pattern.lastIndex = from;
  return pattern.test(text) ? pattern.lastIndex : -1;
}

/**
 * The tokens of ASCII `segment` piece by piece (each distinct piece through tiktoken once), or null when it is not
 * ASCII or has a piece the pattern does not find whole alone.
 */
function byPieces(table: Map<string, Uint16Array>, segment: string, encoding: Encoding): Uint16Array | null {
  const end = segment.length;
  for (let i = 0; i < end; i++) if (segment.charCodeAt(i) > 0x7f) return null;
  const pattern = ASCII_PIECES[encoding];
  const parts: Uint16Array[] = [];
  let total = 0;
  for (let from = 0; from < end; ) {
    const to = pieceEnd(pattern, segment, from);
    if (to <= from) return null;
    const piece = from === 0 && to === end ? segment : segment.slice(from, to);
    let lengths = table.get(piece);
    if (!lengths) {
      if (piece !== segment && pieceEnd(pattern, piece, 0) !== piece.length) return null;
      lengths = encodeLengths(piece, encoding);
      if (piece.length <= MAX_CACHED_LENGTH) {
        if (table.size >= MAX_SEGMENTS) table.clear();
        table.set(piece, lengths);
      }
    }
    if (piece === segment) return lengths;
    parts.push(lengths);
    total += lengths.length;
    from = to;
  }
  const out = new Uint16Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** The byte length of each token of `text` encoded alone, through tiktoken. */
function encodeLengths(text: string, encoding: Encoding): Uint16Array {
  const encoder = encoderOf(encoding);
  let lengthOf = byteLengths.get(encoding);
  if (!lengthOf) {
    lengthOf = new Uint16Array(1 << 18); // o200k_base has ~200k tokens
    byteLengths.set(encoding, lengthOf);
  }
  const tokens = encoder.encode_ordinary(text);
  const lengths = new Uint16Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as number;
    let length = token < lengthOf.length ? (lengthOf[token] as number) : 0;
    if (length === 0) {
      // Decoding a token crosses into tiktoken's WebAssembly; each distinct token is decoded once per process.
      length = encoder.decode_single_token_bytes(token).length;
      if (token < lengthOf.length) lengthOf[token] = length;
    }
    lengths[i] = length;
  }
  return lengths;
}

/**
 * Where each token of `text` starts, as a byte offset into its UTF-8 form, plus the total byte length at the end
 * (so the result has one entry more than `text` has tokens): what encoding the whole text with tiktoken gives.
 */
export function tokenByteStarts(text: string, encoding: Encoding): Uint32Array {
  let starts = new Uint32Array(text.length + 1); // grown when a character is several tokens
  let n = 0;
  let offset = 0;
  forEachSegment(text, encoding, (lengths) => {
    if (n + lengths.length >= starts.length) {
      const grown = new Uint32Array(Math.max(starts.length * 2, n + lengths.length + 1));
      grown.set(starts);
      starts = grown;
    }
    for (let i = 0; i < lengths.length; i++) {
      starts[n++] = offset;
      offset += lengths[i] as number;
    }
  });
  starts[n++] = offset;
  return starts.subarray(0, n);
}

/** Tokens in `text` in `encoding`, exactly as countIn counts them, segment by segment (see above). */
export function countBySegments(text: string, encoding: Encoding): number {
  let count = 0;
  forEachSegment(text, encoding, (lengths) => {
    count += lengths.length;
  });
  return count;
}

/**
 * A chunk's counts at index time: `cl100kCount` (what chunking counted) and its count in each other encoding in
 * `encodings` (those the project's contexts count in), segment by segment.
 */
export function chunkTokenCounts(content: string, cl100kCount: number, encodings: Iterable<Encoding>): TokenCounts {
  const counts: { -readonly [E in Encoding]?: number } = { cl100k_base: cl100kCount };
  for (const encoding of encodings) counts[encoding] ??= countBySegments(content, encoding);
  return counts;
}

/** Forgets every remembered segment (benchmarks measure a cold process; tests start clean). */
export function clearSegmentCache(): void {
  for (const { segments, pieces } of tables.values()) {
    segments.clear();
    pieces.clear();
  }
}
