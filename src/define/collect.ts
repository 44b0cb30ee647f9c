// Collects definitions from modules' exports (or a plain object), naming unnamed ones after their export.
import { FabraError } from "../errors.js";
import type { ContextDef } from "./context.js";
import type { EntityDef } from "./entity.js";
import type { FeatureDef } from "./feature.js";
import type { RetrieverDef } from "./retriever.js";

export interface Definitions {
  entities: Map<string, EntityDef>;
  features: Map<string, FeatureDef>;
  retrievers: Map<string, RetrieverDef>;
  contexts: Map<string, ContextDef>;
}

type AnyDef = EntityDef | FeatureDef | RetrieverDef | ContextDef;

function isDefinition(v: unknown): v is AnyDef {
  if ((typeof v !== "object" && typeof v !== "function") || v === null) return false;
  const kind = (v as { kind?: unknown }).kind;
  return kind === "entity" || kind === "feature" || kind === "retriever" || kind === "context";
}

export function emptyDefinitions(): Definitions {
  return { entities: new Map(), features: new Map(), retrievers: new Map(), contexts: new Map() };
}

/** Adds every definition exported by `exports` (module namespace or plain object); `origin` names it in errors. */
export function addDefinitions(into: Definitions, exports: Record<string, unknown>, origin: string): Definitions {
  for (const [exportName, value] of Object.entries(exports)) {
    if (!isDefinition(value)) continue;
    if (!value.name) value.name = exportName === "default" ? undefined : exportName;
    const name = value.name;
    if (!name) {
      throw new FabraError("INVALID_DEFINITION", `The default export of ${origin} is a ${value.kind} without a name`, {
        hint: `Give it { name: "..." } or export it under a name.`,
      });
    }
    const table = tableFor(into, value.kind) as Map<string, AnyDef>;
    const existing = table.get(name);
    if (existing && existing !== value) {
      throw new FabraError("INVALID_DEFINITION", `Two ${value.kind}s are named "${name}" (the second in ${origin})`, {
        hint: 'Names must be unique per kind; rename one with { name: "..." }.',
      });
    }
    table.set(name, value);
  }
  return into;
}

function tableFor(defs: Definitions, kind: AnyDef["kind"]): Map<string, AnyDef> {
  switch (kind) {
    case "entity":
      return defs.entities as Map<string, AnyDef>;
    case "feature":
      return defs.features as Map<string, AnyDef>;
    case "retriever":
      return defs.retrievers as Map<string, AnyDef>;
    case "context":
      return defs.contexts as Map<string, AnyDef>;
  }
}
