// The budget's search for the fewest drops (bisection with estimate-chosen probes) against the rule read
// literally: drop the next item in drop order, one at a time, while the joined content is over budget.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyBudget, type BudgetItem } from "../../src/engine/context/budget.js";
import { joinedCount } from "../../src/engine/context/token-join.js";
import { countTokens } from "../../src/engine/context/tokens.js";

function literalRule(items: BudgetItem[], maxTokens: number, separator: string) {
  const ordered = [...items].sort((a, b) => a.priority - b.priority || a.index - b.index);
  const queue = ordered.filter((i) => !i.required).sort((a, b) => b.priority - a.priority || b.index - a.index);
  let drops = 0;
  const contentAfter = (d: number) => {
    const gone = new Set(queue.slice(0, d));
    return ordered
      .filter((i) => !gone.has(i))
      .map((i) => i.content)
      .join(separator);
  };
  while (countTokens(contentAfter(drops)) > maxTokens && drops < queue.length) drops++;
  return { content: contentAfter(drops), dropped: queue.slice(0, drops).map((i) => i.key) };
}

const words = [
  "the",
  "invoice",
  "password",
  " reset",
  "\n",
  "Grüße",
  "👋🏽",
  "api",
  "limit",
  "600",
  "requests.",
  "  ",
  "—",
  "東京",
];

describe("token budget search", () => {
  it("drops exactly what the one-at-a-time rule drops", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            text: fc.array(fc.constantFrom(...words), { maxLength: 60 }),
            priority: fc.integer({ min: 0, max: 4 }),
            required: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
          }),
          { maxLength: 22 },
        ),
        fc.constantFrom("\n", "\n\n", " ", ""),
        fc.double({ min: 0, max: 1.1, noNaN: true }),
        (specs, separator, fraction) => {
          const items: BudgetItem[] = specs.map((s, index) => {
            const content = s.text.join(" ");
            return {
              key: `item_${index}`,
              content,
              priority: s.priority,
              required: s.required,
              tokens: countTokens(content),
              index,
            };
          });
          const maxTokens = Math.floor(fraction * countTokens(items.map((i) => i.content).join(separator)));
          const result = applyBudget(items, maxTokens, (text) => countTokens(text), separator);
          const expected = literalRule(items, maxTokens, separator);
          expect(result.content).toBe(expected.content);
          expect(result.dropped.map((d) => d.item.key)).toEqual(expected.dropped);
          expect(result.tokensUsed).toBe(countTokens(expected.content));
          expect(result.budgetExceeded).toBe(result.tokensUsed > maxTokens);
          // The same with the joined counts composed from the items' counts, as assembly runs it.
          const composed = applyBudget(
            items.map((i) => ({ ...i })),
            maxTokens,
            (text) => countTokens(text),
            separator,
            (included) => joinedCount(included, separator, "cl100k_base"),
          );
          expect(composed.content).toBe(expected.content);
          expect(composed.dropped.map((d) => d.item.key)).toEqual(expected.dropped);
          expect(composed.tokensUsed).toBe(result.tokensUsed);
        },
      ),
      { numRuns: 400 },
    );
  });
});
