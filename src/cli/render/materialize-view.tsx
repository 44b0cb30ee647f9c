// The progress view of `fabra materialize`: live (ink) per-feature progress, rate and errors on a terminal; plain
// lines otherwise (pipes, CI logs); then a summary naming every failure.
import chalk from "chalk";
import { Box, render, Text } from "ink";
import type { FeatureRunResult } from "../../engine/features/materialize.js";
import { formatMs } from "./format.js";

export interface MaterializeView {
  update(progress: FeatureRunResult): void;
  /** Draws the final state and releases the terminal. */
  finish(): void;
}

const rate = (r: FeatureRunResult) => (r.durationMs > 0 ? (r.computed * 1000) / r.durationMs : 0);
const compact = (n: number) => (n >= 10_000 ? `${(n / 1000).toFixed(n >= 100_000 ? 0 : 1)}k` : String(Math.round(n)));

function statusIcon(r: FeatureRunResult | undefined): string {
  if (!r) return chalk.dim("·");
  switch (r.status) {
    case "running":
      return chalk.cyan("▶");
    case "succeeded":
      return chalk.green("✓");
    case "partial":
      return chalk.yellow("!");
    default:
      return chalk.red("✗");
  }
}

function FeatureLine({ name, width, r }: { name: string; width: number; r: FeatureRunResult | undefined }) {
  const label = name.padEnd(width);
  if (!r) return <Text>{`${statusIcon(r)} ${label}  ${chalk.dim("waiting")}`}</Text>;
  if (r.status === "locked") return <Text>{`${statusIcon(r)} ${label}  ${chalk.red(r.error ?? "locked")}`}</Text>;
  const done = r.alreadyWritten + r.computed + r.failed;
  const fraction = r.total ? Math.min(1, done / r.total) : r.status === "running" ? 0 : 1;
  const barWidth = 24;
  const filled = Math.round(fraction * barWidth);
  const bar = chalk.green("█".repeat(filled)) + chalk.dim("░".repeat(barWidth - filled));
  const counts = `${compact(done)}/${r.total === null ? "?" : compact(r.total)}`;
  const parts = [`${compact(rate(r))}/s`, formatMs(r.durationMs)];
  if (r.failed > 0) parts.push(chalk.red(`${r.failed} failed`));
  if (r.resumed) parts.push(chalk.dim(`resumed, ${r.alreadyWritten} already written`));
  if (r.status === "interrupted") parts.push(chalk.red(`interrupted: ${r.error ?? ""}`));
  return <Text>{`${statusIcon(r)} ${label}  ${bar} ${counts.padStart(13)}  ${parts.join("  ")}`}</Text>;
}

function View({ names, results }: { names: string[]; results: Map<string, FeatureRunResult> }) {
  const width = Math.max(...names.map((n) => n.length));
  const recent = [...results.values()].flatMap((r) => r.errors.slice(-3).map((e) => ({ feature: r.feature, ...e }))).slice(-5);
  return (
    <Box flexDirection="column">
      {names.map((name) => (
        <FeatureLine key={name} name={name} width={width} r={results.get(name)} />
      ))}
      {recent.length > 0 && (
        <Box flexDirection="column" marginTop={1}>
          <Text dimColor>latest errors</Text>
          {recent.map((e, i) => (
            <Text key={i}>{`  ${chalk.red("✗")} ${e.feature}(${e.entityId}): ${e.error.split("\n")[0] ?? ""}`}</Text>
          ))}
        </Box>
      )}
    </Box>
  );
}

/** The live view on a terminal (redrawn at most every 100 ms). */
export function inkView(names: string[]): MaterializeView {
  const results = new Map<string, FeatureRunResult>();
  const instance = render(<View names={names} results={results} />, { exitOnCtrlC: false, patchConsole: false });
  let last = 0;
  let pending: NodeJS.Timeout | null = null;
  const draw = () => {
    pending = null;
    last = Date.now();
    instance.rerender(<View names={names} results={new Map(results)} />);
  };
  return {
    update(progress) {
      results.set(progress.feature, progress);
      if (pending) return;
      const wait = 100 - (Date.now() - last);
      if (wait <= 0 || progress.status !== "running") draw();
      else pending = setTimeout(draw, wait);
    },
    finish() {
      if (pending) clearTimeout(pending);
      draw();
      instance.unmount();
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
        return write(`  ${r.feature}: ${done}/${r.total ?? "?"} (${r.written} written, ${r.failed} failed, ${compact(rate(r))}/s)`);
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
