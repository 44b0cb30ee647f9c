// Token budget: fit prioritized items into `maxTokens`.
//
// Rules (the seed's "Token Budget Management", and the original's tie rule):
// - lower `priority` = more important; content is the included items joined in priority order
//   (equal priorities keep the order the context function returned them in);
// - while over budget, drop the optional item with the highest priority value; among equal priorities the
//   later item goes first; required items are never dropped;
// - if the required items alone are over budget, everything optional is dropped and `budgetExceeded` is set;
// - strategy `backfill` (opt-in): once the drops fit, the dropped items are tried again, most important first
//   (the reverse of the drop order), and each one whose addition still fits is put back; what stays dropped is
//   recorded like any drop.
// The budget is checked against the exact token count of the joined content: `countJoined` gives it from the
// items' own counts where that is provably exact (token-join.ts), else the joined text is counted.

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

interface Attempt {
  drops: number;
  included: BudgetItem[];
  tokensUsed: number;
}

/** The fewest drops (at least 1) whose items' own counts plus separators fit; dropQueue.length if none do. */
function estimatedDrops(
  ordered: BudgetItem[],
  dropQueue: BudgetItem[],
  maxTokens: number,
  separatorTokens: number,
): number {
  let tokens = 0;
  for (const item of ordered) tokens += item.tokens;
  let count = ordered.length;
  for (let drops = 1; drops <= dropQueue.length; drops++) {
    tokens -= (dropQueue[drops - 1] as BudgetItem).tokens;
    count--;
    if (tokens + Math.max(0, count - 1) * separatorTokens <= maxTokens) return drops;
  }
  return dropQueue.length;
}

/**
 * `countTokens` counts a text exactly; `countJoined`, when given, is the exact count of the included items' contents
 * joined by `separator` (in content order), or null where it cannot tell (then the joined text is counted).
 */
export function applyBudget(
  items: BudgetItem[],
  maxTokens: number | null,
  countTokens: (text: string) => number,
  separator: string,
  countJoined?: (included: BudgetItem[]) => number | null,
  strategy: "drop" | "backfill" = "drop",
): BudgetResult {
  const ordered = [...items].sort(byContentOrder);
  const join = (list: BudgetItem[]) => list.map((i) => i.content).join(separator);
  const measure = (list: BudgetItem[]) => countJoined?.(list) ?? countTokens(join(list));
  if (maxTokens === null) {
    return {
      included: ordered,
      dropped: [],
      content: join(ordered),
      tokensUsed: measure(ordered),
      budgetExceeded: false,
    };
  }

  // The fewest drops (taken in drop order) that fit, found by bisection over the number of drops with an exact
  // count of the joined text at each step. The items' own token counts only choose where to probe first (the
  // estimated answer and the count just below it), so a good estimate settles it in two counts instead of log2(n);
  // the answer is still decided by exact counts alone.
  const dropQueue = ordered.filter((i) => !i.required).sort(byDropOrder);
  const tried = new Map<number, Attempt>();
  const attempt = (drops: number): Attempt => {
    let found = tried.get(drops);
    if (!found) {
      const gone = new Set(dropQueue.slice(0, drops));
      const included = ordered.filter((i) => !gone.has(i));
      found = { drops, included, tokensUsed: measure(included) };
      tried.set(drops, found);
    }
    return found;
  };
  let best = attempt(0);
  if (best.tokensUsed > maxTokens && dropQueue.length > 0) {
    const all = attempt(dropQueue.length);
    best = all;
    if (all.tokensUsed <= maxTokens) {
      const guess = estimatedDrops(ordered, dropQueue, maxTokens, countTokens(separator));
      const pivots = [guess - 1, guess];
      let lo = 1; // attempt(lo - 1) is over budget
      let hi = dropQueue.length; // attempt(hi) fits
      while (lo < hi) {
        let mid = (lo + hi) >>> 1;
        for (let p = pivots.shift(); p !== undefined; p = pivots.shift()) {
          if (p >= lo && p < hi) {
            mid = p;
            break;
          }
        }
        if (attempt(mid).tokensUsed <= maxTokens) hi = mid;
        else lo = mid + 1;
      }
      best = attempt(hi);
    }
  }
  let dropped = dropQueue.slice(0, best.drops);
  if (strategy === "backfill" && best.drops > 0 && best.tokensUsed <= maxTokens) {
    const kept = new Set(best.included);
    for (const candidate of [...dropped].reverse()) {
      const trial = ordered.filter((i) => kept.has(i) || i === candidate);
      const tokensUsed = measure(trial);
      if (tokensUsed > maxTokens) continue;
      kept.add(candidate);
      best = { drops: best.drops - 1, included: trial, tokensUsed };
    }
    dropped = dropped.filter((i) => !kept.has(i));
  }
  return {
    included: best.included,
    dropped: dropped.map((item) => ({ item, reason: "budget_exceeded" as const })),
    content: join(best.included),
    tokensUsed: best.tokensUsed,
    budgetExceeded: best.tokensUsed > maxTokens,
  };
}
