// What a forger does after editing stored record text: recompute both hashes so they match the edited bytes, the
// way the verifier computes them. `resealStructural` finds the top-level integrity object and content by parsing
// (the strongest forger: what the full path checks); `resealBytes` by byte search (the last `"integrity":{`, the
// first `},"content":"`), for text that does not parse. Both leave text they cannot reseal as it is.
import { createHash } from "node:crypto";
import { canonicalJson } from "../../src/record/canonical.js";
import { type JsonObject, parseJsonObjectSpans } from "../../src/record/json.js";

export const sha = (s: string | Buffer): string => `sha256:${createHash("sha256").update(s).digest("hex")}`;

function sealedIntegrity(integrity: JsonObject, contentHash: string, recordHash: string): string {
  const { signing_key_id: _k, ...rest } = integrity;
  return canonicalJson({
    ...rest,
    content_hash: contentHash,
    record_hash: recordHash,
    signature: null,
    signed_at: null,
  });
}

/** Reseals text that parses as a JSON object with an `integrity` object; other text is returned as it is. */
export function resealStructural(text: string): string {
  let parsed: ReturnType<typeof parseJsonObjectSpans>;
  try {
    parsed = parseJsonObjectSpans(text);
  } catch {
    return resealBytes(text);
  }
  const span = parsed.spans.get("integrity");
  const integrity = parsed.value.integrity;
  if (!span || typeof integrity !== "object" || integrity === null || Array.isArray(integrity)) return text;
  const content = typeof parsed.value.content === "string" ? parsed.value.content : "";
  const contentHash = sha(content);
  const blank = sealedIntegrity(integrity as JsonObject, contentHash, "");
  const recordHash = sha(text.slice(0, span[0]) + blank + text.slice(span[1]));
  return (
    text.slice(0, span[0]) + sealedIntegrity(integrity as JsonObject, contentHash, recordHash) + text.slice(span[1])
  );
}

/** Reseals by byte search, as a forger who cannot parse the text would. */
export function resealBytes(text: string): string {
  const keyAt = text.lastIndexOf('"integrity":{');
  if (keyAt < 0) return text;
  const start = keyAt + '"integrity":'.length;
  const end = text.indexOf("}", start) + 1;
  if (end === 0) return text;
  let previous: unknown = null;
  try {
    previous = (JSON.parse(text.slice(start, end)) as { previous_context_id?: unknown }).previous_context_id ?? null;
  } catch {
    // keep null
  }
  const contentAt = /\},"content":"/.exec(text);
  let content = "";
  if (contentAt) {
    const bodyStart = contentAt.index + '},"content":"'.length;
    let i = bodyStart;
    while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    try {
      content = JSON.parse(`"${text.slice(bodyStart, i)}"`) as string;
    } catch {
      // content that does not decode: leave the hash over nothing
    }
  }
  const prev = JSON.stringify(previous);
  const head = `{"content_hash":"${sha(content)}","previous_context_id":${prev},"record_hash":"`;
  const tail = '","signature":null,"signed_at":null}';
  const before = text.slice(0, start);
  const after = text.slice(end);
  const recordHash = sha(before + head + tail + after);
  return before + head + recordHash + tail + after;
}
