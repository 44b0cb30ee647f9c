// Background services that live as long as `fabra serve`: started after the server listens, stopped (in reverse
// order) after requests have drained and before the stores close. The refresh scheduler plugs in here:
//
//   services.push(serviceFrom("scheduler", () => startScheduler(runtime, { locks: runtime.stores.locks })));
import type { FabraRuntime } from "../engine/runtime.js";

export interface BackgroundService {
  readonly name: string;
  start(): void | Promise<void>;
  stop(): void | Promise<void>;
}

/** Adapts a `start() → { stop() }` function (the scheduler's shape) to a BackgroundService. */
export function serviceFrom(name: string, start: () => { stop(): void | Promise<void> } | Promise<{ stop(): void | Promise<void> }>): BackgroundService {
  let handle: { stop(): void | Promise<void> } | null = null;
  return {
    name,
    async start() {
      handle = await start();
    },
    async stop() {
      const h = handle;
      handle = null;
      await h?.stop();
    },
  };
}

/**
 * The services `fabra serve` runs unless `--no-scheduler`. None yet: the feature refresh scheduler
 * (src/engine/schedule.ts) is added here, in one line, when it lands.
 */
export function backgroundServices(_runtime: FabraRuntime): BackgroundService[] {
  return [];
}
