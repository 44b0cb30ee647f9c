// The progress view of `fabra materialize`: live per-feature progress, rate and errors on a terminal (ink, in
// materialize-live.tsx, imported only when a live view is shown); plain lines otherwise (pipes, CI logs); then a
// summary naming every failure.
import chalk from "chalk";
import type { FeatureRunResult } from "../../engine/features/materialize.js";
import { formatMs } from "./format.js";
import { compact, type MaterializeView, rate, statusIcon } from "./materialize-parts.js";

export type { MaterializeView };

/**
 * The live view on a terminal. ink and react load in the background; progress arriving before they have loaded is
 * kept and drawn once they are, and a run that ends before that prints its final lines plainly instead.
 */
export function inkView(names: string[]): MaterializeView {
  const latest = new Map<string, FeatureRunResult>();
  let live: MaterializeView | null = null;
  let finished = false;
  void import("./materialize-live.js").then(
    ({ liveView }) => {
      if (finished) return;
      live = liveView(names);
      for (const r of latest.values()) live.update(r);
    },
    () => undefined, // no live view then; finish() still prints the outcome of every feature
  );
  return {
    update(progress) {
      latest.set(progress.feature, progress);
      live?.update(progress);
    },
    finish() {
      finished = true;
      if (live) return live.finish();
      const plain = plainView((line) => process.stdout.write(`${line}\n`));
      for (const name of names) {
        const r = latest.get(name);
        if (r) plain.update(r);
      }
    },
  };
}

/** Plain lines: when a run starts, every 5 s while it runs, and when it ends. */
export function plainView(write: (line: string) => void): MaterializeView {
  const started = new Set<string>();
  const lastLine = new Map<string, number>();
  return {
    update(r) {
      if (r.status === "locked") return write(`${statusIcon(r)} ${r.feature}: ${r.error ?? "locked"}`);
      if (!started.has(r.feature)) {
        started.add(r.feature);
        lastLine.set(r.feature, Date.now());
        const how = r.resumed ? `resuming ${r.runId}` : `run ${r.runId}`;
        write(`▶ ${r.feature}: ${how}${r.total !== null ? `, ${r.total} entities` : ""}`);
      }
      if (r.status === "running") {
        if (Date.now() - (lastLine.get(r.feature) ?? 0) < 5000) return;
        lastLine.set(r.feature, Date.now());
        const done = r.alreadyWritten + r.computed + r.failed;
        return write(
          `  ${r.feature}: ${done}/${r.total ?? "?"} (${r.written} written, ${r.failed} failed, ${compact(rate(r))}/s)`,
        );
      }
      write(`${statusIcon(r)} ${r.feature}: ${outcome(r)}`);
    },
    finish() {},
  };
}

/** One line on how a feature's run ended. */
export function outcome(r: FeatureRunResult): string {
  const counts = `${r.written} written${r.failed > 0 ? `, ${r.failed} failed` : ""}${r.alreadyWritten > 0 ? ` (+${r.alreadyWritten} written before the resume)` : ""}`;
  switch (r.status) {
    case "succeeded":
    case "partial":
      return `${counts} in ${formatMs(r.durationMs)} (${r.runId})`;
    case "interrupted":
      return `interrupted after ${counts}: ${r.error ?? "stopped"}. Run fabra materialize again to resume ${r.runId}.`;
    case "locked":
      return `skipped: ${r.error ?? "locked"}`;
    default:
      return counts;
  }
}

/** The failures in detail (at most `limit` per feature) and a total line. */
export function summary(results: FeatureRunResult[], limit = 20): string[] {
  const lines: string[] = [];
  for (const r of results) {
    if (r.errors.length === 0) continue;
    lines.push(`${chalk.red("✗")} ${r.failed} ${r.failed === 1 ? "entity" : "entities"} of ${r.feature} failed:`);
    for (const e of r.errors.slice(0, limit)) lines.push(`    ${e.entityId}: ${e.error.split("\n")[0] ?? ""}`);
    if (r.failed > limit) lines.push(chalk.dim(`    … and ${r.failed - limit} more (--json lists them)`));
  }
  const written = results.reduce((n, r) => n + r.written, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  const unfinished = results.filter((r) => r.status === "interrupted" || r.status === "locked").length;
  const tail = [`${written} values written`, `${failed} failed`];
  if (unfinished > 0) tail.push(chalk.red(`${unfinished} feature${unfinished === 1 ? "" : "s"} not finished`));
  lines.push(`${results.length} feature${results.length === 1 ? "" : "s"}: ${tail.join(", ")}`);
  return lines;
}
