// Well-formed Unicode for hashed text: a lone UTF-16 surrogate has no UTF-8 form (sha256 over UTF-8 would hash it as
// U+FFFD, so two different contents would share one content_hash, and the Python implementation cannot hash it).
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, "g");

// String.prototype.isWellFormed / toWellFormed (ES2024, node >= 20; ES2023's lib does not type them) are ~5x faster
// than the regular expression, which stays for runtimes without them.
const native = String.prototype as { isWellFormed?: () => boolean; toWellFormed?: () => string };
const nativeIsWellFormed = native.isWellFormed;
const nativeToWellFormed = native.toWellFormed;

/** Whether the text has no lone surrogate (String.prototype.isWellFormed). */
export function isWellFormed(text: string): boolean {
  return nativeIsWellFormed ? nativeIsWellFormed.call(text) : !LONE_SURROGATE.test(text);
}

/** The text with every lone surrogate replaced by U+FFFD (what String.prototype.toWellFormed gives). */
export function toWellFormed(text: string): string {
  if (nativeToWellFormed) return nativeToWellFormed.call(text);
  return isWellFormed(text) ? text : text.replace(LONE_SURROGATES, "\uFFFD");
}
