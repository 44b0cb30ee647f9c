// `fabra training-data --events FILE --features a,b`: point-in-time training rows (each event with each feature's
// value as of the event's time) to CSV on stdout, or to a .csv, .parquet or .json file.
import { extname, resolve } from "node:path";
import type { Command } from "commander";
import { getTrainingTable } from "../../engine/features/training-data.js";
import { FabraError } from "../../errors.js";
import { checkOutputPath } from "../../util/fs-atomic.js";
import { withFabra } from "../../app/project.js";
import { writeCsvTo, writeTableFile } from "../../io/write-table.js";
import { collect, print, projectOptions } from "../options.js";
import { ok } from "../render/format.js";
import { plural } from "../../util/plural.js";

interface TrainingFlags {
  events: string;
  features: string;
  entityColumn?: string;
  timestampColumn?: string;
  ttl?: string[];
  asOf?: boolean;
  knownTime?: boolean;
  output: string;
}

export function registerTrainingData(program: Command): void {
  program
    .command("training-data")
    .description("Join feature values to events as of each event's time (never a value computed after it)")
    .requiredOption("--events <file>", "events: a CSV file with a header row, or a Parquet file")
    .requiredOption("--features <names>", "features to join (comma-separated)")
    .option(
      "--entity-column <name>",
      "the events' entity id column (default: the first of entity_id, <entity>_id, <entity>, id there is)",
    )
    .option(
      "--timestamp-column <name>",
      "the events' time column (default: the first of timestamp, ts, event_time, time there is)",
    )
    .option(
      "--ttl <[feature=]duration>",
      "max age of a joined value (older → empty); repeatable, e.g. --ttl 1d --ttl tier=1h",
      collect,
    )
    .option("--as-of", "add a <feature>_as_of column: when each joined value was computed")
    .option("--known-time", "join only values already known at each event's time (no leakage from a late backfill)")
    .option("-o, --output <file>", "where to write: out.csv, out.parquet, out.json, or - for CSV on stdout", "-")
    .action(async (flags: TrainingFlags, cmd: Command) => {
      const features = flags.features
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      const { defaultTtl, ttls } = parseTtls(flags.ttl ?? []);
      const format = outputFormat(flags.output);
      const options = projectOptions(cmd);
      const path = resolve(options.cwd, flags.output);
      if (format !== "stdout") await checkOutputPath(path); // before the join, not after it
      await withFabra(options, async (fabra) => {
        if (features.length === 0) {
          const known = [...fabra.definitions.features.keys()];
          throw new FabraError("INVALID_ARGUMENT", "--features names no feature", {
            hint: `Use e.g. --features ${known.slice(0, 2).join(",") || "userTier"}${known.length > 0 ? ` (features: ${known.join(", ")})` : ""}.`,
          });
        }
        for (const name of ttls.keys()) {
          if (!features.includes(name))
            throw new FabraError("INVALID_ARGUMENT", `--ttl names ${name}, which is not in --features`, {
              hint: `Features: ${features.join(", ")}.`,
            });
        }
        const { columns, rows, entityColumn, timestampColumn } = await getTrainingTable(
          { definitions: fabra.definitions, offline: fabra.stores.offline },
          {
            entities: flags.events,
            features: features.map((name) => (ttls.has(name) ? { name, ttl: ttls.get(name) } : name)),
            entityColumn: flags.entityColumn,
            timestampColumn: flags.timestampColumn,
            ttl: defaultTtl,
            includeAsOf: flags.asOf === true,
            knownTime: flags.knownTime === true,
            cwd: options.cwd,
          },
        );
        if (format === "stdout") return writeCsvTo(process.stdout, { columns, rows });
        await writeTableFile(
          path,
          format,
          { columns, rows },
          { datetimeColumns: [timestampColumn, ...features.map((f) => `${f}_as_of`)] },
        );
        const coverage = features.map(
          (f) =>
            `${f} ${rows.length === 0 ? 0 : Math.round((100 * rows.filter((r) => r[f] !== null).length) / rows.length)}%`,
        );
        print(
          ok(
            `Wrote ${plural(rows.length, "row")} × ${plural(columns.length, "column")} to ${flags.output} (entity column ${entityColumn}, time column ${timestampColumn}; values found: ${coverage.join(", ")})`,
          ),
        );
      });
    });
}

function parseTtls(values: string[]): { defaultTtl: string | undefined; ttls: Map<string, string> } {
  let defaultTtl: string | undefined;
  const ttls = new Map<string, string>();
  for (const v of values) {
    const eq = v.indexOf("=");
    if (eq < 0) defaultTtl = v;
    else ttls.set(v.slice(0, eq).trim(), v.slice(eq + 1).trim());
  }
  return { defaultTtl, ttls };
}

function outputFormat(output: string): "stdout" | "csv" | "parquet" | "json" {
  if (output === "-") return "stdout";
  const ext = extname(output).toLowerCase();
  if (ext === ".csv") return "csv";
  if (ext === ".parquet") return "parquet";
  if (ext === ".json") return "json";
  throw new FabraError("INVALID_ARGUMENT", `-o ${output}: cannot tell the format from the extension`, {
    hint: "Use a .csv, .parquet or .json file, or - for CSV on stdout.",
  });
}
