// Virtual time for code that waits on timers and also does real I/O (the scheduler over a DuckDB offline store):
// vitest's fake timers run setTimeout/setInterval/Date, and the clock moves only while no tracked I/O is in flight,
// so seconds of schedule pass in milliseconds and a slow disk never races the clock (I/O takes no virtual time).
import { vi } from "vitest";

/** Virtual time advances in steps this long; I/O started within a step completes within it (in virtual time). */
const STEP_MS = 10;

export interface VirtualTime {
  /** The same object, whose promise-returning methods hold the clock until their promise settles. */
  track<T extends object>(target: T): T;
  /** Lets `ms` of virtual time pass, firing every timer due in it. */
  advance(ms: number): Promise<void>;
  /** Advances the clock until `promise` settles (at most `limitMs` of virtual time), and returns what it returns. */
  settle<T>(promise: Promise<T>, limitMs?: number): Promise<T>;
  /** Advances the clock until `done()` holds, at most `limitMs` of virtual time. */
  until(done: () => boolean, limitMs?: number): Promise<void>;
  /** Back to real timers (call after everything waiting on a fake timer has settled). */
  restore(): void;
}

/** Installs fake timers (setTimeout, setInterval, Date; setImmediate stays real) from the current real time. */
export function virtualTime(): VirtualTime {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"], now: Date.now() });
  let inFlight = 0;
  let idle: (() => void)[] = [];
  const realTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

  /** Resolves once no tracked call is in flight and the microtasks its results queued have run. */
  const quiet = async () => {
    for (;;) {
      if (inFlight > 0) await new Promise<void>((resolve) => idle.push(resolve));
      await realTurn();
      if (inFlight === 0) return;
    }
  };

  const hold = <T>(promise: Promise<T>): Promise<T> => {
    inFlight++;
    return promise.finally(() => {
      inFlight--;
      if (inFlight === 0) {
        const waiting = idle;
        idle = [];
        for (const resolve of waiting) resolve();
      }
    });
  };

  const advance = async (ms: number) => {
    for (let left = ms; left > 0; left -= STEP_MS) {
      await quiet();
      await vi.advanceTimersByTimeAsync(Math.min(STEP_MS, left));
    }
    await quiet();
  };

  const until = async (done: () => boolean, limitMs = 10_000) => {
    for (let spent = 0; !done(); spent += STEP_MS) {
      if (spent >= limitMs) throw new Error(`still waiting after ${limitMs} ms of virtual time`);
      await advance(STEP_MS);
    }
  };

  return {
    track<T extends object>(target: T): T {
      return new Proxy(target, {
        get(object, property) {
          const value: unknown = Reflect.get(object, property, object);
          if (typeof value !== "function") return value;
          return (...args: unknown[]) => {
            const result: unknown = value.apply(object, args);
            return result instanceof Promise ? hold(result) : result;
          };
        },
      });
    },
    advance,
    until,
    async settle<T>(promise: Promise<T>, limitMs = 10_000): Promise<T> {
      let settled = false;
      const watched = promise.finally(() => {
        settled = true;
      });
      watched.catch(() => undefined);
      await until(() => settled, limitMs);
      return watched;
    },
    restore() {
      vi.useRealTimers();
    },
  };
}
