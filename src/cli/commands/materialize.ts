// `fabra materialize [feature...]`: compute features for their entities into history and the online cache, with a
// live progress view. Exit 0: all written; 1: finished but some entities failed (each listed with its error);
// 2: bad input; 3: a run could not finish (store or entity-source failure, lock held elsewhere, Ctrl-C) — run the
// command again to resume it.
import { resolve } from "node:path";
import type { Command } from "commander";
import { entityName } from "../../define/feature.js";
import { readEntitiesFile } from "../../engine/features/entity-source.js";
import { materialize, planMaterialize, type FeatureRunResult } from "../../engine/features/materialize.js";
import { runResultJson } from "../../api/shapes.js";
import { exitCodeFor, isFabraError } from "../../errors.js";
import { withFabra } from "../../app/project.js";
import { outputFormat, parsePositiveInt, print, projectOptions } from "../options.js";
import { dim } from "../render/format.js";
import { inkView, plainView, summary, type MaterializeView } from "../render/materialize-view.js";

interface MaterializeFlags {
  entities?: string;
  entityColumn?: string;
  concurrency?: string;
  batchSize?: string;
  format?: string;
  json?: boolean;
}

const FORMATS = ["text", "json"] as const;

export function registerMaterialize(program: Command): void {
  program
    .command("materialize [features...]")
    .description(
      "Compute features for their entities into history and the online cache (default: every feature with materialize: true)",
    )
    .option(
      "--entities <file>",
      "entity ids to use instead of the features' own: one per line, or a CSV with an entity column",
    )
    .option("--entity-column <name>", "the entity column of a CSV --entities file")
    .option("--concurrency <n>", "entities computed at once", "8")
    .option("--batch-size <n>", "values per transactional write", "1000")
    .option("--format <format>", "text | json: the outcome as JSON, errors included (no progress view)")
    .option("--json", "the same as --format json")
    .addHelpText(
      "after",
      "\nExit codes: 0 all written, 1 some entities failed, 2 bad input, 3 a run did not finish (re-run to resume it).",
    )
    .action(async (features: string[], flags: MaterializeFlags, cmd: Command) => {
      const json = outputFormat(flags, FORMATS, "text") === "json";
      try {
        await run(features, flags, json, cmd);
      } catch (err) {
        // A machine caller gets JSON for every outcome: the error goes to stdout too (and, as always, to stderr).
        if (json) print(JSON.stringify({ ok: false, exit_code: exitCodeFor(err), error: errorJson(err) }, null, 2));
        throw err;
      }
    });
}

function errorJson(err: unknown): { code: string; message: string; hint?: string } {
  if (isFabraError(err)) return err.toJSON();
  return { code: "INTERNAL", message: err instanceof Error ? err.message : String(err) };
}

async function run(features: string[], flags: MaterializeFlags, json: boolean, cmd: Command): Promise<void> {
  const concurrency = parsePositiveInt(flags.concurrency ?? "8", "--concurrency");
  const batchSize = parsePositiveInt(flags.batchSize ?? "1000", "--batch-size");
  const options = projectOptions(cmd);
  await withFabra(options, async (fabra) => {
    const planned = planMaterialize(fabra, { features, entities: flags.entities === undefined ? undefined : [] }); // unknown names → exit 2 before reading files
    let entities: string[] | undefined;
    if (flags.entities !== undefined) {
      const first = fabra.definitions.features.get(planned[0] ?? "");
      entities = await readEntitiesFile(resolve(options.cwd, flags.entities), {
        column: flags.entityColumn,
        entity: first ? entityName(first) : undefined,
      });
    }
    const names = planMaterialize(fabra, { features, entities });
    if (!json && !fabra.stores.online.capabilities.sharedAcrossProcesses) {
      print(
        dim(
          "note: the online store is memory, so this command's cache dies with it (history keeps every value; use redis to share the cache)",
        ),
      );
    }
    const view: MaterializeView | null = json ? null : process.stdout.isTTY ? inkView(names) : plainView(print);

    const stop = new AbortController();
    const onSignal = () => {
      process.stderr.write("\nfabra: stopping after the current batch (Ctrl-C again to quit at once)\n");
      stop.abort(new Error("interrupted by a signal"));
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    let results: FeatureRunResult[];
    try {
      results = await materialize(fabra, {
        features: names,
        entities,
        concurrency,
        batchSize,
        signal: stop.signal,
        onProgress: view?.update,
      });
    } finally {
      process.removeListener("SIGINT", onSignal);
      process.removeListener("SIGTERM", onSignal);
      view?.finish();
    }
    const code =
      results.some((r) => r.status === "interrupted" || r.status === "locked") || results.length < names.length
        ? 3
        : results.some((r) => r.failed > 0)
          ? 1
          : 0;
    if (json)
      print(
        JSON.stringify({ ok: code === 0, exit_code: code, features: results.map((r) => runResultJson(r)) }, null, 2),
      );
    else for (const line of summary(results)) print(line);
    process.exitCode = code;
  });
}
