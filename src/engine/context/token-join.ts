// The exact token count of parts joined by a separator, from the parts' own counts, where that is provably exact
// for tiktoken; `null` where it is not (the caller then counts the joined text in one pass).
//
// Why it can be exact: tiktoken first splits the text with a regular expression (the "pre-tokenizer") and then
// byte-pair-encodes each piece on its own, so count(text) is the sum of the pieces' counts. The count of a
// concatenation is the sum of the counts of its halves whenever the pre-tokenizer splits the whole at the join and
// splits each half as it splits it alone. Both patterns (cl100k_base, o200k_base) are, in order of priority:
//   L  [^\r\n\p{L}\p{N}]? letters (o200k: upper/lower classes with \p{M}), then optional 's 't 're ... (cl100k: the
//      contractions are an alternative of their own, before L)
//   N  \p{N}{1,3}
//   P  " "? [^\s\p{L}\p{N}]+ [\r\n]*        (o200k: [\r\n/]*)
//   W  \s*[\r\n]+  |  \s+(?!\S)  |  \s+
// Every character is matched by one of them and no alternative matches "", so the pieces tile the text; there is
// no look-behind, so the piece starting at a position depends only on the text from there on. Comparing the text
// X alone with X followed by more text Y, a path of the pattern can behave differently only where it reads the
// position |X| (end of input in one, Y[0] in the other), which it reaches only after consuming X's last character.
//
// Lemma B (a part after a separator). X ends with "\n" and Y[0] is neither White_Space nor "/". The elements that
// can consume X's final "\n" are P's [\r\n/]*, W's \s*, \s+ and [\r\n]+: each rejects Y[0] as it rejects the end of
// input. The look-ahead (?!\S) after \s+ does differ, but a path reading it has consumed only whitespace from its
// start, and there W's first branch \s*[\r\n]+ (tried before it) matches the same piece in both texts. So the
// pieces of X·Y are the pieces of X then those of Y: count(X·Y) = count(X) + count(Y).
//
// Lemma A (a part before a separator). s starts with White_Space; A is a part and c its last character.
//   c a letter or digit: the elements that can consume c (letter classes, \p{N}, a contraction's letters) are
//     followed by letter / digit / "'" tests that reject s[0] as they reject the end of input, so A's pieces are
//     unchanged and s is split as it is alone: count(A·s) = count(A) + count(s).
//   c punctuation (not a letter, digit, mark or White_Space): let R be the longest run of such characters ending A,
//     preceded by a letter, a digit or White_Space (or nothing). A's last piece is T = R, or " " + R when a space
//     (U+0020) precedes R: P is the only alternative that can match there (L needs a letter after its one-character
//     prefix, a contraction a letter after "'"), it takes all of R, and a single space before a non-space is never
//     the end of a W piece. Of the paths through c, only P's [\r\n]* reads s differently, and it is P's own path at
//     T: every other piece of A is unchanged, and count(A·s) = count(A) − count(T) + count(T·s). Except in o200k,
//     whose P ends in [\r\n/]*: a run R starting with "/" after "\r" or "\n" may be part of the piece before it
//     (",\n//" is one piece), so there T is not decided and A·s is counted as it is.
//   Otherwise (whitespace, a mark, a character outside the ranges below): A·s is counted as it is.
// Joining: with s ending in "\n" and each later part starting with neither White_Space nor "/", Lemma B splits
// p1·s·p2·s·…·pn into (p1·s)(p2·s)…(pn), and Lemma A gives each count(pi·s) from count(pi).
//
// The character classes are JavaScript's (Unicode property escapes); tiktoken's are Rust's. They can differ for
// characters assigned in a newer Unicode version than the other side knows, so the rule decides only for characters
// in long-assigned ranges (SAFE below) and otherwise falls back. test/unit/token-join.test.ts checks every count
// against tiktoken on the whole text, over adversarial strings.
import { type Encoding, countCachedIn } from "./tokens.js";

/** Code points whose General Category and White_Space property are the same in every Unicode version since 14. */
function safe(cp: number): boolean {
  return (
    cp < 0x0800 || // Latin, Greek, Cyrillic, Armenian, Hebrew, Arabic, ...
    (cp >= 0x2000 && cp <= 0x206f) || // general punctuation
    (cp >= 0x3000 && cp <= 0x30ff) || // CJK punctuation, kana
    (cp >= 0x4e00 && cp <= 0x9fff) || // CJK unified ideographs
    (cp >= 0xac00 && cp <= 0xd7a3) || // Hangul syllables
    (cp >= 0xff00 && cp <= 0xffef) // half- and full-width forms
  );
}

const LETTER_OR_DIGIT = /^[\p{L}\p{N}]$/u;
const WHITE_SPACE = /^\p{White_Space}$/u;
const MARK = /^\p{M}$/u;

type Kind = "word" | "space" | "punct" | "unsure";

/** The class of the UTF-16 code unit at `i` (a surrogate, i.e. a character outside the BMP, is "unsure"). */
function kindAt(text: string, i: number): Kind {
  const cp = text.charCodeAt(i);
  if (cp >= 0xd800 && cp <= 0xdfff) return "unsure";
  if (cp < 0x80) {
    if ((cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a)) return "word";
    if (cp === 0x20 || (cp >= 0x09 && cp <= 0x0d)) return "space";
    return "punct";
  }
  if (!safe(cp)) return "unsure";
  const ch = text[i] as string;
  if (LETTER_OR_DIGIT.test(ch)) return "word";
  if (WHITE_SPACE.test(ch)) return "space";
  if (MARK.test(ch)) return "unsure";
  return "punct";
}

/**
 * o200k's P piece ends in [\r\n/]*: after punctuation and a line break it takes "/" too (",\n//" is one piece), so
 * a run R starting with "/" right after "\r" or "\n" may be the tail of the piece before it, and T is not known.
 */
function slashesMayJoinPrevious(text: string, r: number, encoding: Encoding): boolean {
  if (encoding !== "o200k_base" || r === 0 || text.charCodeAt(r) !== 0x2f) return false;
  const prev = text.charCodeAt(r - 1);
  return prev === 0x0a || prev === 0x0d;
}

/** Whether Lemma B holds for a part that follows a separator. */
export function startsClean(text: string): boolean {
  if (text === "") return false;
  const cp = text.charCodeAt(0);
  if (cp === 0x2f) return false; // "/" joins o200k's [\r\n/]*
  if (cp < 0x80) return !(cp === 0x20 || (cp >= 0x09 && cp <= 0x0d));
  if (cp >= 0xd800 && cp <= 0xdfff) return true; // an astral character or a lone surrogate (U+FFFD): never White_Space
  return !WHITE_SPACE.test(text[0] as string);
}

/** Whether joining with `separator` can be counted from the parts (it starts with White_Space and ends with "\n"). */
export function composableSeparator(separator: string): boolean {
  return separator.endsWith("\n") && WHITE_SPACE.test(separator[0] as string);
}

// Counts of short tails (T and T·s in Lemma A: a few punctuation characters) and of separators, by the text itself.
const SMALL_MAX_ENTRIES = 4096;
const small = new Map<string, number>();
function smallCount(text: string, encoding: Encoding): number {
  const key = `${encoding}\u0000${text}`;
  let count = small.get(key);
  if (count === undefined) {
    if (small.size >= SMALL_MAX_ENTRIES) small.clear();
    count = countCachedIn(text, encoding);
    small.set(key, count);
  }
  return count;
}
const MAX_TAIL = 32;

/**
 * count(text + separator), from count(text) = `tokens`, by Lemma A; counted whole where the lemma does not decide.
 * `separator` must be composable.
 */
export function countWithSeparator(text: string, tokens: number, separator: string, encoding: Encoding): number {
  if (text === "") return smallCount(separator, encoding);
  const last = text.length - 1;
  const kind = kindAt(text, last);
  if (kind === "word") return tokens + smallCount(separator, encoding);
  if (kind === "punct") {
    let r = last;
    while (r > 0 && last - r < MAX_TAIL && kindAt(text, r - 1) === "punct") r--;
    const before = r > 0 ? kindAt(text, r - 1) : "space";
    if ((before === "word" || before === "space") && !slashesMayJoinPrevious(text, r, encoding)) {
      const tail = text.slice(r > 0 && text.charCodeAt(r - 1) === 0x20 ? r - 1 : r);
      return tokens - smallCount(tail, encoding) + smallCount(tail + separator, encoding);
    }
  }
  return countCachedIn(text + separator, encoding);
}

/** A part of a joined text: its content, its own count, and (filled in on first use) its count with the separator. */
export interface JoinPart {
  readonly content: string;
  readonly tokens: number;
  withSeparator?: number;
}

/**
 * The exact count of `parts` joined by `separator` from the parts' counts, or null when Lemma B does not hold at a
 * join (a later part starting with whitespace or "/", or empty) or the separator is not composable.
 */
export function joinedCount(parts: readonly JoinPart[], separator: string, encoding: Encoding): number | null {
  if (parts.length === 0) return 0;
  if (!composableSeparator(separator)) return null;
  let total = 0;
  for (let i = 0; i < parts.length - 1; i++) {
    const part = parts[i] as JoinPart;
    if (!startsClean((parts[i + 1] as JoinPart).content)) return null;
    part.withSeparator ??= countWithSeparator(part.content, part.tokens, separator, encoding);
    total += part.withSeparator;
  }
  return total + (parts[parts.length - 1] as JoinPart).tokens;
}
