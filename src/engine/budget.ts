// Token budget: fit prioritized items into `maxTokens`.
//
// Rules (the seed's "Token Budget Management", and the original's tie rule):
// - lower `priority` = more important; content is the included items joined in priority order
//   (equal priorities keep the order the context function returned them in);
// - while over budget, drop the optional item with the highest priority value; among equal priorities the
//   later item goes first; required items are never dropped;
// - if the required items alone are over budget, everything optional is dropped and `budgetExceeded` is set.
// The budget is checked against the token count of the joined content itself, not a sum of estimates.

export interface BudgetItem {
  /** Names the item in `dropped_items`. */
  key: string;
  content: string;
  priority: number;
  required: boolean;
  /** Tokens of the item on its own (what `dropped_items[].token_count` records). */
  tokens: number;
  /** Position in the list the context function returned. */
  index: number;
}

export interface BudgetResult {
  /** In content order. */
  included: BudgetItem[];
  /** In the order they were dropped. */
  dropped: { item: BudgetItem; reason: "budget_exceeded" }[];
  content: string;
  tokensUsed: number;
  budgetExceeded: boolean;
}

const byContentOrder = (a: BudgetItem, b: BudgetItem) => a.priority - b.priority || a.index - b.index;
/** The next item to drop first: highest priority value, then latest. */
const byDropOrder = (a: BudgetItem, b: BudgetItem) => b.priority - a.priority || b.index - a.index;

export function applyBudget(
  items: BudgetItem[],
  maxTokens: number | null,
  countTokens: (text: string) => number,
  separator: string,
): BudgetResult {
  const ordered = [...items].sort(byContentOrder);
  const join = (list: BudgetItem[]) => list.map((i) => i.content).join(separator);
  if (maxTokens === null) {
    const content = join(ordered);
    return { included: ordered, dropped: [], content, tokensUsed: countTokens(content), budgetExceeded: false };
  }

  // The fewest drops (taken in drop order) that fit, found by binary search over the number of drops with an
  // exact count of the joined text at each step: O(log n) tokenizations instead of one per drop.
  const dropQueue = ordered.filter((i) => !i.required).sort(byDropOrder);
  const attempt = (drops: number) => {
    const gone = new Set(dropQueue.slice(0, drops));
    const included = ordered.filter((i) => !gone.has(i));
    const content = join(included);
    return { drops, included, content, tokensUsed: countTokens(content) };
  };
  let best = attempt(0);
  if (best.tokensUsed > maxTokens && dropQueue.length > 0) {
    const all = attempt(dropQueue.length);
    best = all;
    if (all.tokensUsed <= maxTokens) {
      let lo = 1; // attempt(lo - 1) is over budget
      let hi = dropQueue.length; // attempt(hi) fits
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        const tried = attempt(mid);
        if (tried.tokensUsed <= maxTokens) {
          hi = mid;
          best = tried;
        } else lo = mid + 1;
      }
      if (best.drops !== hi) best = attempt(hi);
    }
  }
  return {
    included: best.included,
    dropped: dropQueue.slice(0, best.drops).map((item) => ({ item, reason: "budget_exceeded" as const })),
    content: best.content,
    tokensUsed: best.tokensUsed,
    budgetExceeded: best.tokensUsed > maxTokens,
  };
}
