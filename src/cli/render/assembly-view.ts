// The text view of an assembled context (`fabra context run`, `fabra demo`).
import chalk from "chalk";
import type { ContextResult } from "../../define/types.js";
import { dim, heading, table } from "./format.js";
import { plural } from "../../util/plural.js";

/** What an assembly printed: its summary, drops and content (`content: false` leaves the content out). */
export function renderAssembly(result: ContextResult, options: { content?: boolean } = {}): string {
  const r = result.record;
  const out: string[] = [];
  out.push(`${chalk.bold("context_id")} ${chalk.cyan(result.id)}`);
  const budget = r.assembly.max_tokens === null ? "" : ` / ${r.assembly.max_tokens}`;
  out.push(
    `${r.context_function}: ${result.tokenCount}${budget} tokens, ${r.assembly.items_included}/${plural(r.assembly.items_provided, "item")}, ` +
      `${plural(r.features.length, "feature")}, ${plural(r.retrieved_items.length, "chunk")}, freshness ${r.assembly.freshness_status}, ${result.meta.latencyMs.toFixed(1)}ms`,
  );
  if (result.meta.budgetExceeded) out.push(chalk.yellow("! required items alone exceed the token budget"));
  const SERVED = { default: "its default", history: "its last value from history", computed: "a computed value" };
  for (const f of result.meta.featureFallbacks) {
    out.push(chalk.yellow(`! ${f.feature}(${f.entityId}) fell back to ${SERVED[f.served]}: ${f.reason}`));
  }
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
  if (options.content !== false) {
    out.push("", heading("Content"), result.content === "" ? dim("(empty)") : result.content);
  }
  out.push("", dim(`record ${result.meta.recordHash}  ·  fabra context show ${result.id}`));
  return out.join("\n");
}
