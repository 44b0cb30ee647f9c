// Realistic, deterministic workload for the benches: a seeded text corpus and a support-assistant fabra project
// (3 features, a top-5 retriever, a 20-item context whose budget forces drops), built from the package's dist/; the
// backfill benches' history files and result.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { context, createFabra, entity, feature, retriever } from "../dist/index.js";
import { median } from "./lib.js";

/** A small seeded PRNG (mulberry32), so every run measures the same data. */
export function rng(seed = 42) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Common English and support-desk words: real text tokenizes into real (mostly whole-word) tokens, which is
// what tiktoken is tuned for, so made-up words would overstate tokenizer cost.
const WORDS = (
  "the of and to a in is it you that he was for on are with as his they be at one have this from or had by hot " +
  "word but what some we can out other were all there when up use your how said an each she which do their time " +
  "if will way about many then them write would like so these her long make thing see him two has look more day " +
  "could go come did number sound no most people my over know water than call first who may down side been now " +
  "find any new work part take get place made live where after back little only round man year came show every " +
  "good me give our under name very through just form sentence great think say help low line differ turn cause " +
  "much mean before move right boy old too same tell does set three want air well also play small end put home " +
  "read hand port large spell add even land here must big high such follow act why ask men change went light " +
  "kind off need house picture try us again animal point mother world near build self earth father head stand own " +
  "page should country found answer school grow study still learn plant cover food sun four between state keep " +
  "eye never last let thought city tree cross farm hard start might story saw far sea draw left late run while " +
  "press close night real life few north open seem together next white children begin got walk example ease paper " +
  "group always music those both mark often letter until mile river car feet care second book carry took science " +
  "account password billing invoice plan user team api key request limit error support order refund shipping " +
  "export report settings dashboard admin role permission token session login logout email notification webhook " +
  "endpoint latency region cluster database backup restore upgrade downgrade subscription trial seat license " +
  "payment card charge credit tax receipt address profile security policy audit log integration workspace project " +
  "deploy release version feature bug ticket priority status escalate agent customer contract renewal quota usage " +
  "storage bandwidth timeout retry rate throttle cache index search query filter sort page export import sync " +
  "mobile desktop browser install configure enable disable reset verify confirm cancel delete archive share invite"
).split(" ");

/** Returns `text(words)`: sentences of seeded words with punctuation, a digit now and then, and some non-ASCII. */
export function corpus(seed = 7) {
  const random = rng(seed);
  const word = () => WORDS[Math.floor(WORDS.length * random() ** 1.6)];
  return function text(words) {
    const out = [];
    let sentence = 0;
    for (let i = 0; i < words; i++) {
      let w = word();
      if (sentence === 0) w = w[0].toUpperCase() + w.slice(1);
      if (random() < 0.02) w += ` ${Math.floor(random() * 10000)}`;
      if (random() < 0.005) w += " café — naïve ✓";
      sentence++;
      if (sentence > 8 && random() < 0.15) {
        w += random() < 0.9 ? "." : "?";
        sentence = 0;
      } else if (random() < 0.06) w += ",";
      out.push(w);
    }
    return out.join(" ") + ".";
  };
}

/** `count` documents of about `words` words each. */
export function documents(count, words, seed = 11) {
  const text = corpus(seed);
  return Array.from({ length: count }, (_, i) => ({
    id: `doc-${i}`,
    content: text(words),
    sourceUrl: `https://docs.example.com/kb/${i}`,
  }));
}

const SYSTEM_PROMPT =
  "You are the support assistant for Example Cloud. Answer from the knowledge base excerpts below; cite the " +
  "excerpt you used. If the excerpts do not answer the question, say so and offer to open a ticket. Never invent " +
  "prices, limits or dates. Keep answers short and give the steps in order.";

/**
 * The support project's definitions: `tier` (string), `openTickets` (int) and `profile` (an object with a float),
 * a `docs` retriever (top 5 on index "kb"), and the `support` context: 2 required items, 5 retrieved chunks and
 * 13 conversation turns = 20 items, with a budget that forces the lowest-priority items out.
 */
export function supportDefinitions({ maxTokens = 1200, seed = 3 } = {}) {
  const turns = corpus(seed);
  const history = Array.from(
    { length: 13 },
    (_, i) => `${i % 2 === 0 ? "User" : "Assistant"}: ${turns(25 + ((i * 17) % 40))}`,
  );
  const user = entity("user");
  const tier = feature({ entity: user, ttl: "1h" }, (id) =>
    id.length % 3 === 0 ? "enterprise" : id.length % 3 === 1 ? "pro" : "free",
  );
  const openTickets = feature({ entity: user, ttl: "5m" }, (id) => id.length * 3);
  const profile = feature({ entity: user, ttl: "1h" }, (id) => ({
    id,
    region: "eu-west-1",
    seats: 12,
    monthly_spend: 249.5,
    flags: ["sso", "audit-log"],
  }));
  const docs = retriever({ index: "kb", topK: 5 });
  const support = context({ maxTokens }, async ({ userId, query }) => {
    const [t, n, p] = await Promise.all([tier.get(userId), openTickets.get(userId), profile.get(userId)]);
    const hits = await docs(query);
    return [
      { id: "system", content: SYSTEM_PROMPT, priority: 0, required: true },
      {
        id: "customer",
        content: `Customer ${userId}: ${t} plan, ${n} open tickets, ${p.seats} seats in ${p.region}, spend ${p.monthly_spend}/month.`,
        priority: 0,
        required: true,
      },
      ...hits.map((h, i) => ({ content: h.content, priority: 1 + i, source: h })),
      ...history.map((content, i) => ({
        id: `turn-${i}`,
        content,
        priority: 3 + Math.floor((history.length - i) / 2),
      })),
    ];
  });
  return { user, tier, openTickets, profile, docs, support };
}

/** Opens the support project on a DuckDB file with local stores and indexes `docs` into "kb". */
export async function openSupportFabra({ path, docs, maxTokens, chunkTokens = 128, overlapTokens = 16 }) {
  const defs = supportDefinitions({ maxTokens });
  const fabra = await createFabra({
    stores: { offline: { type: "duckdb", path } },
    chunking: { chunkTokens, overlapTokens },
    evidence: { mode: "required" },
    codeVersion: "bench",
    definitions: defs,
    warn: (message) => process.stderr.write(`fabra: ${message}\n`),
  });
  const indexed = await fabra.index.add("kb", docs);
  return { fabra, defs, indexed };
}

/** Questions in the corpus' own words, so the retriever finds real matches. */
export function queries(count, seed = 5) {
  const text = corpus(seed);
  const random = rng(seed + 1);
  return Array.from({ length: count }, () => text(4 + Math.floor(random() * 8)));
}

// ---------------------------------------------------------------- backfill (import.bench.js, import-pg.bench.js)

/** The backfill benches' project: entity `user`, feature `score`. */
export function scoreDefinitions() {
  const user = entity("user");
  return { user, score: feature({ entity: user }, () => 0) };
}

/**
 * A CSV of (entity_id, timestamp, value) rows: `rows` rows over 5,000 entities, one second apart, decimal values;
 * `round` shifts every event time by that many ms, so each round's file is new (fresh run ids). Returns its path.
 */
export function writeHistoryCsv(dir, rows, round) {
  const base = Date.UTC(2025, 0, 1);
  const lines = ["entity_id,timestamp,value"];
  for (let i = 0; i < rows; i++)
    lines.push(`user_${i % 5000},${new Date(base + i * 1000 + round).toISOString()},${(i % 997) + 0.5}`);
  const path = join(dir, `history-${rows}-${round}.csv`);
  writeFileSync(path, `${lines.join("\n")}\n`);
  return path;
}

/** A run id prefix as wide as an import's (`import:<24 hex>:`), for the raw baselines' rows: the same key widths. */
export const rawRunPrefix = (round) => `import:${String(round).padStart(24, "0")}:`;

/** `importHistory` of `path` into `score`, which must write all `rows` rows. */
export async function importScores(fabra, path, rows) {
  const summary = await fabra.importHistory({ feature: "score", file: path });
  if (summary.written !== rows || summary.badRows.length > 0) throw new Error(`import: ${JSON.stringify(summary)}`);
}

/** The import benches' result: rows/s of fabra and of the raw load (medians of the rounds), their ratio. */
export function importResult({ name, description, rows, fabraMs, rawMs }) {
  const fabraRate = (rows * 1000) / median(fabraMs);
  const rawRate = (rows * 1000) / median(rawMs);
  const ratio = fabraRate / rawRate;
  return {
    name,
    description,
    metrics: {
      rows,
      fabraRowsPerSecond: Math.round(fabraRate),
      rawRowsPerSecond: Math.round(rawRate),
      fabraMedianMs: Math.round(median(fabraMs)),
      rawMedianMs: Math.round(median(rawMs)),
      fabraMs: fabraMs.map(Math.round).join(" "),
      rawMs: rawMs.map(Math.round).join(" "),
      rounds: fabraMs.length,
    },
    ratio: Math.round(ratio * 1000) / 1000,
    target: ">= 0.5",
    pass: ratio >= 0.5,
  };
}
