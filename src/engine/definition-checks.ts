// Checks every definition's options when the definitions are loaded (createFabra, every CLI command, `fabra doctor`),
// so a bad `maxTokens`, `topK`, `ttl`, `refresh` or `freshnessSla` is one INVALID_DEFINITION naming the definition
// and the option, at start, instead of a failure (or a record fabra's own reader rejects) at the first call.
import type { Definitions } from "../define/collect.js";
import type { ContextDef } from "../define/context.js";
import type { FeatureDef } from "../define/feature.js";
import type { RetrieverDef } from "../define/retriever.js";
import { FabraError } from "../errors.js";
import { parseDuration } from "../util/duration.js";
import { entityIdOf } from "./features/entity-id.js";
import { parseInputSpec } from "../define/inputs.js";
import { refreshScheduleOf } from "./features/refresh.js";
import { toJsonValue } from "./features/values.js";

type Problem = (where: string) => FabraError;

const problem =
  (what: string, hint: string): Problem =>
  (where) =>
    new FabraError("INVALID_DEFINITION", `${where} ${what}`, { hint });

const shown = (v: unknown) => (typeof v === "function" ? "a function" : (JSON.stringify(v) ?? String(v)));
const isPositiveInt = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v > 0;

/** Every problem with the definitions' options (empty when all are fine), for `fabra doctor`. */
export function definitionProblems(defs: Definitions): FabraError[] {
  const problems: FabraError[] = [];
  const check = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      if (!(err instanceof FabraError)) throw err;
      problems.push(err.code === "INVALID_DEFINITION" ? err : new FabraError("INVALID_DEFINITION", err.message, { hint: err.hint, cause: err }));
    }
  };
  for (const [name, def] of defs.features) featureChecks(def, name).forEach(check);
  for (const [name, def] of defs.retrievers) retrieverChecks(def, name).forEach(check);
  for (const [name, def] of defs.contexts) contextChecks(def, name).forEach(check);
  return problems;
}

/** Throws the first problem (naming how many more there are); called when definitions are loaded. */
export function checkDefinitions(defs: Definitions): void {
  const [first, ...rest] = definitionProblems(defs);
  if (!first) return;
  if (rest.length === 0) throw first;
  throw new FabraError("INVALID_DEFINITION", `${first.message} (and ${rest.length} more problem${rest.length === 1 ? "" : "s"} in the definitions)`, {
    hint: `${first.hint ?? ""} \`fabra doctor\` lists every problem.`.trim(),
    cause: first,
  });
}

function featureChecks(def: FeatureDef, name: string): (() => void)[] {
  const o = (def.options ?? {}) as Partial<FeatureDef["options"]> & Record<string, unknown>;
  const at = (option: string) => `Feature ${name}: \`${option}\``;
  return [
    () => {
      if (typeof def.compute !== "function") throw problem("is not a function", "Define it as feature({ entity: user }, (id) => ...).")(`Feature ${name}`);
    },
    () => {
      const e = o.entity as unknown;
      const ok = (typeof e === "string" && e !== "") || (typeof e === "object" && e !== null && (e as { kind?: unknown }).kind === "entity");
      if (!ok) throw problem(`is ${shown(e)}, not an entity`, 'Use entity: user (from entity("user")) or entity: "user".')(at("entity"));
    },
    () => {
      if (o.refresh !== undefined && typeof o.refresh !== "string" && typeof o.refresh !== "number") {
        throw problem(`is ${shown(o.refresh)}`, 'Use a duration ("30s", "5m", "1h", or ms) or a cron expression ("*/15 * * * *").')(at("refresh"));
      }
      refreshScheduleOf(def, name);
    },
    () => {
      if (o.ttl === undefined) return;
      const ms = typeof o.ttl === "string" || typeof o.ttl === "number" ? parseDuration(o.ttl, `Feature ${name}: \`ttl\``) : null;
      if (ms === null || ms <= 0) {
        throw problem(`is ${shown(o.ttl)}; it must be a duration longer than 0`, 'Use e.g. ttl: "1h", or leave ttl out for values that never expire.')(at("ttl"));
      }
    },
    () => {
      if (o.materialize !== undefined && typeof o.materialize !== "boolean") throw problem(`is ${shown(o.materialize)}`, "Use materialize: true or false.")(at("materialize"));
    },
    () => {
      const s = o.entities as unknown;
      if (s === undefined || typeof s === "function") return;
      if (Array.isArray(s)) {
        s.forEach((id, i) => {
          if (entityIdOf(id) === null) throw problem(`is ${shown(id)}, not an entity id`, "Entity ids are non-empty strings (or whole numbers).")(at(`entities[${i}]`));
        });
        return;
      }
      const sql = typeof s === "object" && s !== null ? (s as { sql?: unknown }).sql : undefined;
      if (typeof sql !== "string" || sql.trim() === "") {
        throw problem("is neither a list, { sql }, nor a function", 'Use e.g. entities: ["u_1", "u_2"], entities: { sql: "SELECT id FROM users" }, or entities: async () => ids.')(at("entities"));
      }
    },
    () => {
      if (o.default !== undefined) toJsonValue(o.default, `Feature ${name}: \`default\``);
    },
  ];
}

function retrieverChecks(def: RetrieverDef, name: string): (() => void)[] {
  const o = (def.options ?? {}) as Partial<RetrieverDef["options"]>;
  const at = (option: string) => `Retriever ${name}: \`${option}\``;
  return [
    () => {
      if (def.body !== undefined && typeof def.body !== "function") throw problem("is not a function", "Pass the body as retriever({ index }, async (query, { search }) => ...).")(`The body of retriever ${name}`);
    },
    () => {
      const index = o.index as unknown;
      if (index === undefined && def.body !== undefined) return; // a custom body may fetch chunks elsewhere
      if (typeof index !== "string" || index === "") throw problem(`is ${shown(index)}, not an index name`, 'Name the vector index it searches: retriever({ index: "docs" }).')(at("index"));
    },
    () => {
      if (o.topK !== undefined && !isPositiveInt(o.topK)) throw problem(`is ${shown(o.topK)}; it must be a whole number of at least 1`, "Use e.g. topK: 5.")(at("topK"));
    },
    () => {
      const m = o.minSimilarity as unknown;
      if (m !== undefined && (typeof m !== "number" || !Number.isFinite(m) || m < -1 || m > 1)) {
        throw problem(`is ${shown(m)}; it must be a cosine similarity from -1 to 1`, "Use e.g. minSimilarity: 0.3.")(at("minSimilarity"));
      }
    },
  ];
}

function contextChecks(def: ContextDef, name: string): (() => void)[] {
  const o = (def.options ?? {}) as Partial<ContextDef["options"]> & Record<string, unknown>;
  const at = (option: string) => `Context ${name}: \`${option}\``;
  return [
    () => {
      if (typeof def.fn !== "function") throw problem("is not a function", "Define it as context({ maxTokens: 4000 }, async (inputs) => [...items]).")(`Context ${name}`);
    },
    () => {
      if (o.maxTokens !== undefined && o.maxTokens !== null && !isPositiveInt(o.maxTokens)) {
        throw problem(`is ${shown(o.maxTokens)}; it must be a whole number of at least 1`, "Use e.g. maxTokens: 4000, or leave it out for no budget.")(at("maxTokens"));
      }
    },
    () => {
      const sla = o.freshnessSla as unknown;
      if (sla === undefined) return;
      if (typeof sla !== "string" && typeof sla !== "number") throw problem(`is ${shown(sla)}, not a duration`, "Use a duration like 500ms, 30s, 5m, 1h.")(at("freshnessSla"));
      parseDuration(sla, `Context ${name}: \`freshnessSla\``);
    },
    () => {
      const p = o.freshnessPolicy as unknown;
      if (p !== undefined && p !== "degrade" && p !== "fail") throw problem(`is ${shown(p)}`, 'Use freshnessPolicy: "degrade" (serve and record the violation) or "fail".')(at("freshnessPolicy"));
    },
    () => {
      if (o.model !== undefined && (typeof o.model !== "string" || o.model === "")) throw problem(`is ${shown(o.model)}, not a model name`, 'Use e.g. model: "gpt-4o".')(at("model"));
    },
    () => {
      if (o.separator !== undefined && typeof o.separator !== "string") throw problem(`is ${shown(o.separator)}, not a string`, 'Use e.g. separator: "\\n\\n".')(at("separator"));
    },
    () => {
      const spec = o.inputs as unknown;
      if (spec === undefined) return;
      if (typeof spec !== "object" || spec === null || Array.isArray(spec)) {
        throw problem(`is ${shown(spec)}, not an object of input types`, 'Use e.g. inputs: { userId: "string", limit: "integer?" }.')(at("inputs"));
      }
      parseInputSpec(spec as NonNullable<ContextDef["options"]["inputs"]>, name);
    },
  ];
}
