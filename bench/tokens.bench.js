// "tokens" (issue 3): tokens per second through fabra's counting path (countTokens: model → encoding, cached
// encoder, encode_ordinary) against tiktoken called directly on the same texts in the same run. Also checks that
// the joined content's count composed from its parts' counts (token-join.ts, as assembly does) is tiktoken's count
// of the joined text, over groups of the same texts joined by "\n" and "\n\n" (the bench fails if one differs).
import { get_encoding } from "tiktoken";
import { countTokens } from "../dist/engine/context/tokens.js";
import { joinedCount } from "../dist/engine/context/token-join.js";
import { corpus } from "./fixtures.js";
import { collectGarbage, now, round, runIfMain } from "./lib.js";

const TARGET = 0.95;

/** Chat-sized, chunk-sized and document-sized texts, with some non-ASCII and emoji. */
function texts(quick) {
  const text = corpus(21);
  const out = [];
  for (let i = 0; i < 200; i++) out.push(text(5 + (i % 40)));
  for (let i = 0; i < 40; i++)
    out.push(text(150 + i * 5) + (i % 4 === 0 ? " Grüße aus Köln 👋🏽 — 東京でのサポート ✓" : ""));
  for (let i = 0; i < (quick ? 2 : 6); i++) out.push(text(4000));
  return out;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * `rounds` rounds, each timing one pass of tiktoken and one of fabra back to back (alternating which goes first).
 * The ratio is the median of the per-round ratios: the two passes of a round share the machine's state, so
 * load from other processes cancels out better than in a ratio of overall medians.
 */
function compare(encode, count, list, rounds) {
  const ratios = [];
  const ms = { tiktoken: [], fabra: [] };
  const tokens = { tiktoken: 0, fabra: 0 };
  const pass = (fn) => {
    const start = now();
    let sum = 0;
    for (const t of list) sum += fn(t);
    return { ms: now() - start, sum };
  };
  for (let r = 0; r < rounds; r++) {
    collectGarbage();
    const order = r % 2 === 0 ? ["tiktoken", "fabra"] : ["fabra", "tiktoken"];
    const got = {};
    for (const way of order) got[way] = pass(way === "tiktoken" ? encode : count);
    ratios.push(got.tiktoken.ms / got.fabra.ms);
    for (const way of order) {
      ms[way].push(got[way].ms);
      tokens[way] = got[way].sum;
    }
  }
  return { ratio: median(ratios), tiktokenMs: median(ms.tiktoken), fabraMs: median(ms.fabra), tokens };
}

export default async function run(options) {
  const list = texts(options.quick);
  const chars = list.reduce((n, t) => n + t.length, 0);
  const rounds = options.quick ? 9 : 25;
  const metrics = { texts: list.length, characters: chars };
  let worst = Infinity;
  for (const [label, model, encoding] of [
    ["cl100k", undefined, "cl100k_base"],
    ["o200k", "gpt-4o", "o200k_base"],
  ]) {
    const encoder = get_encoding(encoding);
    const encode = (t) => encoder.encode_ordinary(t).length;
    const count = (t) => countTokens(t, model);
    compare(encode, count, list, 2); // warm-up: JIT, both encoders loaded
    const r = compare(encode, count, list, rounds);
    if (r.tokens.fabra !== r.tokens.tiktoken)
      throw new Error(`${label}: fabra counted ${r.tokens.fabra} tokens, tiktoken ${r.tokens.tiktoken}`);
    const ratio = r.ratio;
    options.log(
      `${label}: ${r.tokens.fabra} tokens per pass, tiktoken ${r.tiktokenMs.toFixed(1)} ms, fabra ${r.fabraMs.toFixed(1)} ms (medians)`,
    );
    metrics[`${label}Tokens`] = r.tokens.fabra;
    metrics[`${label}TiktokenTokensPerSecond`] = Math.round((r.tokens.tiktoken * 1000) / r.tiktokenMs);
    metrics[`${label}FabraTokensPerSecond`] = Math.round((r.tokens.fabra * 1000) / r.fabraMs);
    metrics[`${label}Ratio`] = round(ratio);
    worst = Math.min(worst, ratio);

    // Joined counts: groups of 20 consecutive texts (and their sentence-sized pieces), each composed count checked.
    let checked = 0;
    let composed = 0;
    const pieces = list
      .flatMap((t) => (t.length > 2000 ? t.match(/[^.?]+[.?]?/g) : [t]))
      .map((t) => t.trim())
      .filter((t) => t !== "");
    for (const separator of ["\n", "\n\n"]) {
      for (let i = 0; i < pieces.length; i += 20) {
        const parts = pieces.slice(i, i + 20).map((content) => ({ content, tokens: encode(content) }));
        const got = joinedCount(parts, separator, encoding);
        checked++;
        if (got === null) continue;
        composed++;
        const want = encode(parts.map((p) => p.content).join(separator));
        if (got !== want) throw new Error(`${label}: the composed joined count is ${got}, tiktoken counts ${want}`);
      }
    }
    metrics[`${label}JoinedCountsChecked`] = checked;
    metrics[`${label}JoinedCountsComposed`] = composed;
    encoder.free();
  }
  return {
    name: "tokens",
    description:
      "tokens/s of fabra's countTokens vs tiktoken encode_ordinary called directly (worse of cl100k_base, o200k_base)",
    metrics,
    ratio: round(worst),
    target: `>= ${TARGET}`,
    pass: worst >= TARGET,
  };
}

runIfMain(import.meta.url, run);
