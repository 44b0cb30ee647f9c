// The one wrapper over every store: each call is timed and reported to the observers (the server's metrics), a raw
// error a backend let through becomes a FabraError naming the store, and close() runs once however often it is called.
import { FabraError } from "../errors.js";
import type { StoreKind, StoreObserver } from "./types.js";

/** The config key each store is set under, for error messages. */
const CONFIG_KEY: Record<StoreKind, string> = {
  records: "stores.offline",
  offline: "stores.offline",
  online: "stores.online",
  vector: "stores.vector",
  locks: "stores.online",
  events: "stores.online",
};

/**
 * `store` with every method wrapped. A method returning a promise is timed and reported when it settles; one
 * returning anything else (scan() and scanRaw() hand out async iterables) passes through as it is. Properties
 * (capabilities, a backend's own fields) read through unchanged, and optional methods stay absent.
 */
export function instrument<S extends object>(store: S, kind: StoreKind, observers: ReadonlySet<StoreObserver>): S {
  // Keyed by the method itself, so a method replaced on the store (a test double) is wrapped afresh.
  const wrapped = new WeakMap<object, unknown>();
  let closing: Promise<unknown> | null = null;
  return new Proxy(store, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== "function" || prop === "constructor") return value;
      let method = wrapped.get(value);
      if (!method) {
        const name = String(prop);
        const call = (...args: unknown[]): unknown =>
          run(() => (value as (...a: unknown[]) => unknown).apply(target, args), kind, name, observers);
        method = prop === "close" ? () => (closing ??= call() as Promise<unknown>) : call;
        wrapped.set(value, method);
      }
      return method;
    },
  });
}

function run(call: () => unknown, kind: StoreKind, operation: string, observers: ReadonlySet<StoreObserver>): unknown {
  const started = performance.now();
  let result: unknown;
  try {
    result = call();
  } catch (err) {
    throw report(storeError(err, kind, operation), kind, operation, started, observers);
  }
  if (!isPromise(result)) return result;
  return result.then(
    (value) => {
      if (observers.size > 0)
        notify(observers, { store: kind, operation, seconds: (performance.now() - started) / 1000, result: value });
      return value;
    },
    (err: unknown) => {
      throw report(storeError(err, kind, operation), kind, operation, started, observers);
    },
  );
}

function report(
  error: FabraError,
  kind: StoreKind,
  operation: string,
  started: number,
  observers: ReadonlySet<StoreObserver>,
): FabraError {
  if (observers.size > 0)
    notify(observers, {
      store: kind,
      operation,
      seconds: (performance.now() - started) / 1000,
      error: { code: error.code, message: error.message },
    });
  return error;
}

/** An observer that throws must not turn a store call that worked into a failure. */
function notify(observers: ReadonlySet<StoreObserver>, operation: Parameters<StoreObserver>[0]): void {
  for (const observer of observers) {
    try {
      observer(operation);
    } catch {
      // ignored: metrics are best effort
    }
  }
}

/**
 * FabraErrors pass through; anything else becomes a STORE_UNAVAILABLE keeping the driver's message as it is (what
 * callers and logs already show), with the store and the call in the hint and details.
 */
export function storeError(err: unknown, kind: StoreKind, operation: string): FabraError {
  if (err instanceof FabraError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new FabraError("STORE_UNAVAILABLE", message, {
    hint: `${CONFIG_KEY[kind]} failed in ${kind}.${operation}; FABRA_DEBUG=1 shows the driver's stack, \`fabra doctor\` checks the stores.`,
    cause: err,
    details: { store: kind, operation },
  });
}

const isPromise = (value: unknown): value is Promise<unknown> =>
  typeof (value as { then?: unknown } | null)?.then === "function";
