// `fabra doctor`: one ✓/!/✗ line per check with its fix, then the effective config (passwords masked); exit 3 if any fails.
import chalk from "chalk";
import type { Command } from "commander";
import { runDoctor, type Check } from "../../app/doctor.js";
import { parseFormat, print, projectOptions } from "../options.js";

const MARK = { ok: chalk.green("✓"), warn: chalk.yellow("!"), fail: chalk.red("✗") } as const;

export function registerDoctor(program: Command): void {
  program
    .command("doctor")
    .description("Check the config and every configured store (connectivity, versions, migrations, pgvector, ledger)")
    .option("--format <format>", "text | json", "text")
    .action(async (flags: { format?: string }, cmd: Command) => {
      const format = parseFormat(flags.format, ["text", "json"] as const, "text");
      const report = await runDoctor(projectOptions(cmd));
      if (format === "json") print(JSON.stringify(report, null, 2));
      else print(renderDoctor(report.config, report.checks, report.ok));
      // Exit code 3 (a runtime fault): something the operator must fix before fabra can run here.
      if (!report.ok) process.exitCode = 3;
    });
}

/** The checks and their verdict first (what a user came for), then the effective config they were run on. */
function renderDoctor(config: Record<string, unknown> | null, checks: Check[], ok: boolean): string {
  const lines: string[] = [chalk.bold("Checks")];
  for (const c of checks) {
    lines.push(`${MARK[c.state]} ${c.name}: ${c.detail}`);
    if (c.state !== "ok" && c.fix) lines.push(`    ${chalk.dim("fix:")} ${c.fix}`);
  }
  lines.push("");
  const failures = checks.filter((c) => c.state === "fail").length;
  const warnings = checks.filter((c) => c.state === "warn").length;
  lines.push(
    ok
      ? chalk.green(`All checks passed${warnings ? ` (${warnings} warning${warnings > 1 ? "s" : ""})` : ""}.`)
      : chalk.red(`${failures} check${failures > 1 ? "s" : ""} failed.`),
  );
  if (config) {
    lines.push("");
    lines.push(chalk.bold("Effective config") + chalk.dim(" (config file + FABRA_* environment; passwords masked)"));
    lines.push(
      ...JSON.stringify(config, null, 2)
        .split("\n")
        .map((l) => chalk.dim("  " + l)),
    );
  }
  return lines.join("\n");
}
