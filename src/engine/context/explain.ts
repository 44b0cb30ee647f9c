// Counterfactual budgets (`fabra context explain <id> --max-tokens N`): the record's context function is run again
// with the record's own inputs, features and chunks — nothing else is read, nothing is written — and the token
// budget is applied at another size, to show what would have been kept or dropped. The record's own budget is
// applied to the same items too: when that does not reproduce the record, the code changed and the answer says so.
import type { BudgetStrategy } from "../../define/context.js";
import { toPlain } from "../../record/json.js";
import type { ContextRecord } from "../../record/types.js";
import type { FabraRuntime } from "../runtime.js";
import { applyBudget, type BudgetItem, type BudgetResult } from "./budget.js";
import { checkItems, runContextFunction, toBudgetItems } from "./assemble.js";
import { recordedContextDef, recordedSource } from "./replay.js";
import { preparedContext } from "./prepared.js";
import { joinedCount } from "./token-join.js";
import { countCachedIn } from "./tokens.js";
import { Trace } from "./tracking.js";
import { parseMaxTokens } from "../../util/max-tokens.js";

export interface ExplainOptions {
  /** The budget to try; null = unlimited. */
  maxTokens: number | null;
  /** Default: the context's own `budgetStrategy` (else `drop`). */
  strategy?: BudgetStrategy;
}

export type ItemFate = "kept" | "dropped";

export interface ExplainedItem {
  key: string;
  priority: number;
  required: boolean;
  tokens: number;
  /** What the record's own budget did with it, and what the tried budget does. */
  recorded: ItemFate;
  explained: ItemFate;
}

/** Tokens provided (all items on their own), used (the joined content) and dropped (per reason). */
export interface TokenLedger {
  maxTokens: number | null;
  provided: number;
  used: number;
  dropped: Record<string, { items: number; tokens: number }>;
  budgetExceeded: boolean;
}

export interface Explanation {
  contextId: string;
  contextFunction: string;
  strategy: BudgetStrategy;
  recorded: TokenLedger;
  explained: TokenLedger;
  /** In the order the function returned them. */
  items: ExplainedItem[];
  /** The content at the tried budget (joined items; messages are serialized as assembly does only in records). */
  content: string;
  /** The record's own budget over today's re-run reproduces the record's token count and drops. */
  reproduces: boolean;
}

export async function explainContext(fabra: FabraRuntime, id: string, options: ExplainOptions): Promise<Explanation> {
  parseMaxTokens(options.maxTokens, "maxTokens", "json");
  const { record } = await fabra.ledger.intact(id, "it will not be explained");
  const name = record.context_function;
  const def = recordedContextDef(fabra, record, "Explaining re-runs");
  const trace = new Trace(await recordedSource(fabra, record, { recordedOnly: true }));
  const inputs = toPlain(record.inputs) as Record<string, unknown>;
  const items = checkItems(await runContextFunction(def, name, inputs, trace), name);
  const { separator, encoding, composable, budgetStrategy } = preparedContext(def, name);
  const strategy = options.strategy ?? budgetStrategy;
  const budgetItems = toBudgetItems(items, encoding);
  const count = (text: string) => countCachedIn(text, encoding);
  const joined = composable ? (included: BudgetItem[]) => joinedCount(included, separator, encoding) : undefined;
  const budgetAt = (maxTokens: number | null, how: BudgetStrategy) =>
    applyBudget(budgetItems, maxTokens, count, separator, joined, how);
  const recorded = budgetAt(
    record.assembly.max_tokens === null ? null : Number(record.assembly.max_tokens),
    budgetStrategy,
  );
  const explained = budgetAt(options.maxTokens, strategy);
  const fate = (budget: BudgetResult) => {
    const gone = new Set(budget.dropped.map((d) => d.item));
    return (item: BudgetItem): ItemFate => (gone.has(item) ? "dropped" : "kept");
  };
  const recordedFate = fate(recorded);
  const explainedFate = fate(explained);
  return {
    contextId: record.context_id,
    contextFunction: name,
    strategy,
    recorded: tokenLedger(
      budgetItems,
      recorded,
      record.assembly.max_tokens === null ? null : Number(record.assembly.max_tokens),
    ),
    explained: tokenLedger(budgetItems, explained, options.maxTokens),
    items: budgetItems.map((item) => ({
      key: item.key,
      priority: item.priority,
      required: item.required,
      tokens: item.tokens,
      recorded: recordedFate(item),
      explained: explainedFate(item),
    })),
    content: explained.content,
    reproduces: reproduces(record, recorded),
  };
}

function tokenLedger(items: BudgetItem[], budget: BudgetResult, maxTokens: number | null): TokenLedger {
  const dropped: TokenLedger["dropped"] = {};
  for (const { item, reason } of budget.dropped) {
    const entry = dropped[reason] ?? { items: 0, tokens: 0 };
    entry.items++;
    entry.tokens += item.tokens;
    dropped[reason] = entry;
  }
  return {
    maxTokens,
    provided: items.reduce((sum, i) => sum + i.tokens, 0),
    used: budget.tokensUsed,
    dropped,
    budgetExceeded: budget.budgetExceeded,
  };
}

function reproduces(record: ContextRecord, budget: BudgetResult): boolean {
  const recordedDrops = record.assembly.dropped_items.map((d) => d.source_id);
  const drops = budget.dropped.map((d) => d.item.key);
  return (
    Number(record.token_count) === budget.tokensUsed &&
    recordedDrops.length === drops.length &&
    recordedDrops.every((key, i) => key === drops[i])
  );
}
