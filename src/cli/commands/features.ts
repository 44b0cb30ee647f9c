// `fabra features get <name> <entity>`: one feature value with its provenance (or as of a past time);
// `fabra features list`: every feature with its schedule, TTL and last/next materialization run.
import type { Command } from "commander";
import { featureValueJson } from "../../api/shapes.js";
import { FabraError } from "../../errors.js";
import { withFabra } from "../../app/project.js";
import { toJsonText } from "../../record/json.js";
import { outputFormat, parseTime, print, projectOptions } from "../options.js";
import { formatMs } from "../render/format.js";
import { listFeatures } from "./features-list.js";
import { registerFeaturesImport } from "./features-import.js";

const FORMATS = ["text", "json"] as const;

export function registerFeatureCommands(program: Command): void {
  const features = program.command("features").description("Read and inspect features");
  features
    .command("list")
    .description("Every feature: entity, refresh, ttl, materialized, last run and next run")
    .option("--format <format>", "text | json")
    .option("--json", "the same as --format json")
    .action(async (flags: { format?: string; json?: boolean }, cmd: Command) => {
      const format = outputFormat(flags, FORMATS, "text");
      await withFabra(projectOptions(cmd), (fabra) => listFeatures(fabra, { json: format === "json" }));
    });
  features
    .command("get <name> <entityId>")
    .description("Read a feature for an entity (through the cache; --as-of reads history)")
    .option("--as-of <time>", "the value as it was at this time (ISO-8601 or a duration ago), from offline history")
    .option("--known-time", "with --as-of: only values already known at that time (no later backfill)")
    .option("--format <format>", "text | json: as GET /v1/features/:name returns it")
    .option("--json", "the same as --format json")
    .action(
      async (
        name: string,
        entityId: string,
        flags: { asOf?: string; knownTime?: boolean; format?: string; json?: boolean },
        cmd: Command,
      ) => {
        const format = outputFormat(flags, FORMATS, "text");
        const asOf = flags.asOf === undefined ? undefined : parseTime(flags.asOf, "--as-of");
        if (flags.knownTime && asOf === undefined)
          throw new FabraError("INVALID_ARGUMENT", "--known-time needs --as-of", {
            hint: `Read history as of a time: fabra features get ${name} ${entityId || "u_1"} --as-of 2026-03-01T09:00:00Z --known-time.`,
          });
        if (entityId.trim() === "")
          throw new FabraError("INVALID_ARGUMENT", "The entity id is empty", {
            hint: `Name the entity, e.g. fabra features get ${name} u_1.`,
          });
        await withFabra(projectOptions(cmd), async (fabra) => {
          const v =
            asOf === undefined
              ? await fabra.getFeatureValue(name, entityId)
              : await fabra.getFeatureAsOf(name, entityId, asOf, { knownTime: flags.knownTime === true });
          // The same shape and serializer as GET /v1/features/:name (big integers stay exact).
          if (format === "json") return print(toJsonText(featureValueJson(v), 2));
          print(`${v.name}(${v.entityId}) = ${toJsonText(v.value)}`);
          print(
            `  source ${v.source}   as of ${v.asOf}   age ${formatMs(v.freshnessMs)}${asOf === undefined ? "" : ` at ${asOf} (${flags.knownTime ? "by known time: only values known by then" : "by event time"})`}`,
          );
        });
      },
    );
  registerFeaturesImport(features);
}
