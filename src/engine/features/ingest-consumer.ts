// The consumer of ingested events, run by `fabra serve` and `fabra worker` (any number of them: with Redis they share
// one consumer group, so each event goes to one of them). For each entry: decode it (malformed → dead letter at once,
// never retried), recompute the features it triggers (ingest.ts), and acknowledge it only once the values are
// durable. A failed recompute leaves the entry pending: after `claimIdleMs` the next consumer asking claims it (so
// does one whose consumer died mid-way) and tries again; after `maxAttempts` deliveries it is dead-lettered with the
// last error. A store being down is no fault of the event: such a failure never dead-letters it.
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Definitions } from "../../define/collect.js";
import { errorMessage, isFabraError } from "../../errors.js";
import type { EventBacklog, QueuedEvent, Stores } from "../../stores/types.js";
import { decodeEvent, eventTriggers, recomputeForEvent } from "./ingest.js";

export interface IngestConsumerOptions {
  /** Event types to consume (default: every type some feature declares in `triggers`). */
  eventTypes?: string[];
  /** This consumer's name in the group (default `<host>:<pid>:<random>`). */
  consumer?: string;
  /** Entries taken per read (default 10). */
  count?: number;
  /** How long a read waits for new entries (default 1000 ms). */
  blockMs?: number;
  /** A pending entry idle this long is claimed and retried (default 30 s; longer than any recompute takes). */
  claimIdleMs?: number;
  /** Deliveries after which a failing event is dead-lettered (default 5). */
  maxAttempts?: number;
  onEvent?: (event: IngestConsumerEvent) => void;
}

export type IngestConsumerEvent =
  | {
      type: "processed";
      eventType: string;
      entryId: string;
      eventId: string;
      entityId: string;
      features: string[];
      deliveries: number;
      /** From the entry's enqueueing to its values being durable. */
      lagMs: number;
    }
  | { type: "failed"; eventType: string; entryId: string; deliveries: number; error: string; retry: true }
  | { type: "dead-lettered"; eventType: string; entryId: string; deliveries: number; reason: string }
  /** The queue itself failed (unreachable): retried with backoff. */
  | { type: "error"; error: string }
  | { type: "backlog"; backlog: EventBacklog[] };

export interface IngestConsumer {
  readonly consumer: string;
  readonly eventTypes: string[];
  /** Stops reading; the batch in hand is finished (each entry acknowledged or left pending), then it resolves. */
  stop(): Promise<void>;
}

export interface IngestConsumerRuntime {
  readonly definitions: Definitions;
  readonly stores: Stores;
}

export const DEFAULT_MAX_ATTEMPTS = 5;
export const DEFAULT_CLAIM_IDLE_MS = 30_000;
const BACKLOG_EVERY_MS = 2_000;

/** Codes of failures that are the infrastructure's, not the event's: retried however often they happen. */
const TRANSIENT = new Set(["STORE_UNAVAILABLE", "SHUTTING_DOWN", "LEDGER_LOCKED", "PERSIST_FAILED"]);

/** The entry id's milliseconds (`<ms>-<seq>`), or null. */
function entryMs(entryId: string): number | null {
  const ms = Number(entryId.split("-")[0]);
  return Number.isFinite(ms) && ms > 0 ? ms : null;
}

export function startIngestConsumer(
  runtime: IngestConsumerRuntime,
  options: IngestConsumerOptions = {},
): IngestConsumer {
  const eventTypes = options.eventTypes ?? [...eventTriggers(runtime.definitions).keys()];
  const consumer = options.consumer ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const count = Math.max(1, options.count ?? 10);
  const blockMs = Math.max(1, options.blockMs ?? 1000);
  const claimIdleMs = Math.max(0, options.claimIdleMs ?? DEFAULT_CLAIM_IDLE_MS);
  const maxAttempts = Math.max(1, options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
  const emit = (e: IngestConsumerEvent) => {
    try {
      options.onEvent?.(e);
    } catch {
      // an observer's fault is not the consumer's
    }
  };
  const { events, offline, online } = runtime.stores;
  const deps = { definitions: runtime.definitions, offline, online };
  let stopped = false;
  let wakeSleep: (() => void) | null = null;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wakeSleep = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const handle = async (entry: QueuedEvent): Promise<void> => {
    let event: ReturnType<typeof decodeEvent>;
    try {
      event = decodeEvent(entry);
    } catch (err) {
      const reason = errorMessage(err);
      await events.deadLetter(entry, reason);
      emit({
        type: "dead-lettered",
        eventType: entry.eventType,
        entryId: entry.entryId,
        deliveries: entry.deliveries,
        reason,
      });
      return;
    }
    try {
      const result = await recomputeForEvent(deps, event);
      await events.ack(entry);
      const enqueued = entryMs(entry.entryId);
      emit({
        type: "processed",
        eventType: entry.eventType,
        entryId: entry.entryId,
        eventId: event.id,
        entityId: event.entityId,
        features: result.features,
        deliveries: entry.deliveries,
        lagMs: enqueued === null ? 0 : Math.max(0, Date.now() - enqueued),
      });
    } catch (err) {
      const error = errorMessage(err);
      const transient = isFabraError(err) && TRANSIENT.has(err.code);
      if (!transient && entry.deliveries >= maxAttempts) {
        const reason = `failed ${entry.deliveries} time${entry.deliveries === 1 ? "" : "s"}; last error: ${error}`;
        await events.deadLetter(entry, reason);
        emit({
          type: "dead-lettered",
          eventType: entry.eventType,
          entryId: entry.entryId,
          deliveries: entry.deliveries,
          reason,
        });
        return;
      }
      // Left pending (not acknowledged): claimed again after claimIdleMs, by this consumer or another.
      emit({
        type: "failed",
        eventType: entry.eventType,
        entryId: entry.entryId,
        deliveries: entry.deliveries,
        error,
        retry: true,
      });
    }
  };

  const loop = async () => {
    let failures = 0;
    let lastBacklog = 0;
    while (!stopped) {
      try {
        const asked = Date.now();
        const batch = await events.consume(consumer, eventTypes, { count, blockMs, claimIdleMs });
        for (const entry of batch) await handle(entry);
        // An empty answer at once (a queue closing, or one that does not block) must not spin the loop.
        if (batch.length === 0 && Date.now() - asked < 5 && !stopped) await sleep(blockMs);
        failures = 0;
        if (Date.now() - lastBacklog >= BACKLOG_EVERY_MS && !stopped) {
          lastBacklog = Date.now();
          emit({ type: "backlog", backlog: await events.backlog(eventTypes) });
        }
      } catch (err) {
        if (stopped) break;
        failures++;
        emit({ type: "error", error: errorMessage(err) });
        await sleep(Math.min(5_000, 100 * 2 ** Math.min(failures, 6)));
      }
    }
  };

  const running =
    eventTypes.length === 0
      ? Promise.resolve()
      : loop().then(async () => {
          // Leaves the group unless it still holds entries (those stay for another consumer to claim).
          await events.leave?.(consumer, eventTypes).catch(() => undefined);
        });
  return {
    consumer,
    eventTypes,
    async stop() {
      stopped = true;
      (wakeSleep as (() => void) | null)?.();
      await running;
    },
  };
}
