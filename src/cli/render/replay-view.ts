// The text view of a replay (`fabra context replay`): what was re-run, whether it reproduced the original, the diff.
import chalk from "chalk";
import type { ReplayJson } from "../../api/shapes.js";
import { renderDiff } from "./diff-view.js";
import { bad, dim, ok } from "./format.js";

export function renderReplay(r: ReplayJson): string {
  const out: string[] = [];
  const mode =
    r.mode === "live"
      ? "live data (today's features and a fresh retrieval)"
      : `recorded data (features and chunks as of ${r.diff.a.created_at})`;
  out.push(
    `${chalk.bold("Replayed")} ${chalk.cyan(r.original_id)} ${chalk.bold("as")} ${chalk.cyan(r.context_id)} with ${mode}`,
  );
  if (r.same_content === true) out.push(ok("content reproduced exactly"));
  else if (r.same_content === false && r.only_order_differs === true)
    out.push(
      chalk.yellow(
        "! content differs only in the order of its parts: most likely the key order of an object-valued feature (records keep values key-sorted, CRS-001), not the function",
      ),
    );
  else if (r.same_content === false)
    out.push(
      bad(
        r.mode === "live"
          ? "content differs with today's data"
          : "content differs from the original: the function or its code changed",
      ),
    );
  else out.push(dim("the original keeps no content (FABRA_RECORD_INCLUDE_CONTENT=0); compare by the diff below"));
  if (r.persisted === false)
    out.push(chalk.yellow("! the replay's record was NOT persisted (best_effort evidence mode)"));
  else if (r.persisted === "unknown")
    out.push(chalk.yellow("! the replay's record may not have been persisted: the ledger could not be read back"));
  out.push("", renderDiff(r.diff));
  return out.join("\n");
}
