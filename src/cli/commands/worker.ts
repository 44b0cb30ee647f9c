// `fabra worker`: runs the refresh scheduler, and with Redis the consumer of ingested events, without HTTP until
// SIGINT/SIGTERM; then stops taking work, lets a running refresh write its current batch (the run is left to resume)
// and the event batch in hand finish, and exits 0. Any number of workers may run against the same stores: the refresh
// lock (Redis in production) makes each refresh run once, and the consumer group hands each event to one of them.
import type { Command } from "commander";
import { schedulerEventJson } from "../../api/shapes.js";
import { scheduledFeatures, type SchedulerEvent } from "../../engine/features/schedule.js";
import { eventTriggers } from "../../engine/features/ingest.js";
import type { IngestConsumer, IngestConsumerEvent } from "../../engine/features/ingest-consumer.js";
import { FabraError } from "../../errors.js";
import { withFabra } from "../../app/project.js";
import { nowDatetime } from "../../record/datetime.js";
import {
  ingestRetryOptions,
  outputFormat,
  parseDurationFlag,
  parsePositiveInt,
  print,
  projectOptions,
  withIngestRetryFlags,
} from "../options.js";
import { outcome } from "../render/materialize-view.js";

interface WorkerFlags {
  features?: string;
  concurrency?: string;
  maxRuns?: string;
  lockTtl?: string;
  ingest: boolean;
  claimIdle?: string;
  maxAttempts?: string;
  format?: string;
  json?: boolean;
}

const FORMATS = ["text", "json"] as const;

export function registerWorker(program: Command): void {
  const command = program
    .command("worker")
    .description(
      "Refresh features on their schedules (refresh + materialize: true) and recompute on ingested events (Redis) until stopped; no HTTP",
    )
    .option("--features <names>", "only these features (comma-separated)")
    .option("--concurrency <n>", "entities computed at once within a refresh", "8")
    .option("--max-runs <n>", "refreshes run at once by this worker", "1")
    .option("--lock-ttl <duration>", "refresh lock TTL; a dead worker's refresh is taken over after it", "30s")
    .option("--no-ingest", "do not consume ingested events (only refresh on schedules)");
  withIngestRetryFlags(command)
    .option("--format <format>", "text | json: log events as JSON lines")
    .option("--json", "the same as --format json")
    .action(async (flags: WorkerFlags, cmd: Command) => {
      const { claimIdleMs, maxAttempts } = ingestRetryOptions(flags);
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
        const triggers = flags.ingest === false ? new Map<string, string[]>() : eventTriggers(fabra.definitions);
        // The in-process queue of local mode lives in `fabra serve`: a worker can consume only a shared (Redis) one.
        const shared = fabra.stores.events.capabilities.sharedAcrossProcesses;
        const consume = triggers.size > 0 && shared;
        if (jobs.length === 0 && !consume) {
          throw new FabraError(
            "INVALID_ARGUMENT",
            triggers.size > 0
              ? "No feature has both refresh and materialize: true, and ingested events are consumed by `fabra serve` in local mode, so a worker has nothing to do"
              : "No feature has both refresh and materialize: true, nor triggers, so a worker has nothing to do",
            {
              hint:
                triggers.size > 0
                  ? "Use the redis online store (FABRA_REDIS_URL) to consume events in workers, or let `fabra serve` consume them."
                  : 'Give a feature e.g. { refresh: "1h", materialize: true, entities: [...] } or { triggers: ["user_updated"] }.',
            },
          );
        }
        const log = (event: Record<string, unknown>, text: string) =>
          print(json ? JSON.stringify({ at: nowDatetime(), ...event }) : `${nowDatetime()}  ${text}`);
        const doing = [
          ...(jobs.length > 0 ? [`refreshing ${jobs.map((j) => `${j.feature} (${j.schedule.text})`).join(", ")}`] : []),
          ...(consume ? [`consuming ${[...triggers.keys()].join(", ")}`] : []),
        ];
        log(
          {
            type: "worker-started",
            features: jobs.map((j) => j.feature),
            events: consume ? [...triggers.keys()] : [],
          },
          `worker: ${doing.join("; ")}`,
        );
        if (jobs.length > 0 && !fabra.stores.online.capabilities.sharedAcrossProcesses) {
          log(
            { type: "note", note: "memory-online-store" },
            "note: the online store is memory, so refreshed values are cached in this process only (use redis to share them)",
          );
        }
        const scheduler =
          jobs.length === 0
            ? null
            : fabra.startScheduler({
                features: jobs.map((j) => j.feature),
                concurrency,
                maxConcurrentRuns,
                lockTtlMs,
                onEvent: (e) => {
                  const text = describe(e);
                  if (text !== null) log(schedulerEventJson(e), text);
                },
              });
        const consumer: IngestConsumer | null = consume
          ? fabra.startIngestConsumer({
              claimIdleMs,
              maxAttempts,
              onEvent: (e) => {
                const text = describeIngest(e);
                if (text !== null) log(ingestEventJson(e), text);
              },
            })
          : null;
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
        await Promise.all([scheduler?.stop(), consumer?.stop()]);
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

function ingestEventJson(e: IngestConsumerEvent): Record<string, unknown> {
  if (e.type === "processed")
    return {
      type: "event-processed",
      event_type: e.eventType,
      entry_id: e.entryId,
      event_id: e.eventId,
      entity_id: e.entityId,
      features: e.features,
      deliveries: e.deliveries,
      lag_ms: e.lagMs,
    };
  if (e.type === "failed")
    return {
      type: "event-failed",
      event_type: e.eventType,
      entry_id: e.entryId,
      deliveries: e.deliveries,
      error: e.error,
    };
  if (e.type === "dead-lettered")
    return {
      type: "event-dead-lettered",
      event_type: e.eventType,
      entry_id: e.entryId,
      deliveries: e.deliveries,
      reason: e.reason,
    };
  if (e.type === "error") return { type: "event-queue-error", error: e.error };
  return { type: "event-backlog", backlog: e.backlog };
}

function describeIngest(e: IngestConsumerEvent): string | null {
  switch (e.type) {
    case "processed":
      return `${e.eventType} ${e.entryId}: recomputed ${e.features.join(", ") || "nothing"} for ${e.entityId} (${e.lagMs} ms after it was queued)`;
    case "failed":
      return `${e.eventType} ${e.entryId}: failed (delivery ${e.deliveries}; retried after the claim idle time): ${e.error}`;
    case "dead-lettered":
      return `${e.eventType} ${e.entryId}: dead-lettered: ${e.reason}`;
    case "error":
      return `event queue: ${e.error} (retried with backoff)`;
    case "backlog":
      return null;
  }
}
