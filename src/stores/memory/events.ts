// The in-process event queue for local mode (no Redis): the semantics of the Redis Streams queue in one process.
// Entries get stream-like ids (`<ms>-<seq>`); one consumer group; an entry handed out stays pending until it is
// acknowledged or dead-lettered, and a pending entry idle past `claimIdleMs` is handed out again (its delivery count
// raised). Nothing survives the process: events still queued when `fabra serve` stops are lost (the README says so;
// use Redis for durable events).
import { nowDatetime } from "../../record/datetime.js";
import type { ConsumeOptions, DeadLetter, EventBacklog, EventQueue, QueuedEvent, StoreCheck } from "../types.js";

interface Entry {
  entryId: string;
  eventType: string;
  data: string;
}

interface Pending extends Entry {
  consumer: string;
  deliveredAt: number;
  deliveries: number;
}

/** Most entries kept per event type (the oldest are dropped past it, like the Redis stream's MAXLEN). */
export const MEMORY_QUEUE_MAX = 100_000;

export class MemoryEventQueue implements EventQueue {
  readonly capabilities = { concurrentWriters: false, persistent: false, sharedAcrossProcesses: false };
  private readonly waiting = new Map<string, Entry[]>();
  private readonly pending = new Map<string, Pending>();
  private readonly dead: DeadLetter[] = [];
  private lastMs = 0;
  private seq = 0;
  private deadSeq = 0;
  private wake: (() => void)[] = [];
  private closed = false;

  constructor(private readonly maxLength = MEMORY_QUEUE_MAX) {}

  async probe(): Promise<StoreCheck[]> {
    return [{ name: "stores.online (events)", state: "ok", detail: "in-process event queue (this process only)" }];
  }

  private nextId(): string {
    const ms = Date.now();
    if (ms > this.lastMs) {
      this.lastMs = ms;
      this.seq = 0;
    } else {
      this.seq++;
    }
    return `${this.lastMs}-${this.seq}`;
  }

  async publish(eventType: string, data: string): Promise<string> {
    const entryId = this.nextId();
    let list = this.waiting.get(eventType);
    if (!list) {
      list = [];
      this.waiting.set(eventType, list);
    }
    list.push({ entryId, eventType, data });
    if (list.length > this.maxLength) list.splice(0, list.length - this.maxLength);
    const wake = this.wake;
    this.wake = [];
    for (const w of wake) w();
    return entryId;
  }

  async consume(consumer: string, eventTypes: string[], options: ConsumeOptions): Promise<QueuedEvent[]> {
    const types = new Set(eventTypes);
    const take = (): QueuedEvent[] => {
      const out: QueuedEvent[] = [];
      const now = Date.now();
      for (const p of this.pending.values()) {
        if (out.length >= options.count) break;
        if (!types.has(p.eventType) || now - p.deliveredAt < options.claimIdleMs) continue;
        p.consumer = consumer;
        p.deliveredAt = now;
        p.deliveries++;
        out.push(queued(p));
      }
      for (const type of eventTypes) {
        const list = this.waiting.get(type);
        while (list && list.length > 0 && out.length < options.count) {
          const e = list.shift() as Entry;
          const p: Pending = { ...e, consumer, deliveredAt: now, deliveries: 1 };
          this.pending.set(e.entryId, p);
          out.push(queued(p));
        }
      }
      return out;
    };
    const first = take();
    if (first.length > 0 || this.closed || options.blockMs <= 0) return first;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, options.blockMs);
      this.wake.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    return this.closed ? [] : take();
  }

  async ack(entry: QueuedEvent): Promise<void> {
    this.pending.delete(entry.entryId);
  }

  async deadLetter(entry: QueuedEvent, reason: string): Promise<void> {
    this.pending.delete(entry.entryId);
    this.deadSeq++;
    this.dead.push({
      id: `${Date.now()}-${this.deadSeq}`,
      eventType: entry.eventType,
      entryId: entry.entryId,
      data: entry.data,
      reason,
      deliveries: entry.deliveries,
      failedAt: nowDatetime(),
    });
    if (this.dead.length > this.maxLength) this.dead.splice(0, this.dead.length - this.maxLength);
  }

  async deadLetters(limit: number): Promise<DeadLetter[]> {
    return this.dead.slice(0, limit).map((d) => ({ ...d }));
  }

  async retryDeadLetters(ids?: string[]): Promise<number> {
    const wanted = ids ? new Set(ids) : null;
    let retried = 0;
    for (let i = 0; i < this.dead.length; ) {
      const d = this.dead[i] as DeadLetter;
      if ((wanted && !wanted.has(d.id)) || d.data === null) {
        i++;
        continue;
      }
      this.dead.splice(i, 1);
      await this.publish(d.eventType, d.data);
      retried++;
    }
    return retried;
  }

  async backlog(eventTypes: string[]): Promise<EventBacklog[]> {
    return eventTypes.map((eventType) => ({
      eventType,
      waiting: this.waiting.get(eventType)?.length ?? 0,
      pending: [...this.pending.values()].filter((p) => p.eventType === eventType).length,
    }));
  }

  async close(): Promise<void> {
    this.closed = true;
    const wake = this.wake;
    this.wake = [];
    for (const w of wake) w();
  }
}

function queued(p: Pending): QueuedEvent {
  return { entryId: p.entryId, eventType: p.eventType, data: p.data, deliveries: p.deliveries };
}

export function open(maxLength?: number): MemoryEventQueue {
  return new MemoryEventQueue(maxLength);
}
