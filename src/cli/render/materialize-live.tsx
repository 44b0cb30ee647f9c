// The live (ink) view of `fabra materialize` on a terminal: a line per feature with a progress bar, its rate and
// the latest errors, redrawn at most every 100 ms. Imported on demand by materialize-view.ts.
import chalk from "chalk";
import { Box, render, Text } from "ink";
import type { FeatureRunResult } from "../../engine/features/materialize.js";
import { formatMs } from "./format.js";
import { compact, rate, statusIcon, type MaterializeView } from "./materialize-parts.js";

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
  const recent = [...results.values()]
    .flatMap((r) => r.errors.slice(-3).map((e) => ({ feature: r.feature, ...e })))
    .slice(-5);
  return (
    <Box flexDirection="column">
      {names.map((name) => (
        <FeatureLine key={name} name={name} width={width} r={results.get(name)} />
      ))}
      {recent.length > 0 && (
        <Box flexDirection="column" marginTop={1}>
          <Text dimColor>latest errors</Text>
          {recent.map((e) => (
            <Text
              key={`${e.feature}\u0000${e.entityId}`}
            >{`  ${chalk.red("✗")} ${e.feature}(${e.entityId}): ${e.error.split("\n")[0] ?? ""}`}</Text>
          ))}
        </Box>
      )}
    </Box>
  );
}

/** The live view (redrawn at most every 100 ms); `finish()` draws the final state and releases the terminal. */
export function liveView(names: string[]): MaterializeView {
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
