// "tokens" (issue 3): tokens per second through fabra's counting path (countTokens: model → encoding, cached
// encoder, encode_ordinary) against tiktoken called directly on the same texts in the same run.
import { get_encoding } from "tiktoken";
import { countTokens } from "../dist/engine/tokens.js";
import { corpus } from "./fixtures.js";
import { collectGarbage, now, round, runIfMain } from "./lib.js";

const TARGET = 0.95;

/** Chat-sized, chunk-sized and document-sized texts, with some non-ASCII and emoji. */
function texts(quick) {
  const text = corpus(21);
  const out = [];
  for (let i = 0; i < 200; i++) out.push(text(5 + (i % 40)));
  for (let i = 0; i < 40; i++) out.push(text(150 + i * 5) + (i % 4 === 0 ? " Grüße aus Köln 👋🏽 — 東京でのサポート ✓" : ""));
  for (let i = 0; i < (quick ? 2 : 6); i++) out.push(text(4000));
  return out;
}

/** Median of `rounds` alternating timed passes of each way of counting, so drift hits both equally. */
function compare(ways, list, rounds) {
  const times = Object.fromEntries(Object.keys(ways).map((k) => [k, []]));
  const tokens = {};
  for (let r = 0; r < rounds; r++) {
    for (const [name, count] of r % 2 === 0 ? Object.entries(ways) : Object.entries(ways).reverse()) {
      collectGarbage();
      const start = now();
      let sum = 0;
      for (const t of list) sum += count(t);
      times[name].push(now() - start);
      tokens[name] = sum;
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return Object.fromEntries(Object.keys(ways).map((k) => [k, { ms: median(times[k]), tokens: tokens[k] }]));
}

export default async function run(options) {
  const list = texts(options.quick);
  const chars = list.reduce((n, t) => n + t.length, 0);
  const rounds = options.quick ? 5 : 15;
  const metrics = { texts: list.length, characters: chars };
  let worst = Infinity;
  for (const [label, model, encoding] of [
    ["cl100k", undefined, "cl100k_base"],
    ["o200k", "gpt-4o", "o200k_base"],
  ]) {
    const encoder = get_encoding(encoding);
    const ways = {
      tiktoken: (t) => encoder.encode_ordinary(t).length,
      fabra: (t) => countTokens(t, model),
    };
    compare(ways, list, 2); // warm-up: JIT, both encoders loaded
    const r = compare(ways, list, rounds);
    if (r.fabra.tokens !== r.tiktoken.tokens) throw new Error(`${label}: fabra counted ${r.fabra.tokens} tokens, tiktoken ${r.tiktoken.tokens}`);
    const ratio = r.tiktoken.ms / r.fabra.ms;
    options.log(`${label}: ${r.fabra.tokens} tokens, tiktoken ${r.tiktoken.ms.toFixed(1)} ms, fabra ${r.fabra.ms.toFixed(1)} ms`);
    metrics[`${label}Tokens`] = r.fabra.tokens;
    metrics[`${label}TiktokenTokensPerSecond`] = Math.round((r.tiktoken.tokens * 1000) / r.tiktoken.ms);
    metrics[`${label}FabraTokensPerSecond`] = Math.round((r.fabra.tokens * 1000) / r.fabra.ms);
    metrics[`${label}Ratio`] = round(ratio);
    worst = Math.min(worst, ratio);
    encoder.free();
  }
  return {
    name: "tokens",
    description: "tokens/s of fabra's countTokens vs tiktoken encode_ordinary called directly (worse of cl100k_base, o200k_base)",
    metrics,
    ratio: round(worst),
    target: `>= ${TARGET}`,
    pass: worst >= TARGET,
  };
}

runIfMain(import.meta.url, run);
