// The text view of an assembled context (`fabra context run`, `fabra demo`).
import chalk from "chalk";
import type { ContextResult } from "../../define/types.js";
import { dim, heading, table } from "./format.js";

export function renderAssembly(result: ContextResult): string {
  const r = result.record;
  const out: string[] = [];
  out.push(`${chalk.bold("context_id")} ${chalk.cyan(result.id)}`);
  const budget = r.assembly.max_tokens === null ? "" : ` / ${r.assembly.max_tokens}`;
  out.push(
    `${r.context_function}: ${result.tokenCount}${budget} tokens, ${r.assembly.items_included}/${r.assembly.items_provided} items, ` +
      `${r.features.length} features, ${r.retrieved_items.length} chunks, freshness ${r.assembly.freshness_status}, ${result.meta.latencyMs.toFixed(1)}ms`,
  );
  if (result.meta.budgetExceeded) out.push(chalk.yellow("! required items alone exceed the token budget"));
  if (result.meta.persisted === false)
    out.push(chalk.yellow("! the record was NOT persisted (best_effort evidence mode)"));
  else if (result.meta.persisted === "unknown")
    out.push(chalk.yellow("! the record may not have been persisted: the ledger could not be read back (best_effort)"));
  if (result.dropped.length > 0) {
    out.push("", heading(`Dropped (${result.dropped.length})`));
    out.push(
      table(
        ["item", "priority", "tokens", "reason"],
        result.dropped.map((d) => [d.source_id, String(d.priority), String(d.token_count), d.reason]),
      ),
    );
  }
  out.push("", heading("Content"), result.content === "" ? dim("(empty)") : result.content);
  out.push("", dim(`record ${result.meta.recordHash}  ·  fabra context show ${result.id}`));
  return out.join("\n");
}
