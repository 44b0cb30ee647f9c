// The production event queue on Redis Streams, laid out as the Python implementation does: one stream per event type
// (`<prefix>events:<type>`, so `fabra:events:user_updated` with the default prefix), each entry one field `data` with
// the event as JSON. XADD trims with MAXLEN ~ (bounded memory; an entry trimmed while still pending is reported, not
// lost silently). Every `fabra serve` and `fabra worker` reads through one consumer group (XREADGROUP), acknowledges an
// entry (XACK) only once its recompute is durable, and claims entries another consumer left pending past the idle
// time (XAUTOCLAIM: a dead consumer's, or one that failed). A dead letter goes to `<prefix>dlq:events` with the reason,
// in one MULTI with the XACK, so an event is never both dead-lettered and pending, nor neither.
//
// Connections: commands share one client (connected on first use, so commands that never touch events open none);
// the blocking XREADGROUP gets a client of its own, since a blocked connection answers nothing else meanwhile.
import { nowDatetime } from "../../record/datetime.js";
import { maskUrl } from "../../util/mask-url.js";
import { failedCheck } from "../check.js";
import type { ConsumeOptions, DeadLetter, EventBacklog, EventQueue, QueuedEvent, StoreCheck } from "../types.js";
import {
  closeRedis,
  mapRedisError,
  openRedis,
  redisVersion,
  type RedisConnection,
  type RedisTarget,
} from "./client.js";

/** The consumer group every fabra process reads the event streams through. */
export const CONSUMER_GROUP = "fabra";
/** About how many entries a stream keeps (XADD MAXLEN ~). */
export const STREAM_MAX_LENGTH = 100_000;
/** The longest a consume call blocks (the reader's command timeout is this plus the configured timeout). */
export const MAX_BLOCK_MS = 5_000;

type StreamEntry = [id: string, fields: string[]];

export interface RedisEventQueueOptions {
  maxLength?: number;
  group?: string;
}

export class RedisEventQueue implements EventQueue {
  readonly capabilities = { concurrentWriters: true, persistent: true, sharedAcrossProcesses: true };
  private conn: Promise<RedisConnection> | null = null;
  private reader: Promise<RedisConnection> | null = null;
  /** Streams whose consumer group this process has made sure of. */
  private readonly groups = new Set<string>();
  /** Where XAUTOCLAIM goes on in each stream (it scans the pending list a page at a time). */
  private readonly claimCursor = new Map<string, string>();
  private readonly maxLength: number;
  readonly group: string;
  private closed = false;

  constructor(
    private readonly target: RedisTarget,
    readonly keyPrefix: string,
    options: RedisEventQueueOptions = {},
  ) {
    this.maxLength = options.maxLength ?? STREAM_MAX_LENGTH;
    this.group = options.group ?? CONSUMER_GROUP;
  }

  /** The stream of an event type. */
  streamKey(eventType: string): string {
    return `${this.keyPrefix}events:${eventType}`;
  }

  /** The dead-letter stream. */
  get deadLetterKey(): string {
    return `${this.keyPrefix}dlq:events`;
  }

  private client(): Promise<RedisConnection> {
    this.conn ??= openRedis(this.target).catch((err: unknown) => {
      this.conn = null;
      throw err;
    });
    return this.conn;
  }

  private readerClient(): Promise<RedisConnection> {
    this.reader ??= openRedis({ ...this.target, timeoutMs: this.target.timeoutMs + MAX_BLOCK_MS }).catch(
      (err: unknown) => {
        this.reader = null;
        throw err;
      },
    );
    return this.reader;
  }

  private async call<T>(fn: (conn: RedisConnection) => Promise<T>, reader = false): Promise<T> {
    try {
      return await fn(await (reader ? this.readerClient() : this.client()));
    } catch (err) {
      throw mapRedisError(err, this.target);
    }
  }

  async probe(): Promise<StoreCheck[]> {
    const label = `${this.target.service} (Redis Streams)`;
    try {
      const conn = await this.client();
      const version = await redisVersion(conn);
      const [major = 0, minor = 0] = version.split(".").map(Number);
      if (major > 6 || (major === 6 && minor >= 2))
        return [{ name: label, state: "ok", detail: `event streams ${this.streamKey("<event>")} on Redis ${version}` }];
      return [
        {
          name: label,
          state: "fail",
          detail: `Redis ${version} at ${maskUrl(this.target.url)}; ingested events need 6.2 or newer (XAUTOCLAIM)`,
          fix: "Upgrade Redis to 6.2+.",
        },
      ];
    } catch (err) {
      return [failedCheck(label, err)];
    }
  }

  publish(eventType: string, data: string): Promise<string> {
    return this.call(
      async ({ client }) =>
        (await client.xadd(this.streamKey(eventType), "MAXLEN", "~", this.maxLength, "*", "data", data)) as string,
    );
  }

  /** A stream or group deleted meanwhile (NOGROUP): made again on the next read instead of failing forever. */
  private async forgetGroupsOnError<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (/NOGROUP/.test(String((err as Error).message))) {
        this.groups.clear();
        this.claimCursor.clear();
      }
      throw err;
    }
  }

  private async ensureGroup(stream: string): Promise<void> {
    if (this.groups.has(stream)) return;
    await this.call(async ({ client }) => {
      try {
        // From the stream's start: events published before any consumer existed are processed too.
        await client.xgroup("CREATE", stream, this.group, "0", "MKSTREAM");
      } catch (err) {
        if (!/BUSYGROUP/.test(String((err as Error).message))) throw err;
      }
    });
    this.groups.add(stream);
  }

  async consume(consumer: string, eventTypes: string[], options: ConsumeOptions): Promise<QueuedEvent[]> {
    if (eventTypes.length === 0 || this.closed) return [];
    const streams = eventTypes.map((t) => this.streamKey(t));
    for (const s of streams) await this.ensureGroup(s);
    const out: QueuedEvent[] = [];
    // Pending entries idle too long first: their consumer died, or failed them (a retry after the idle time).
    for (const [i, stream] of streams.entries()) {
      if (out.length >= options.count) break;
      out.push(...(await this.claim(stream, eventTypes[i] as string, consumer, options, options.count - out.length)));
    }
    if (out.length > 0) return out;
    const blockMs = Math.max(1, Math.min(MAX_BLOCK_MS, Math.round(options.blockMs)));
    const reply = (await this.forgetGroupsOnError(() =>
      this.call(
        ({ client }) =>
          client.xreadgroup(
            "GROUP",
            this.group,
            consumer,
            "COUNT",
            options.count,
            "BLOCK",
            blockMs,
            "STREAMS",
            ...streams,
            ...streams.map(() => ">"),
          ) as Promise<[string, StreamEntry[]][] | null>,
        true,
      ),
    )) as [string, StreamEntry[]][] | null;
    for (const [stream, entries] of reply ?? []) {
      const eventType = eventTypes[streams.indexOf(stream)] as string;
      for (const [entryId, fields] of entries)
        out.push({ entryId, eventType, data: field(fields, "data"), deliveries: 1 });
    }
    return out;
  }

  private async claim(
    stream: string,
    eventType: string,
    consumer: string,
    options: ConsumeOptions,
    count: number,
  ): Promise<QueuedEvent[]> {
    const start = this.claimCursor.get(stream) ?? "0-0";
    const reply = (await this.forgetGroupsOnError(() =>
      this.call(({ client }) =>
        client.xautoclaim(
          stream,
          this.group,
          consumer,
          Math.max(0, Math.round(options.claimIdleMs)),
          start,
          "COUNT",
          count,
        ),
      ),
    )) as [string, (StreamEntry | null)[], string[]?];
    const [next, entries, deleted = []] = reply;
    this.claimCursor.set(stream, next);
    const claimed = entries.filter((e): e is StreamEntry => e !== null);
    const out: QueuedEvent[] = [];
    if (claimed.length > 0) {
      // XAUTOCLAIM does not say how often an entry was delivered; XPENDING on each claimed entry does.
      const counts = await this.call(async ({ client }) => {
        const pipeline = client.pipeline();
        for (const [entryId] of claimed) pipeline.xpending(stream, this.group, entryId, entryId, 1);
        const results = (await pipeline.exec()) ?? [];
        return results.map(([err, rows]) => {
          if (err) throw err;
          const row = (rows as [string, string, number, number][])[0];
          return row ? Number(row[3]) : 2;
        });
      });
      claimed.forEach(([entryId, fields], i) => {
        out.push({ entryId, eventType, data: field(fields, "data"), deliveries: counts[i] ?? 2 });
      });
    }
    // Entries trimmed off the stream (MAXLEN) while pending: Redis 7 drops them from the pending list and names them
    // here; they are dead-lettered without data, so the loss is visible.
    for (const entryId of deleted) {
      await this.deadLetter(
        { entryId, eventType, data: null, deliveries: 0 },
        "trimmed from the stream (MAXLEN) before it was processed",
      );
    }
    return out;
  }

  ack(entry: QueuedEvent): Promise<void> {
    return this.call(async ({ client }) => {
      await client.xack(this.streamKey(entry.eventType), this.group, entry.entryId);
    });
  }

  deadLetter(entry: QueuedEvent, reason: string): Promise<void> {
    const stream = this.streamKey(entry.eventType);
    return this.call(async ({ client }) => {
      const fields = [
        ...(entry.data === null ? [] : ["data", entry.data]),
        "error",
        reason,
        "original_stream",
        stream,
        "original_id",
        entry.entryId,
        "event_type",
        entry.eventType,
        "deliveries",
        String(entry.deliveries),
        "failed_at",
        nowDatetime(),
      ];
      const results = await client
        .multi()
        .xadd(this.deadLetterKey, "MAXLEN", "~", this.maxLength, "*", ...fields)
        .xack(stream, this.group, entry.entryId)
        .exec();
      const failed = results?.find(([err]) => err !== null)?.[0];
      if (failed) throw failed;
    });
  }

  async deadLetters(limit: number): Promise<DeadLetter[]> {
    const entries = (await this.call(({ client }) =>
      client.xrange(this.deadLetterKey, "-", "+", "COUNT", limit),
    )) as StreamEntry[];
    return entries.map(([id, fields]) => toDeadLetter(id, fields));
  }

  async retryDeadLetters(ids?: string[]): Promise<number> {
    const letters = ids
      ? (
          await Promise.all(
            ids.map(
              async (id) =>
                (await this.call(({ client }) => client.xrange(this.deadLetterKey, id, id))) as StreamEntry[],
            ),
          )
        )
          .flat()
          .map(([id, fields]) => toDeadLetter(id, fields))
      : await this.deadLetters(this.maxLength);
    let retried = 0;
    for (const d of letters) {
      if (d.data === null) continue;
      const data = d.data;
      await this.call(async ({ client }) => {
        const results = await client
          .multi()
          .xadd(this.streamKey(d.eventType), "MAXLEN", "~", this.maxLength, "*", "data", data)
          .xdel(this.deadLetterKey, d.id)
          .exec();
        const failed = results?.find(([err]) => err !== null)?.[0];
        if (failed) throw failed;
      });
      retried++;
    }
    return retried;
  }

  async backlog(eventTypes: string[]): Promise<EventBacklog[]> {
    return Promise.all(
      eventTypes.map(async (eventType) => {
        const stream = this.streamKey(eventType);
        const groups = await this.call(async ({ client }) => {
          try {
            return (await client.xinfo("GROUPS", stream)) as unknown[][];
          } catch (err) {
            if (/no such key/i.test(String((err as Error).message))) return [];
            throw err;
          }
        });
        const ours = groups.map(pairs).find((g) => g.name === this.group);
        if (!ours) {
          const length = await this.call(({ client }) => client.xlen(stream));
          return { eventType, waiting: length, pending: 0 };
        }
        return { eventType, waiting: Number(ours.lag ?? 0), pending: Number(ours.pending ?? 0) };
      }),
    );
  }

  async leave(consumer: string, eventTypes: string[]): Promise<void> {
    for (const eventType of eventTypes) {
      const stream = this.streamKey(eventType);
      await this.call(async ({ client }) => {
        let consumers: unknown[][];
        try {
          consumers = (await client.xinfo("CONSUMERS", stream, this.group)) as unknown[][];
        } catch (err) {
          if (/no such key|NOGROUP/i.test(String((err as Error).message))) return;
          throw err;
        }
        const ours = consumers.map(pairs).find((c) => c.name === consumer);
        // DELCONSUMER drops the consumer's pending entries: only one holding none is removed. A stopped consumer
        // reads nothing more, so none can be handed to it between the check and the delete.
        if (ours && Number(ours.pending ?? 0) === 0) await client.xgroup("DELCONSUMER", stream, this.group, consumer);
      });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const conns = [this.conn, this.reader];
    this.conn = null;
    this.reader = null;
    for (const c of conns) {
      const conn = await c?.catch(() => null);
      if (!conn) continue;
      // The reader may be blocked in XREADGROUP: cut it rather than wait for its block to end.
      if (c === conns[1]) conn.client.disconnect();
      else await closeRedis(conn);
    }
  }
}

function field(fields: string[], name: string): string | null {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1] as string;
  return null;
}

function pairs(list: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < list.length; i += 2) out[String(list[i])] = list[i + 1];
  return out;
}

function toDeadLetter(id: string, fields: string[]): DeadLetter {
  return {
    id,
    eventType: field(fields, "event_type") ?? "",
    entryId: field(fields, "original_id") ?? "",
    data: field(fields, "data"),
    reason: field(fields, "error") ?? "",
    deliveries: Number(field(fields, "deliveries") ?? 0),
    failedAt: field(fields, "failed_at") ?? "",
  };
}

export function open(target: RedisTarget, keyPrefix: string, options?: RedisEventQueueOptions): RedisEventQueue {
  return new RedisEventQueue(target, keyPrefix, options);
}
