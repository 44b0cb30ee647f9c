// What the viewer's pages show, computed from the engine's own answers (the Ledger's verification, the transparency
// log's proof, record/diff.ts, messages.ts): the views render these and decide nothing. Record content is
// untrusted: it only ever reaches a page as text (hono/jsx escapes it), and a link only when it is http(s).
import { canonicalJson } from "../record/canonical.js";
import type { JsonValue } from "../record/json.js";
import type { ContextRecord, DropReason } from "../record/types.js";
import type { VerifyResult } from "../record/verify.js";
import { messagesOfContent } from "../engine/context/messages.js";
import { checkInclusionProof, loadSigner } from "../engine/ledger/log.js";
import type { OutcomeEntry } from "../engine/ledger/outcome.js";
import { rowToRecord } from "../engine/ledger/rows.js";
import type { FabraRuntime } from "../engine/runtime.js";
import type { LedgerRow } from "../stores/types.js";
import { parseVerifierKey, verifierKeyOf } from "../tlog/note.js";

/** One row of the list page: the ledger columns and the record's budget and freshness (display only). */
export interface ListItem {
  contextId: string;
  createdAt: string;
  contextFunction: string;
  tokensUsed: number | null;
  maxTokens: number | null;
  dropped: number | null;
  freshness: string | null;
  replayOf: string | null;
  imported: boolean;
}

export function listItem(row: LedgerRow): ListItem {
  let assembly: { tokens_used?: unknown; max_tokens?: unknown; dropped_items?: unknown; freshness_status?: unknown } =
    {};
  try {
    const parsed = JSON.parse(row.canonicalText) as { assembly?: typeof assembly } | null;
    assembly = parsed?.assembly ?? {};
  } catch {
    // a damaged row: its columns still show; the record page says what is wrong
  }
  const num = (v: unknown) => (typeof v === "number" ? v : null);
  return {
    contextId: row.contextId,
    createdAt: row.createdAt,
    contextFunction: row.contextFunction,
    tokensUsed: num(assembly.tokens_used) ?? row.tokenCount,
    maxTokens: num(assembly.max_tokens),
    dropped: Array.isArray(assembly.dropped_items) ? assembly.dropped_items.length : null,
    freshness: typeof assembly.freshness_status === "string" ? assembly.freshness_status : null,
    replayOf: row.previousContextId,
    imported: row.imported === true,
  };
}

/** Inclusion of the record under a freshly signed checkpoint of the transparency log. */
export type Inclusion =
  | { state: "ok"; leafIndex: number; treeSize: number }
  | { state: "failed"; reason: string }
  | { state: "unavailable"; reason: string };

export interface BudgetView {
  used: number;
  max: number | null;
  dropped: { reason: DropReason; tokens: number; items: number }[];
  /** The scale of the bar: max, or used + dropped when there is no max. */
  scale: number;
}

export interface ContentPart {
  /** The included chunk this text is (null: text between chunks, features, instructions). */
  chunkId: string | null;
  text: string;
}

export interface RecordPage {
  row: LedgerRow;
  verification: VerifyResult;
  inclusion: Inclusion;
  /** null when the stored text is not a readable record (verification says why). */
  record: ContextRecord | null;
  unreadable: string | null;
  staleFeatures: Set<string>;
  budget: BudgetView | null;
  messages: { role: string; parts: ContentPart[] }[];
  outcomes: OutcomeEntry[];
  outcomesError: string | null;
  replays: string[];
}

export async function recordPage(runtime: FabraRuntime, id: string): Promise<RecordPage> {
  const { row, verification } = await runtime.ledger.verify(id);
  let record: ContextRecord | null = null;
  let unreadable: string | null = null;
  try {
    record = rowToRecord(row);
  } catch (err) {
    unreadable = err instanceof Error ? err.message : String(err);
  }
  let outcomes: OutcomeEntry[] = [];
  let outcomesError: string | null = null;
  try {
    outcomes = await runtime.ledger.outcomes(row.contextId);
  } catch (err) {
    outcomesError = err instanceof Error ? err.message : String(err);
  }
  const replays = (await runtime.ledger.list({ replaysOf: row.contextId, limit: 20 })).map((r) => r.contextId);
  return {
    row,
    verification,
    inclusion: verification.ok
      ? await inclusionOf(runtime, row)
      : { state: "unavailable", reason: "the record itself does not verify" },
    record,
    unreadable,
    staleFeatures: new Set(record?.assembly.freshness_violations ?? []),
    budget: record ? budgetOf(record) : null,
    messages: record ? contentParts(record) : [],
    outcomes,
    outcomesError,
    replays,
  };
}

/** The record's inclusion proof under a fresh signed checkpoint, checked offline against its stored bytes. */
async function inclusionOf(runtime: FabraRuntime, row: LedgerRow): Promise<Inclusion> {
  const settings = runtime.settings.transparencyLog;
  if (!settings?.keyFile)
    return { state: "unavailable", reason: "no checkpoint signer key is configured (ledger.keyFile)" };
  try {
    const signer = loadSigner(settings);
    const proof = await runtime.ledger.transparencyLog(settings).prove(row.contextId, signer);
    const result = checkInclusionProof(
      proof,
      Buffer.from(row.canonicalText, "utf8"),
      row.contextId,
      parseVerifierKey(verifierKeyOf(signer)),
    );
    return result.ok
      ? { state: "ok", leafIndex: proof.leaf_index, treeSize: proof.tree_size }
      : { state: "failed", reason: result.reason ?? "the proof does not check" };
  } catch (err) {
    return { state: "failed", reason: err instanceof Error ? err.message : String(err) };
  }
}

export function budgetOf(record: ContextRecord): BudgetView {
  const used = Number(record.assembly.tokens_used);
  const max = record.assembly.max_tokens === null ? null : Number(record.assembly.max_tokens);
  const byReason = new Map<DropReason, { tokens: number; items: number }>();
  for (const d of record.assembly.dropped_items) {
    const entry = byReason.get(d.reason) ?? { tokens: 0, items: 0 };
    entry.tokens += Number(d.token_count);
    entry.items += 1;
    byReason.set(d.reason, entry);
  }
  const dropped = [...byReason].map(([reason, e]) => ({ reason, ...e }));
  const droppedTokens = dropped.reduce((n, d) => n + d.tokens, 0);
  return { used, max, dropped, scale: Math.max(1, max ?? used + droppedTokens, used) };
}

/** The content as its messages, each split into the included chunks' texts and the text around them. */
export function contentParts(record: ContextRecord): { role: string; parts: ContentPart[] }[] {
  const chunks = record.retrieved_items
    .filter((item): item is typeof item & { content: string } => item.content !== null && item.content !== "")
    .map((item) => ({ id: item.chunk_id, text: item.content }));
  return messagesOfContent(record.content).map((m) => ({ role: m.role, parts: split(m.content, chunks) }));
}

function split(text: string, chunks: { id: string; text: string }[]): ContentPart[] {
  const parts: ContentPart[] = [];
  let rest = text;
  for (;;) {
    let best: { at: number; id: string; text: string } | null = null;
    for (const c of chunks) {
      const at = rest.indexOf(c.text);
      if (at >= 0 && (best === null || at < best.at || (at === best.at && c.text.length > best.text.length)))
        best = { at, ...c };
    }
    if (!best) break;
    if (best.at > 0) parts.push({ chunkId: null, text: rest.slice(0, best.at) });
    parts.push({ chunkId: best.id, text: best.text });
    rest = rest.slice(best.at + best.text.length);
  }
  if (rest !== "" || parts.length === 0) parts.push({ chunkId: null, text: rest });
  return parts;
}

/** A value as one line of JSON text (shown as text, never as markup). */
export function valueText(v: JsonValue, max = 200): string {
  const text = canonicalJson(v);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A source link the page may follow: only http(s) URLs (`javascript:`, `data:` and the rest are shown as text). */
export function safeHref(url: string | null): string | null {
  if (url === null) return null;
  try {
    const parsed = new URL(url);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}

export function formatMs(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 120) return `${s.toFixed(1)} s`;
  const m = s / 60;
  if (m < 120) return `${m.toFixed(0)} min`;
  const h = m / 60;
  return h < 48 ? `${h.toFixed(0)} h` : `${(h / 24).toFixed(0)} d`;
}

/** One row of a side-by-side content diff: the old line (A) and the new one (B); null where a side has none. */
export interface SideRow {
  kind: "same" | "change" | "hunk";
  a: string | null;
  b: string | null;
}

/** record/diff.ts's unified content diff as side-by-side rows: removals paired with the additions after them. */
export function sideBySide(unified: readonly string[]): SideRow[] {
  const rows: SideRow[] = [];
  let minus: string[] = [];
  let plus: string[] = [];
  const flush = () => {
    for (let i = 0; i < Math.max(minus.length, plus.length); i++)
      rows.push({ kind: "change", a: minus[i] ?? null, b: plus[i] ?? null });
    minus = [];
    plus = [];
  };
  for (const line of unified) {
    if (line.startsWith("--- ") || line.startsWith("+++ ")) continue;
    if (line.startsWith("@@")) {
      flush();
      rows.push({ kind: "hunk", a: line, b: line });
    } else if (line.startsWith("-")) minus.push(line.slice(1));
    else if (line.startsWith("+")) plus.push(line.slice(1));
    else if (line.startsWith("\\")) continue;
    else {
      flush();
      rows.push({ kind: "same", a: line.slice(1), b: line.slice(1) });
    }
  }
  flush();
  return rows;
}
