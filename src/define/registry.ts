// Binds definitions to the runtime that registered them, so `userTier.get(id)` and `chatContext(inputs)`
// work as plain calls. A definition registered again (e.g. a second createFabra in a test) follows the latest.
import { FabraError } from "../errors.js";
import type { Runtime } from "./types.js";

export interface Bindable {
  readonly kind: "entity" | "feature" | "retriever" | "context";
  name: string | undefined;
}

// Kept on globalThis: a project's modules may import "fabra" through another copy of this package (the CLI
// aliases it; an app may have its own install), and every copy must see the same bindings.
const REGISTRY = Symbol.for("fabra.runtimes");
const shared = globalThis as Record<symbol, unknown>;
shared[REGISTRY] ??= new WeakMap<object, Runtime>();
const runtimes = shared[REGISTRY] as WeakMap<object, Runtime>;

export function bindRuntime(def: object, runtime: Runtime): void {
  runtimes.set(def, runtime);
}

export function runtimeOf(def: Bindable): Runtime {
  const runtime = runtimes.get(def);
  if (!runtime) {
    throw new FabraError(
      "INVALID_DEFINITION",
      `The ${def.kind} ${def.name ?? "(unnamed)"} is not registered with a fabra instance`,
      {
        hint: "List the module in `definitions` of fabra.config.ts, or pass it to createFabra({ definitions: { ... } }).",
      },
    );
  }
  return runtime;
}

/** The registered name; definitions get their export name when they have none of their own. */
export function nameOf(def: Bindable): string {
  if (!def.name) {
    throw new FabraError("INVALID_DEFINITION", `A ${def.kind} has no name`, {
      hint: `Give it { name: "..." } or export it from a definitions module so it takes the export name.`,
    });
  }
  return def.name;
}
