// `fabra features get <name> <entity>`: one feature value with its provenance (or as of a past time);
// `fabra features list`: every feature with its schedule, TTL and last/next materialization run.
import type { Command } from "commander";
import { withFabra } from "../../project.js";
import { decodeForUser } from "../../engine/values.js";
import { FabraError } from "../../errors.js";
import { print, projectOptions } from "../options.js";
import { parseTime } from "./context-list.js";
import { formatMs } from "../render/format.js";
import { listFeatures } from "./features-list.js";

export function registerFeatureCommands(program: Command): void {
  const features = program.command("features").description("Read and inspect features");
  features
    .command("list")
    .description("Every feature: entity, refresh, ttl, materialized, last run and next run")
    .option("--json", "print as JSON")
    .action(async (flags: { json?: boolean }, cmd: Command) => {
      await withFabra(projectOptions(cmd), (fabra) => listFeatures(fabra, { json: flags.json === true }));
    });
  features
    .command("get <name> <entityId>")
    .description("Read a feature for an entity (through the cache; --as-of reads history)")
    .option("--as-of <time>", "the value as it was at this time (ISO-8601 or a duration ago), from offline history")
    .option("--json", "print as JSON")
    .action(async (name: string, entityId: string, flags: { asOf?: string; json?: boolean }, cmd: Command) => {
      await withFabra(projectOptions(cmd), async (fabra) => {
        let out: { name: string; entity_id: string; value: unknown; source: string; as_of: string; freshness_ms: number };
        if (flags.asOf !== undefined) {
          const asOf = parseTime(flags.asOf, "--as-of");
          if (!fabra.definitions.features.has(name)) await fabra.getFeatureValue(name, entityId); // throws FEATURE_NOT_FOUND with a hint
          const row = await fabra.stores.offline.latest(name, entityId, asOf);
          if (!row) {
            throw new FabraError("NOT_FOUND", `No value of ${name} for ${entityId} at or before ${asOf}`, {
              hint: "History starts when a value is first computed (on read or by `fabra materialize`).",
            });
          }
          out = { name, entity_id: entityId, value: decodeForUser(row.valueJson), source: "history", as_of: row.computedAt, freshness_ms: 0 };
        } else {
          const v = await fabra.getFeatureValue(name, entityId);
          out = { name, entity_id: entityId, value: v.value, source: v.source, as_of: v.asOf, freshness_ms: v.freshnessMs };
        }
        if (flags.json) return print(JSON.stringify(out, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2));
        print(`${out.name}(${out.entity_id}) = ${JSON.stringify(out.value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))}`);
        print(`  source ${out.source}   as of ${out.as_of}${flags.asOf === undefined ? `   age ${formatMs(out.freshness_ms)}` : ""}`);
      });
    });
}
