// `fabra migrate`: create or update fabra's tables in the configured Postgres (numbered migrations, advisory lock).
import chalk from "chalk";
import type { Command } from "commander";
import { migrateProject } from "../../app/migrate.js";
import { parseFormat, print, projectOptions } from "../options.js";

export function registerMigrate(program: Command): void {
  program
    .command("migrate")
    .description("Apply fabra's Postgres migrations (idempotent; safe to run from several processes at once)")
    .option("--format <format>", "text | json", "text")
    .action(async (flags: { format?: string }, cmd: Command) => {
      const format = parseFormat(flags.format, ["text", "json"] as const, "text");
      const reports = await migrateProject(projectOptions(cmd));
      if (format === "json") return print(JSON.stringify(reports, null, 2));
      if (reports.length === 0) {
        return print(
          "Nothing to migrate: no store uses Postgres (local DuckDB creates its own tables). Set stores.offline / stores.vector to use Postgres.",
        );
      }
      for (const r of reports) {
        print(`${chalk.bold(r.service)} ${r.url} schema "${r.schema}"`);
        if (r.applied.length === 0) print(`  ${chalk.green("✓")} up to date (${r.alreadyApplied} migrations applied)`);
        for (const m of r.applied)
          print(`  ${chalk.green("✓")} applied ${String(m.version).padStart(3, "0")} ${m.name}`);
        if (r.vector) {
          const ok = r.vector.state === "installed" || r.vector.state === "created";
          print(`  ${ok ? chalk.green("✓") : chalk.yellow("!")} ${r.vector.message}`);
          if (r.vector.hnsw.length > 0) print(`  ${chalk.green("✓")} HNSW index for ${r.vector.hnsw.join(", ")}`);
          if (r.vector.exact.length > 0)
            print(
              `  ${chalk.yellow("!")} exact scan for ${r.vector.exact.join(", ")} (more than 2000 dimensions: too many for HNSW)`,
            );
        }
      }
    });
}
