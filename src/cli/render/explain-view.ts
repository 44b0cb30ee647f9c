// The text view of a counterfactual budget (`fabra context explain`): the token ledger at the recorded budget and
// at the tried one, and every item with what each budget did with it (changes marked).
import chalk from "chalk";
import type { ExplanationJson } from "../../api/explain.js";
import { bad, dim, escapeControls, table } from "./format.js";

type Ledger = ExplanationJson["recorded"];

const budgetName = (t: Ledger) => (t.max_tokens === null ? "unlimited" : `max ${t.max_tokens}`);

function droppedText(t: Ledger): string {
  const parts = Object.entries(t.dropped).map(([reason, d]) => `${d.items} (${d.tokens} tokens, ${reason})`);
  return parts.length === 0 ? "0" : parts.join(", ");
}

export function renderExplanation(e: ExplanationJson): string {
  const out: string[] = [];
  const r = e.recorded;
  const x = e.explained;
  out.push(
    `${chalk.bold("Explained")} ${chalk.cyan(e.context_id)} (${escapeControls(e.context_function)}) at ${chalk.bold(budgetName(x))}, recorded at ${budgetName(r)}; strategy ${e.strategy}`,
    dim("re-run with the record's own inputs, features and chunks; nothing was read from the stores or written"),
  );
  if (!e.reproduces)
    out.push(
      bad(
        "today's function does not reproduce the record at its own budget (the items changed): the comparison is with today's items",
      ),
    );
  out.push(
    "",
    table(
      ["tokens", budgetName(r), budgetName(x)],
      [
        ["provided", String(r.provided), String(x.provided)],
        ["used", String(r.used), String(x.used)],
        ["dropped items", droppedText(r), droppedText(x)],
        ["required over budget", r.budget_exceeded ? "yes" : "no", x.budget_exceeded ? "yes" : "no"],
      ],
    ),
    "",
  );
  const fate = (f: "kept" | "dropped") => (f === "kept" ? chalk.green("kept") : chalk.red("dropped"));
  out.push(
    table(
      ["item", "priority", "tokens", budgetName(r), budgetName(x)],
      e.items.map((i) => [
        escapeControls(i.key) + (i.required ? dim(" (required)") : ""),
        String(i.priority),
        String(i.tokens),
        fate(i.recorded),
        fate(i.explained) + (i.recorded !== i.explained ? chalk.yellow(" ←") : ""),
      ]),
    ),
  );
  const changed = e.items.filter((i) => i.recorded !== i.explained).length;
  out.push("", changed === 0 ? dim("the same items either way") : `${changed} item(s) change fate (←)`);
  return out.join("\n");
}
