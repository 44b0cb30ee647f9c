// The pieces both materialize views draw with (the plain one here and the live ink one): rate, compact counts,
// the status icon, and the view interface.
import chalk from "chalk";
import type { FeatureRunResult } from "../../engine/features/materialize.js";

export interface MaterializeView {
  update(progress: FeatureRunResult): void;
  /** Draws the final state and releases the terminal. */
  finish(): void;
}

export const rate = (r: FeatureRunResult) => (r.durationMs > 0 ? (r.computed * 1000) / r.durationMs : 0);
export const compact = (n: number) =>
  n >= 10_000 ? `${(n / 1000).toFixed(n >= 100_000 ? 0 : 1)}k` : String(Math.round(n));

export function statusIcon(r: FeatureRunResult | undefined): string {
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
