// Checks every definition's options when the definitions are loaded (createFabra, every CLI command, `fabra doctor`):
// one strict zod schema per kind, so a bad `maxTokens`, `topK`, `ttl`, `refresh` or `freshnessSla`, or an option
// that does not exist (`materialise`, `maxToken`, `topk`), is one INVALID_DEFINITION naming the definition and the
// option, at start, instead of a failure (or a record fabra's own reader rejects) at the first call.
import { z } from "zod";
import type { Definitions } from "../define/collect.js";
import type { ContextOptions } from "../define/context.js";
import type { FeatureDef, FeatureOptions } from "../define/feature.js";
import { parseInputSpec } from "../define/inputs.js";
import type { RetrieverDef, RetrieverOptions } from "../define/retriever.js";
import { FabraError } from "../errors.js";
import { parseDuration } from "../util/duration.js";
import { didYouMean } from "../util/suggest.js";
import { entityIdOf } from "./features/entity-id.js";
import { EVENT_TYPE_PATTERN } from "./features/ingest.js";
import { refreshScheduleOf } from "./features/refresh.js";
import { parseHistoryOption } from "./features/history-table.js";
import { toJsonValue } from "../record/values.js";

/** Every problem with the definitions' options (empty when all are fine), for `fabra doctor`. */
export function definitionProblems(defs: Definitions): FabraError[] {
  const problems: FabraError[] = [];
  for (const [name, def] of defs.features)
    problems.push(...check("Feature", name, def.compute, def.options, featureOptions(def, name)));
  for (const [name, def] of defs.retrievers)
    problems.push(...retrieverBody(def, name), ...check("Retriever", name, null, def.options, retrieverOptions(def)));
  for (const [name, def] of defs.contexts)
    problems.push(...check("Context", name, def.fn, def.options, contextOptions(name)));
  return problems;
}

/** Throws the first problem (naming how many more there are); called when definitions are loaded. */
export function checkDefinitions(defs: Definitions): void {
  const [first, ...rest] = definitionProblems(defs);
  if (!first) return;
  if (rest.length === 0) throw first;
  throw new FabraError(
    "INVALID_DEFINITION",
    `${first.message} (and ${rest.length} more problem${rest.length === 1 ? "" : "s"} in the definitions)`,
    {
      hint: `${first.hint ?? ""} \`fabra doctor\` lists every problem.`.trim(),
      cause: first,
    },
  );
}

type Kind = "Feature" | "Retriever" | "Context";
/** The issue params every check below sets: the problem after "<Kind> <name>: `<option>`", and what to write. */
type Said = { said: string; hint: string } | { error: FabraError };

const shown = (v: unknown) => (typeof v === "function" ? "a function" : (JSON.stringify(v) ?? String(v)));
const HOW: Record<Kind, string> = {
  Feature: "Define it as feature({ entity: user }, (id) => ...).",
  Retriever: 'Define it as retriever({ index: "docs" }) or retriever({ index }, async (query, { search }) => ...).',
  Context: "Define it as context({ maxTokens: 4000 }, async (inputs) => [...items]).",
};

/** `fn`: the definition's function, which must be one (null: it has none to check). */
function check(kind: Kind, name: string, fn: unknown, options: unknown, schema: z.ZodObject): FabraError[] {
  if (fn !== null && typeof fn !== "function")
    return [new FabraError("INVALID_DEFINITION", `${kind} ${name} is not a function`, { hint: HOW[kind] })];
  const result = schema.safeParse(options ?? {});
  if (result.success) return [];
  return result.error.issues.flatMap((issue) => toProblem(issue, kind, name, options, Object.keys(schema.shape)));
}

function toProblem(issue: z.core.$ZodIssue, kind: Kind, name: string, options: unknown, known: string[]): FabraError[] {
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map(
      (key) =>
        new FabraError("INVALID_DEFINITION", `${kind} ${name} has no option \`${key}\``, {
          hint: didYouMean(key, known) ?? `The options of a ${kind.toLowerCase()} are ${known.join(", ")}.`,
        }),
    );
  }
  const option = issue.path.map(String).join(".");
  const params = issue.code === "custom" ? (issue.params as Said | undefined) : undefined;
  if (params && "error" in params) return [params.error];
  if (issue.path.length === 0) {
    return [
      new FabraError("INVALID_DEFINITION", `${kind} ${name}: its options are ${shown(options)}, not an object`, {
        hint: HOW[kind],
      }),
    ];
  }
  const said = params?.said ?? issue.message;
  return [new FabraError("INVALID_DEFINITION", `${kind} ${name}: \`${option}\` ${said}`, { hint: params?.hint })];
}

/** An option checked by a zod schema; when it fails, the problem says what the value is and the hint what to write. */
function option(accepts: z.ZodType, problem: (value: unknown) => string, hint: string, required = false) {
  const checked = z.unknown().superRefine((value, ctx) => {
    if (!accepts.safeParse(value).success)
      ctx.addIssue({ code: "custom", message: problem(value), params: { said: problem(value), hint } });
  });
  return required ? checked : checked.optional();
}

/** An option checked by one of fabra's own parsers (duration, cron, entity id, JSON value): its error is the problem. */
function parsedBy(parse: (value: unknown) => void) {
  const checked = z.unknown().superRefine((value, ctx) => {
    try {
      parse(value);
    } catch (err) {
      if (!(err instanceof FabraError)) throw err;
      const error =
        err.code === "INVALID_DEFINITION"
          ? err
          : new FabraError("INVALID_DEFINITION", err.message, { hint: err.hint, cause: err });
      ctx.addIssue({ code: "custom", message: error.message, params: { error } });
    }
  });
  return checked.optional();
}

const text = (example: string) => option(z.string(), (v) => `is ${shown(v)}, not a string`, `Use e.g. ${example}.`);
const nameOption = text('name: "user_tier", or leave it out to take the export name');
const descriptionOption = text('description: "what it is for"');
const isA = (v: unknown) => `is ${shown(v)}`;
const positiveInt = z.int().min(1);

function featureOptions(def: FeatureDef, name: string) {
  const at = (key: string) => `Feature ${name}: \`${key}\``;
  const fail = (key: string, said: string, hint: string) =>
    new FabraError("INVALID_DEFINITION", `${at(key)} ${said}`, { hint });
  const entityRef = z.union([z.string().min(1), z.looseObject({ kind: z.literal("entity") })]);
  return z.strictObject({
    name: nameOption,
    description: descriptionOption,
    entity: option(
      entityRef,
      (v) => `is ${shown(v)}, not an entity`,
      'Use entity: user (from entity("user")) or entity: "user".',
      true,
    ),
    refresh: parsedBy((v) => {
      if (typeof v !== "string" && typeof v !== "number")
        throw fail(
          "refresh",
          isA(v),
          'Use a duration ("30s", "5m", "1h", or ms) or a cron expression ("*/15 * * * *").',
        );
      refreshScheduleOf(def, name);
    }),
    ttl: parsedBy((v) => {
      const ms = typeof v === "string" || typeof v === "number" ? parseDuration(v, at("ttl")) : null;
      if (ms === null || ms <= 0)
        throw fail(
          "ttl",
          `is ${shown(v)}; it must be a duration longer than 0`,
          'Use e.g. ttl: "1h", or leave ttl out for values that never expire.',
        );
    }),
    materialize: option(z.boolean(), isA, "Use materialize: true or false."),
    entities: parsedBy((v) => {
      if (typeof v === "function") return;
      if (Array.isArray(v)) {
        v.forEach((id, i) => {
          if (entityIdOf(id) === null)
            throw fail(
              `entities[${i}]`,
              `is ${shown(id)}, not an entity id`,
              "Entity ids are non-empty strings (or whole numbers).",
            );
        });
        return;
      }
      const sql = typeof v === "object" && v !== null ? (v as { sql?: unknown }).sql : undefined;
      if (typeof sql !== "string" || sql.trim() === "") {
        throw fail(
          "entities",
          "is neither a list, { sql }, nor a function",
          'Use e.g. entities: ["u_1", "u_2"], entities: { sql: "SELECT id FROM users" }, or entities: async () => ids.',
        );
      }
    }),
    default: parsedBy((v) => void toJsonValue(v, at("default"))),
    triggers: option(
      z.array(z.string().regex(EVENT_TYPE_PATTERN)).min(1),
      (v) => `is ${shown(v)}; it must be a non-empty list of event types (letters, digits, underscores)`,
      'Use e.g. triggers: ["user_updated"].',
    ),
    history: parsedBy((v) => {
      parseHistoryOption(v, name);
      if (def.options.materialize === true)
        throw fail(
          "history",
          "reads a table you manage, and materialize: true writes fabra's own history",
          "Leave materialize out (the table is the history; reads still compute and cache), or leave history out.",
        );
    }),
  } satisfies Record<keyof FeatureOptions<unknown>, z.ZodType>);
}

function retrieverBody(def: RetrieverDef, name: string): FabraError[] {
  if (def.body === undefined || typeof def.body === "function") return [];
  return [
    new FabraError("INVALID_DEFINITION", `The body of retriever ${name} is not a function`, {
      hint: "Pass the body as retriever({ index }, async (query, { search }) => ...).",
    }),
  ];
}

function retrieverOptions(def: RetrieverDef) {
  return z.strictObject({
    name: nameOption,
    // a custom body may fetch chunks elsewhere, so only a plain retriever needs an index
    index: option(
      z.string().min(1),
      (v) => `is ${shown(v)}, not an index name`,
      'Name the vector index it searches: retriever({ index: "docs" }).',
      def.body === undefined,
    ),
    topK: option(positiveInt, (v) => `is ${shown(v)}; it must be a whole number of at least 1`, "Use e.g. topK: 5."),
    minSimilarity: option(
      z.number().min(-1).max(1),
      (v) => `is ${shown(v)}; it must be a cosine similarity from -1 to 1`,
      "Use e.g. minSimilarity: 0.3.",
    ),
  } satisfies Record<keyof RetrieverOptions, z.ZodType>);
}

/** A context's SLA option: a duration like 500ms, 30s, 5m, 1h. */
function durationOption(name: string, key: "freshnessSla" | "chunkFreshnessSla") {
  return parsedBy((v) => {
    if (typeof v !== "string" && typeof v !== "number") {
      throw new FabraError("INVALID_DEFINITION", `Context ${name}: \`${key}\` is ${shown(v)}, not a duration`, {
        hint: "Use a duration like 500ms, 30s, 5m, 1h.",
      });
    }
    parseDuration(v, `Context ${name}: \`${key}\``);
  });
}

function contextOptions(name: string) {
  return z.strictObject({
    name: nameOption,
    description: descriptionOption,
    maxTokens: option(
      positiveInt.nullable(),
      (v) => `is ${shown(v)}; it must be a whole number of at least 1`,
      "Use e.g. maxTokens: 4000, or leave it out for no budget.",
    ),
    freshnessSla: durationOption(name, "freshnessSla"),
    chunkFreshnessSla: durationOption(name, "chunkFreshnessSla"),
    freshnessPolicy: option(
      z.enum(["degrade", "fail"]),
      isA,
      'Use freshnessPolicy: "degrade" (serve and record the violation) or "fail".',
    ),
    budgetStrategy: option(
      z.enum(["drop", "backfill"]),
      isA,
      'Use budgetStrategy: "drop" (the default) or "backfill" (put back smaller dropped items that fit).',
    ),
    model: option(z.string().min(1), (v) => `is ${shown(v)}, not a model name`, 'Use e.g. model: "gpt-4o".'),
    separator: option(z.string(), (v) => `is ${shown(v)}, not a string`, 'Use e.g. separator: "\\n\\n".'),
    inputs: parsedBy((v) => {
      if (typeof v !== "object" || v === null || Array.isArray(v)) {
        throw new FabraError(
          "INVALID_DEFINITION",
          `Context ${name}: \`inputs\` is ${shown(v)}, not an object of input types`,
          {
            hint: 'Use e.g. inputs: { userId: "string", limit: "integer?" }.',
          },
        );
      }
      parseInputSpec(v as NonNullable<ContextOptions["inputs"]>, name);
    }),
  } satisfies Record<keyof ContextOptions, z.ZodType>);
}
