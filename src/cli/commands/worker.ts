// `fabra worker`: runs the refresh scheduler without HTTP until SIGINT/SIGTERM; then stops taking work, lets a
// running refresh write its current batch (the run is left to resume) and exits 0. Any number of workers may run
// against the same stores: the refresh lock (Redis in production) makes each refresh run once.
import type { Command } from "commander";
import { schedulerEventJson } from "../../api/shapes.js";
import { scheduledFeatures, type SchedulerEvent } from "../../engine/features/schedule.js";
import { FabraError } from "../../errors.js";
import { withFabra } from "../../app/project.js";
import { nowDatetime } from "../../record/datetime.js";
import { outputFormat, parseDurationFlag, parsePositiveInt, print, projectOptions } from "../options.js";
import { outcome } from "../render/materialize-view.js";

interface WorkerFlags {
  features?: string;
  concurrency?: string;
  maxRuns?: string;
  lockTtl?: string;
  format?: string;
  json?: boolean;
}

const FORMATS = ["text", "json"] as const;

export function registerWorker(program: Command): void {
  program
    .command("worker")
    .description("Refresh features on their schedules (refresh + materialize: true) until stopped; no HTTP")
    .option("--features <names>", "only these features (comma-separated)")
    .option("--concurrency <n>", "entities computed at once within a refresh", "8")
    .option("--max-runs <n>", "refreshes run at once by this worker", "1")
    .option("--lock-ttl <duration>", "refresh lock TTL; a dead worker's refresh is taken over after it", "30s")
    .option("--format <format>", "text | json: log events as JSON lines")
    .option("--json", "the same as --format json")
    .action(async (flags: WorkerFlags, cmd: Command) => {
      const concurrency = parsePositiveInt(flags.concurrency ?? "8", "--concurrency");
      const maxConcurrentRuns = parsePositiveInt(flags.maxRuns ?? "1", "--max-runs");
      const lockTtlMs = parseDurationFlag(flags.lockTtl ?? "30s", "--lock-ttl", 100);
      const json = outputFormat(flags, FORMATS, "text") === "json";
      const only = flags.features
        ?.split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      await withFabra(projectOptions(cmd), async (fabra) => {
        const jobs = scheduledFeatures(fabra.definitions.features, only);
        if (jobs.length === 0) {
          throw new FabraError(
            "INVALID_ARGUMENT",
            "No feature has both refresh and materialize: true, so a worker has nothing to do",
            {
              hint: 'Give a feature e.g. { refresh: "1h", materialize: true, entities: [...] }.',
            },
          );
        }
        const log = (event: Record<string, unknown>, text: string) =>
          print(json ? JSON.stringify({ at: nowDatetime(), ...event }) : `${nowDatetime()}  ${text}`);
        log(
          { type: "worker-started", features: jobs.map((j) => j.feature) },
          `worker: refreshing ${jobs.map((j) => `${j.feature} (${j.schedule.text})`).join(", ")}`,
        );
        if (!fabra.stores.online.capabilities.sharedAcrossProcesses) {
          log(
            { type: "note", note: "memory-online-store" },
            "note: the online store is memory, so refreshed values are cached in this process only (use redis to share them)",
          );
        }
        const scheduler = fabra.startScheduler({
          features: jobs.map((j) => j.feature),
          concurrency,
          maxConcurrentRuns,
          lockTtlMs,
          onEvent: (e) => {
            const text = describe(e);
            if (text !== null) log(schedulerEventJson(e), text);
          },
        });
        const signal = await new Promise<string>((resolve) => {
          const onSignal = (name: string) => {
            // From now on a second signal gets the default behaviour: quit at once.
            process.removeListener("SIGINT", onSignal);
            process.removeListener("SIGTERM", onSignal);
            resolve(name);
          };
          process.on("SIGINT", onSignal);
          process.on("SIGTERM", onSignal);
        });
        log(
          { type: "stopping", signal },
          `worker: ${signal}: stopping after the current batch (again to quit at once)`,
        );
        await scheduler.stop();
        log({ type: "stopped" }, "worker: stopped");
      });
    });
}

function describe(e: SchedulerEvent): string | null {
  switch (e.type) {
    case "scheduled":
      return null;
    case "started":
      return `${e.feature}: ${e.resumed ? "resuming" : "started"} ${e.runId}`;
    case "finished":
      return `${e.feature}: ${outcome(e.result)}`;
    case "skipped":
      return e.reason === "locked" ? `${e.feature}: skipped, another worker holds its refresh lock` : null;
    case "error":
      return `${e.feature}: error: ${e.error}`;
  }
}
