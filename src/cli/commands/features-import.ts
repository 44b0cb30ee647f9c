// `fabra features import <feature> --file F`: backfill a feature's history from a CSV / Parquet / JSON lines file,
// with a progress bar and a summary; bad rows are listed with their line and fail the command (exit 2).
import type { Command } from "commander";
import { withFabra } from "../../app/project.js";
import { FabraError } from "../../errors.js";
import { toJsonText } from "../../record/json.js";
import { outputFormat, print, projectOptions } from "../options.js";
import { createProgress } from "../render/progress.js";

const FORMATS = ["text", "json"] as const;
/** Bad rows listed in full; the rest are counted. */
const SHOWN_BAD_ROWS = 20;

interface ImportFlags {
  file: string;
  entityColumn?: string;
  timestampColumn?: string;
  valueColumn?: string;
  knownTimeColumn?: string;
  batchSize?: string;
  format?: string;
  json?: boolean;
}

export function registerFeaturesImport(features: Command): void {
  features
    .command("import <feature>")
    .description(
      "Backfill a feature's history from a file of (entity, event time, value) rows; re-running adds nothing",
    )
    .requiredOption("--file <file>", "a CSV file with a header row, a Parquet file, or JSON lines (.jsonl)")
    .option("--entity-column <name>", "entity id column (default: the first of entity_id, <entity>_id, <entity>, id)")
    .option("--timestamp-column <name>", "event time column (default: the first of timestamp, ts, event_time, time)")
    .option("--value-column <name>", "value column (default: value, or the feature's name)")
    .option("--known-time-column <name>", "when each value was known (default: now, the time of the import)")
    .option("--batch-size <n>", "rows per transaction", "10000")
    .option("--format <format>", "text | json (the summary)")
    .option("--json", "the same as --format json")
    .action(async (feature: string, flags: ImportFlags, cmd: Command) => {
      const format = outputFormat(flags, FORMATS, "text");
      const batchSize = Number(flags.batchSize ?? "10000");
      if (!Number.isInteger(batchSize) || batchSize < 1)
        throw new FabraError("INVALID_ARGUMENT", `--batch-size is ${flags.batchSize}; it must be a whole number >= 1`, {
          hint: "Use e.g. --batch-size 10000.",
        });
      const options = projectOptions(cmd);
      await withFabra(options, async (fabra) => {
        let progress: ReturnType<typeof createProgress> | null = null;
        const summary = await fabra.importHistory({
          feature,
          file: flags.file,
          entityColumn: flags.entityColumn,
          timestampColumn: flags.timestampColumn,
          valueColumn: flags.valueColumn,
          knownTimeColumn: flags.knownTimeColumn,
          batchSize,
          cwd: options.cwd,
          onProgress: (done, total) => {
            progress ??= createProgress(`import ${feature}`, total);
            progress.update(done);
          },
        });
        (progress as ReturnType<typeof createProgress> | null)?.done();
        if (format === "json") {
          print(
            toJsonText(
              {
                feature: summary.feature,
                file: summary.file,
                rows: summary.rows,
                written: summary.written,
                batches: summary.batches,
                failed_batches: summary.failedBatches,
                bad_rows: summary.badRows.map((r) => ({ line: r.line, error: r.error })),
                run_prefix: summary.runPrefix,
                known_at: summary.knownAt,
              },
              2,
            ),
          );
        } else {
          const c = summary.columns;
          print(
            `Imported ${summary.written} of ${summary.rows} rows into ${summary.feature} from ${summary.file} (${summary.batches} batch${summary.batches === 1 ? "" : "es"}, ${summary.failedBatches} failed)`,
          );
          print(
            `  columns: entity ${c.entityColumn}, event time ${c.timestampColumn}, value ${c.valueColumn}${c.knownTimeColumn ? `, known time ${c.knownTimeColumn}` : `; known at ${summary.knownAt}`}`,
          );
          print(`  run ids ${summary.runPrefix}:<line> (importing this file again adds nothing)`);
        }
        if (summary.badRows.length > 0) {
          const shown = summary.badRows.slice(0, SHOWN_BAD_ROWS).map((r) => `line ${r.line}: ${r.error}`);
          const more = summary.badRows.length - shown.length;
          throw new FabraError(
            "INVALID_ARGUMENT",
            `${summary.badRows.length} bad row${summary.badRows.length === 1 ? "" : "s"} in ${summary.file}; the ${summary.failedBatches} batch${summary.failedBatches === 1 ? "" : "es"} holding them ${summary.failedBatches === 1 ? "was" : "were"} not written:\n  ${shown.join("\n  ")}${more > 0 ? `\n  ... and ${more} more` : ""}`,
            {
              hint: "Fix those lines and import the file again; the batches already written stay as they are.",
              details: { badRows: summary.badRows.slice(0, 1000) },
            },
          );
        }
      });
    });
}
