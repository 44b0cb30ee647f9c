// Background services that live as long as `fabra serve`: started after the server listens, stopped (in reverse
// order) after requests have drained and before the stores close.
import type { FabraRuntime } from "../engine/runtime.js";
import { scheduledFeatures } from "../engine/schedule.js";

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
 * The services `fabra serve` runs unless `--no-scheduler`: the feature refresh scheduler (src/engine/schedule.ts),
 * when some feature has `refresh` and `materialize: true`. It uses the runtime's lock store, so several servers
 * (with Redis) never run one refresh twice.
 */
export function backgroundServices(runtime: FabraRuntime): BackgroundService[] {
  if (scheduledFeatures(runtime.definitions.features).length === 0) return [];
  return [serviceFrom("scheduler", () => runtime.startScheduler())];
}
