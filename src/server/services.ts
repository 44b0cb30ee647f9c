// Background services that live as long as `fabra serve`: started after the server listens (with the server's
// metrics and log), stopped (in reverse order) after requests have drained and before the stores close.
import type { FabraRuntime } from "../engine/runtime.js";
import { scheduledFeatures, type SchedulerEvent } from "../engine/features/schedule.js";
import { eventTriggers } from "../engine/features/ingest.js";
import type { IngestConsumerEvent, IngestConsumerOptions } from "../engine/features/ingest-consumer.js";
import type { ServerMetrics } from "./metrics.js";

/** What a service gets from the server it runs in. */
export interface ServiceContext {
  metrics: ServerMetrics;
  /** The server's log (stderr, `fabra serve: ` prefixed). */
  log: (line: string) => void;
}

export interface BackgroundService {
  readonly name: string;
  /** What it does, for the serve banner (e.g. the features the scheduler refreshes). */
  readonly description: string;
  start(context: ServiceContext): void | Promise<void>;
  stop(): void | Promise<void>;
}

type Handle = { stop(): void | Promise<void> };

/** Adapts a `start() → { stop() }` function (the scheduler's shape) to a BackgroundService. */
export function serviceFrom(
  name: string,
  description: string,
  start: (context: ServiceContext) => Handle | Promise<Handle>,
): BackgroundService {
  let handle: Handle | null = null;
  return {
    name,
    description,
    async start(context) {
      handle = await start(context);
    },
    async stop() {
      const h = handle;
      handle = null;
      await h?.stop();
    },
  };
}

/**
 * The services `fabra serve` runs unless `--no-scheduler`: the feature refresh scheduler (src/engine/schedule.ts),
 * when some feature has `refresh`, `materialize: true` and entities. It uses the runtime's lock store, so several
 * servers (with Redis) never run one refresh twice; its runs and errors are logged and counted in /metrics.
 */
export function backgroundServices(runtime: FabraRuntime): BackgroundService[] {
  const jobs = scheduledFeatures(runtime.definitions.features);
  if (jobs.length === 0) return [];
  const description = `refreshes ${jobs.map((j) => `${j.feature} (${j.schedule.text})`).join(", ")}`;
  return [
    serviceFrom("scheduler", description, (context) => runtime.startScheduler({ onEvent: schedulerObserver(context) })),
  ];
}

/** Scheduler events → one concise log line for what an operator needs to see, and the scheduler metrics. */
export function schedulerObserver({ metrics, log }: ServiceContext): (event: SchedulerEvent) => void {
  return (e) => {
    switch (e.type) {
      case "started":
        if (e.resumed) log(`scheduler: ${e.feature}: resuming ${e.runId}`);
        return;
      case "finished": {
        const r = e.result;
        metrics.schedulerRuns.inc({ feature: e.feature, status: r.status });
        const counts = `${r.written} written${r.failed > 0 ? `, ${r.failed} failed` : ""}`;
        if (r.status === "interrupted")
          log(
            `scheduler: ${e.feature}: ${r.runId} interrupted after ${counts}: ${r.error ?? "stopped"} (retried with backoff)`,
          );
        else log(`scheduler: ${e.feature}: ${r.runId} ${r.status}, ${counts} in ${r.durationMs} ms`);
        return;
      }
      case "error":
        metrics.schedulerErrors.inc({ feature: e.feature });
        log(`scheduler: ${e.feature}: error: ${e.error} (retried with backoff)`);
        return;
      case "skipped":
      case "scheduled":
        return;
    }
  };
}

/**
 * The consumer of ingested events (engine/features/ingest-consumer.ts), when some feature declares `triggers`: in local
 * mode the only one (the in-process queue lives in this server); with Redis one of the consumer group, beside any
 * `fabra worker`. Its events are counted in /metrics and failures logged.
 */
export function ingestService(runtime: FabraRuntime, options: IngestConsumerOptions = {}): BackgroundService | null {
  const triggers = eventTriggers(runtime.definitions);
  if (triggers.size === 0) return null;
  const description = `recomputes on ${[...triggers].map(([event, features]) => `${event} → ${features.join(", ")}`).join("; ")}`;
  return serviceFrom("ingest", description, (context) =>
    runtime.startIngestConsumer({ ...options, onEvent: ingestObserver(context) }),
  );
}

/** Consumer events → the ingest metrics, and a log line for each failure and dead letter. */
export function ingestObserver({ metrics, log }: ServiceContext): (event: IngestConsumerEvent) => void {
  return (e) => {
    switch (e.type) {
      case "processed":
        metrics.ingestProcessed.inc({ event: e.eventType });
        metrics.ingestLagSeconds.observe({ event: e.eventType }, e.lagMs / 1000);
        return;
      case "failed":
        metrics.ingestFailed.inc({ event: e.eventType });
        log(`ingest: ${e.eventType} ${e.entryId} failed (delivery ${e.deliveries}, retried): ${e.error}`);
        return;
      case "dead-lettered":
        metrics.ingestDeadLettered.inc({ event: e.eventType });
        log(`ingest: ${e.eventType} ${e.entryId} dead-lettered: ${e.reason}`);
        return;
      case "error":
        log(`ingest: the event queue failed: ${e.error} (retried with backoff)`);
        return;
      case "backlog":
        for (const b of e.backlog) {
          metrics.ingestBacklog.set({ event: b.eventType, state: "waiting" }, b.waiting);
          metrics.ingestBacklog.set({ event: b.eventType, state: "pending" }, b.pending);
        }
        return;
    }
  };
}

/** How often `fabra serve` integrates records other processes appended (its own are integrated after each append). */
export const LOG_INTEGRATION_INTERVAL_MS = 2000;

/**
 * The transparency log's sequencer (spec/TLOG-001.md): every record this server appends is integrated right after
 * the append commits (in the background), and records other processes appended within LOG_INTEGRATION_INTERVAL_MS.
 */
export function logSequencerService(runtime: FabraRuntime): BackgroundService {
  return serviceFrom("tlog", "integrates new records into the transparency log", ({ log }) => {
    let warned = false;
    const sequencer = runtime.ledger.integrateInBackground((err) => {
      if (warned) return;
      warned = true;
      log(`transparency log: integration failed: ${err instanceof Error ? err.message : String(err)} (retried)`);
    });
    sequencer.schedule();
    const timer = setInterval(() => sequencer.schedule(), LOG_INTEGRATION_INTERVAL_MS);
    timer.unref();
    return {
      stop: async () => {
        clearInterval(timer);
        await sequencer.idle();
      },
    };
  });
}
