// Diff of two CRS-001 records: inputs, features, retrieved chunks, dropped items, content (unified line diff with
// a similarity figure, both computed by jsdiff), tokens and cost, with a one-line summary. Pure; every list in a
// stable order. Display only: nothing here feeds a hash.
// jsdiff's own modules, not its index: the index loads every differ and takes about 3× as long to import.
import { diffArrays } from "diff/lib/diff/array.js";
import { structuredPatch } from "diff/lib/patch/create.js";
import type { ArrayChange, StructuredPatchHunk } from "diff/lib/types.js";
import { canonicalJson, compareCodePoints } from "./canonical.js";
import type { JsonValue } from "./json.js";
import type {
  ContextRecord,
  DroppedItemRecord,
  FeatureRecord,
  FeatureSource,
  FreshnessStatus,
  RetrievedItemRecord,
} from "./types.js";

export interface RecordRef {
  context_id: string;
  context_function: string;
  created_at: string;
  environment: string;
  record_hash: string;
}

export interface InputEntry {
  name: string;
  value: JsonValue;
}

export interface InputChange {
  name: string;
  before: JsonValue;
  after: JsonValue;
}

export interface FeatureState {
  value: JsonValue;
  source: FeatureSource;
  as_of: string;
  freshness_ms: number;
}

export interface FeatureEntry extends FeatureState {
  name: string;
  entity_id: string;
}

export interface FeatureChange {
  name: string;
  entity_id: string;
  /** false: same value, only its source, as_of or freshness differ. */
  value_changed: boolean;
  before: FeatureState;
  after: FeatureState;
}

export interface ChunkEntry {
  retriever: string;
  chunk_id: string;
  document_id: string;
  similarity: number;
  token_count: number;
  priority: number;
}

export interface ChunkChange {
  retriever: string;
  chunk_id: string;
  similarity_before: number;
  similarity_after: number;
  similarity_delta: number;
  /** The chunk id is the same but its content_hash differs (the document was re-indexed). */
  content_changed: boolean;
  priority_before: number;
  priority_after: number;
}

export interface ContentDiff {
  identical: boolean;
  /** 2·matching tokens / all tokens (words and whitespace runs), 0..1, four decimals. */
  similarity: number;
  lines_added: number;
  lines_removed: number;
  /** A unified diff (`---`, `+++`, `@@` hunks); empty when the content is identical. */
  unified: string[];
  /** Sides whose record keeps no content (FABRA_RECORD_INCLUDE_CONTENT=0): only the hashes were compared. */
  not_stored: ("a" | "b")[];
}

export interface RecordDiff {
  summary: string;
  a: RecordRef;
  b: RecordRef;
  /** Same content, inputs, feature values, chunks and drops (ids, times and freshness may differ). */
  same_evidence: boolean;
  inputs: { added: InputEntry[]; removed: InputEntry[]; changed: InputChange[] };
  features: { added: FeatureEntry[]; removed: FeatureEntry[]; changed: FeatureChange[] };
  retrieved_items: { added: ChunkEntry[]; removed: ChunkEntry[]; changed: ChunkChange[] };
  dropped_items: { only_in_a: DroppedItemRecord[]; only_in_b: DroppedItemRecord[]; in_both: DroppedItemRecord[] };
  content: ContentDiff;
  tokens: { a: number; b: number; delta: number };
  estimated_cost_usd: { a: number; b: number; delta: number };
  freshness_status: { a: FreshnessStatus; b: FreshnessStatus };
}

export function diffRecords(a: ContextRecord, b: ContextRecord): RecordDiff {
  const inputs = diffInputs(a.inputs, b.inputs);
  const features = diffFeatures(a.features, b.features);
  const retrieved = diffChunks(a.retrieved_items, b.retrieved_items);
  const dropped = diffDropped(a.assembly.dropped_items, b.assembly.dropped_items);
  const content = diffContent(a, b);
  const costA = Number(a.lineage.estimated_cost_usd);
  const costB = Number(b.lineage.estimated_cost_usd);
  const diff: RecordDiff = {
    summary: "",
    a: ref(a),
    b: ref(b),
    same_evidence:
      content.identical &&
      a.context_function === b.context_function &&
      inputs.added.length + inputs.removed.length + inputs.changed.length === 0 &&
      features.added.length + features.removed.length === 0 &&
      features.changed.every((f) => !f.value_changed) &&
      retrieved.added.length + retrieved.removed.length === 0 &&
      retrieved.changed.every((c) => !c.content_changed) &&
      dropped.only_in_a.length + dropped.only_in_b.length === 0,
    inputs,
    features,
    retrieved_items: retrieved,
    dropped_items: dropped,
    content,
    tokens: {
      a: Number(a.token_count),
      b: Number(b.token_count),
      delta: Number(b.token_count) - Number(a.token_count),
    },
    estimated_cost_usd: { a: costA, b: costB, delta: round(costB - costA, 12) },
    freshness_status: { a: a.assembly.freshness_status, b: b.assembly.freshness_status },
  };
  diff.summary = summarize(diff);
  return diff;
}

function ref(r: ContextRecord): RecordRef {
  return {
    context_id: r.context_id,
    context_function: r.context_function,
    created_at: r.created_at,
    environment: r.environment,
    record_hash: r.integrity.record_hash,
  };
}

const same = (x: JsonValue, y: JsonValue) => canonicalJson(x) === canonicalJson(y);
const byKey =
  <T>(key: (t: T) => string) =>
  (x: T, y: T) =>
    compareCodePoints(key(x), key(y));

function diffInputs(a: Record<string, JsonValue>, b: Record<string, JsonValue>): RecordDiff["inputs"] {
  const names = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort(compareCodePoints);
  const out: RecordDiff["inputs"] = { added: [], removed: [], changed: [] };
  for (const name of names) {
    const inA = Object.hasOwn(a, name);
    const inB = Object.hasOwn(b, name);
    if (inA && !inB) out.removed.push({ name, value: a[name] as JsonValue });
    else if (!inA && inB) out.added.push({ name, value: b[name] as JsonValue });
    else if (!same(a[name] as JsonValue, b[name] as JsonValue))
      out.changed.push({ name, before: a[name] as JsonValue, after: b[name] as JsonValue });
  }
  return out;
}

function keyed<T>(items: readonly T[], key: (t: T) => string): Map<string, T> {
  const map = new Map<string, T>();
  for (const item of items) if (!map.has(key(item))) map.set(key(item), item);
  return map;
}

/** Pairs A's and B's items by key: only in B → added, only in A → removed, in both → `change` (null: same); sorted by key. */
function matchByKey<T, E, C>(
  a: readonly T[],
  b: readonly T[],
  key: (t: T) => string,
  entry: (t: T) => E,
  change: (x: T, y: T) => C | null,
) {
  const mapA = keyed(a, key);
  const mapB = keyed(b, key);
  const added: [string, E][] = [];
  const removed: [string, E][] = [];
  const changed: [string, C][] = [];
  for (const [k, x] of mapA) {
    const y = mapB.get(k);
    if (y === undefined) removed.push([k, entry(x)]);
    else {
      const c = change(x, y);
      if (c !== null) changed.push([k, c]);
    }
  }
  for (const [k, y] of mapB) if (!mapA.has(k)) added.push([k, entry(y)]);
  const sorted = <V>(list: [string, V][]) => list.sort((p, q) => compareCodePoints(p[0], q[0])).map(([, v]) => v);
  return { added: sorted(added), removed: sorted(removed), changed: sorted(changed) };
}

const featureKey = (f: FeatureRecord) => `${f.name}\u0000${f.entity_id}`;
const featureState = (f: FeatureRecord): FeatureState => ({
  value: f.value,
  source: f.source,
  as_of: f.as_of,
  freshness_ms: Number(f.freshness_ms),
});
const featureEntry = (f: FeatureRecord): FeatureEntry => ({ name: f.name, entity_id: f.entity_id, ...featureState(f) });

function diffFeatures(a: readonly FeatureRecord[], b: readonly FeatureRecord[]): RecordDiff["features"] {
  return matchByKey(a, b, featureKey, featureEntry, (fa, fb): FeatureChange | null => {
    const valueChanged = !same(fa.value, fb.value);
    if (!valueChanged && fa.source === fb.source && fa.as_of === fb.as_of && fa.freshness_ms === fb.freshness_ms)
      return null;
    return {
      name: fa.name,
      entity_id: fa.entity_id,
      value_changed: valueChanged,
      before: featureState(fa),
      after: featureState(fb),
    };
  });
}

const chunkKey = (c: RetrievedItemRecord) => `${c.retriever}\u0000${c.chunk_id}`;
const chunkEntry = (c: RetrievedItemRecord): ChunkEntry => ({
  retriever: c.retriever,
  chunk_id: c.chunk_id,
  document_id: c.document_id,
  similarity: Number(c.similarity_score),
  token_count: Number(c.token_count),
  priority: Number(c.priority),
});

function diffChunks(
  a: readonly RetrievedItemRecord[],
  b: readonly RetrievedItemRecord[],
): RecordDiff["retrieved_items"] {
  return matchByKey(a, b, chunkKey, chunkEntry, (ca, cb): ChunkChange | null => {
    const before = Number(ca.similarity_score);
    const after = Number(cb.similarity_score);
    const contentChanged = ca.content_hash !== cb.content_hash;
    if (before === after && !contentChanged && ca.priority === cb.priority) return null;
    return {
      retriever: ca.retriever,
      chunk_id: ca.chunk_id,
      similarity_before: before,
      similarity_after: after,
      similarity_delta: round(after - before, 12),
      content_changed: contentChanged,
      priority_before: Number(ca.priority),
      priority_after: Number(cb.priority),
    };
  });
}

function diffDropped(a: readonly DroppedItemRecord[], b: readonly DroppedItemRecord[]): RecordDiff["dropped_items"] {
  const idsA = new Set(a.map((d) => d.source_id));
  const idsB = new Set(b.map((d) => d.source_id));
  const order = byKey<DroppedItemRecord>((d) => d.source_id);
  return {
    only_in_a: a.filter((d) => !idsB.has(d.source_id)).sort(order),
    only_in_b: b.filter((d) => !idsA.has(d.source_id)).sort(order),
    in_both: b.filter((d) => idsA.has(d.source_id)).sort(order),
  };
}

function notStored(r: ContextRecord): boolean {
  return r.content === "" && r.token_count > 0;
}

function diffContent(a: ContextRecord, b: ContextRecord): ContentDiff {
  const not_stored = [...(notStored(a) ? (["a"] as const) : []), ...(notStored(b) ? (["b"] as const) : [])];
  if (a.content === b.content)
    return { identical: true, similarity: 1, lines_added: 0, lines_removed: 0, unified: [], not_stored };
  const hunks = lineHunks(splitLines(a.content), splitLines(b.content));
  const changedLines = hunks.flatMap((h) => h.lines);
  const similarity = round(similarityRatio(tokens(a.content), tokens(b.content)), 4);
  return {
    identical: false,
    similarity: Math.min(similarity, 0.9999), // different content is never shown as 100% similar
    lines_added: changedLines.filter((l) => l.startsWith("+")).length,
    lines_removed: changedLines.filter((l) => l.startsWith("-")).length,
    unified: [`--- a/${a.context_id}`, `+++ b/${b.context_id}`, ...hunks.flatMap(hunkLines)],
    not_stored,
  };
}

/** Past this many edits jsdiff stops and the changed middle is shown replaced wholesale (correct, not minimal). */
const MAX_LINE_EDITS = 4000;
const MAX_TOKEN_EDITS = 2000;

/** Unified-diff hunks (`@@ -a,n +b,m @@` then ` `/`-`/`+` lines) with `context` lines around each change. */
export function unifiedHunks(a: readonly string[], b: readonly string[], context = 3): string[] {
  return lineHunks(a, b, context).flatMap(hunkLines);
}

function lineHunks(a: readonly string[], b: readonly string[], context = 3): StructuredPatchHunk[] {
  // jsdiff diffs text; each line gets its "\n" back so none is reported as "No newline at end of file".
  const text = (lines: readonly string[]) => (lines.length === 0 ? "" : `${lines.join("\n")}\n`);
  const patch = structuredPatch("a", "b", text(a), text(b), undefined, undefined, {
    context,
    maxEditLength: MAX_LINE_EDITS,
  });
  return patch?.hunks ?? [replacedWholesale(a, b, context)];
}

/** GNU diff's header: a count of 1 is left out; an empty range starts at the line before it. */
function hunkLines(h: StructuredPatchHunk): string[] {
  const range = (start: number, count: number) =>
    count === 1 ? String(start) : `${count === 0 ? start - 1 : start},${count}`;
  return [`@@ -${range(h.oldStart, h.oldLines)} +${range(h.newStart, h.newLines)} @@`, ...h.lines];
}

/** The common prefix `[0, start)` and the suffixes from `endA`/`endB` on. */
function commonEnds(a: readonly string[], b: readonly string[]): { start: number; endA: number; endB: number } {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  return { start, endA, endB };
}

function replacedWholesale(a: readonly string[], b: readonly string[], context: number): StructuredPatchHunk {
  const { start, endA, endB } = commonEnds(a, b);
  const from = Math.max(0, start - context);
  const after = Math.min(context, a.length - endA);
  const lines = [
    ...a.slice(from, start).map((l) => ` ${l}`),
    ...a.slice(start, endA).map((l) => `-${l}`),
    ...b.slice(start, endB).map((l) => `+${l}`),
    ...a.slice(endA, endA + after).map((l) => ` ${l}`),
  ];
  return {
    oldStart: from + 1,
    oldLines: endA + after - from,
    newStart: from + 1,
    newLines: endB + after - from,
    lines,
  };
}

/**
 * jsdiff's shortest edit script turning `a` into `b`; past `maxEdits` edits, the common prefix and suffix kept
 * and the middle replaced wholesale (correct, not minimal).
 */
export function editScript(
  a: readonly string[],
  b: readonly string[],
  maxEdits = MAX_TOKEN_EDITS,
): ArrayChange<string>[] {
  const changes = diffArrays([...a], [...b], { maxEditLength: maxEdits });
  if (changes) return changes;
  const { start, endA, endB } = commonEnds(a, b);
  const part = (value: string[], kind: "equal" | "added" | "removed"): ArrayChange<string>[] =>
    value.length === 0 ? [] : [{ value, count: value.length, added: kind === "added", removed: kind === "removed" }];
  return [
    ...part(a.slice(0, start), "equal"),
    ...part(a.slice(start, endA), "removed"),
    ...part(b.slice(start, endB), "added"),
    ...part(a.slice(endA), "equal"),
  ];
}

/** difflib's ratio: 2·matches / (len(a) + len(b)); 1 when both are empty. */
export function similarityRatio(a: readonly string[], b: readonly string[], maxEdits = MAX_TOKEN_EDITS): number {
  if (a.length + b.length === 0) return 1;
  const matches = editScript(a, b, maxEdits).reduce((n, c) => (c.added || c.removed ? n : n + c.count), 0);
  return (2 * matches) / (a.length + b.length);
}

function splitLines(text: string): string[] {
  return text === "" ? [] : text.split("\n");
}

/** Words and the whitespace between them, so a changed line break counts too. */
function tokens(text: string): string[] {
  return text.split(/(\s+)/).filter((t) => t !== "");
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  const r = Math.round(n * f) / f;
  return Object.is(r, -0) ? 0 : r;
}

function plural(n: number, word: string): string {
  return `${n} ${word}`;
}

function summarize(d: RecordDiff): string {
  const parts: string[] = [];
  if (d.a.context_function !== d.b.context_function)
    parts.push(`function ${d.a.context_function} → ${d.b.context_function}`);
  const c = d.content;
  parts.push(
    c.identical
      ? "content identical"
      : `content ${(c.similarity * 100).toFixed(1)}% similar (+${c.lines_added} -${c.lines_removed} lines)`,
  );

  const list = (label: string, counts: [number, string][]) => {
    const said = counts.filter(([n]) => n > 0).map(([n, w]) => plural(n, w));
    if (said.length > 0) parts.push(`${label}: ${said.join(", ")}`);
  };
  list("inputs", [
    [d.inputs.changed.length, "changed"],
    [d.inputs.added.length, "added"],
    [d.inputs.removed.length, "removed"],
  ]);
  const valueChanged = d.features.changed.filter((f) => f.value_changed).length;
  list("features", [
    [valueChanged, "value changed"],
    [d.features.added.length, "added"],
    [d.features.removed.length, "removed"],
    [d.features.changed.length - valueChanged, "refreshed"],
  ]);
  const similarityChanged = d.retrieved_items.changed.filter((x) => x.similarity_delta !== 0).length;
  const contentChanged = d.retrieved_items.changed.filter((x) => x.content_changed).length;
  list("chunks", [
    [d.retrieved_items.added.length, "added"],
    [d.retrieved_items.removed.length, "removed"],
    [contentChanged, "content changed"],
    [similarityChanged, "similarity changed"],
  ]);
  list("dropped", [
    [d.dropped_items.only_in_a.length, "only in A"],
    [d.dropped_items.only_in_b.length, "only in B"],
  ]);
  const t = d.tokens;
  parts.push(t.delta === 0 ? `tokens ${t.a}` : `tokens ${t.a} → ${t.b} (${t.delta > 0 ? "+" : ""}${t.delta})`);
  const cost = d.estimated_cost_usd.delta;
  if (cost !== 0) parts.push(`cost ${cost > 0 ? "+" : "-"}$${Math.abs(cost).toFixed(6)}`);
  if (d.same_evidence) parts.unshift("same evidence");
  return parts.join("; ");
}
