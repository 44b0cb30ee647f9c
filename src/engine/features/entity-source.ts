// Where materialization finds entity ids: the feature's declared source (a list, `{ sql }` run against the offline
// store, or a function returning ids, sync or async), or an entities file given on the command line.
import { readFile, stat } from "node:fs/promises";
import { extname } from "node:path";
import type { EntitySource, FeatureDef } from "../../define/feature.js";
import { FabraError } from "../../errors.js";
import type { OfflineStore } from "../../stores/types.js";
import { readCsvText } from "../../io/read-csv.js";
import { entityIdOf } from "./entity-id.js";

/** Entity ids to materialize; `total` is known for lists and queries, not for generators. */
export interface EntityList {
  ids: Iterable<string> | AsyncIterable<string>;
  total: number | null;
  /** Names the source in messages: "entities list", "entities query", "entities file x.csv". */
  origin: string;
}

/** The ids a feature declares. A feature without a source is a definition error (unless a file is given). */
export async function featureEntities(def: FeatureDef, name: string, offline: OfflineStore): Promise<EntityList> {
  const source: EntitySource | undefined = def.options.entities;
  if (source === undefined) {
    throw new FabraError("INVALID_DEFINITION", `Feature ${name} has no entities to materialize`, {
      hint: "Give the feature `entities` (a list, { sql }, or a function returning ids), or pass --entities FILE.",
    });
  }
  if (Array.isArray(source))
    return {
      ids: source.map((id, i) => checkId(id, `${name}.entities[${i}]`)),
      total: source.length,
      origin: "entities list",
    };
  if (typeof source === "function") {
    let produced: Iterable<unknown> | AsyncIterable<unknown>;
    try {
      produced = await source();
    } catch (err) {
      throw new FabraError(
        "FEATURE_COMPUTE_FAILED",
        `The entities function of ${name} failed: ${(err as Error).message ?? String(err)}`,
        {
          hint: "Fix the function given as `entities` of the feature.",
          cause: err,
        },
      );
    }
    if (Array.isArray(produced))
      return {
        ids: produced.map((id, i) => checkId(id, `${name} entities[${i}]`)),
        total: produced.length,
        origin: "entities function",
      };
    if (!isIterable(produced)) {
      throw new FabraError(
        "INVALID_DEFINITION",
        `The entities function of ${name} returned ${typeof produced}, not a list or an iterable of ids`,
        {
          hint: "Return an array, a Set, a generator or an async generator of entity ids.",
        },
      );
    }
    return { ids: checkedIds(produced, name), total: null, origin: "entities function" };
  }
  if (typeof source === "object" && source !== null && typeof (source as { sql?: unknown }).sql === "string") {
    const ids = await offline.queryEntityIds((source as { sql: string }).sql).catch((err: unknown) => {
      throw err instanceof FabraError && err.code === "INVALID_DEFINITION"
        ? new FabraError(err.code, `${name}: ${err.message}`, { hint: err.hint, cause: err, details: err.details })
        : err;
    });
    return { ids, total: ids.length, origin: "entities query" };
  }
  throw new FabraError("INVALID_DEFINITION", `The entities of ${name} are neither a list, { sql }, nor a function`, {
    hint: 'Use e.g. entities: ["u_1", "u_2"], entities: { sql: "SELECT id FROM users" }, or entities: async () => ids.',
  });
}

function isIterable(v: unknown): v is Iterable<unknown> | AsyncIterable<unknown> {
  return typeof v === "object" && v !== null && (Symbol.iterator in v || Symbol.asyncIterator in v);
}

async function* checkedIds(ids: Iterable<unknown> | AsyncIterable<unknown>, name: string): AsyncIterable<string> {
  let i = 0;
  for await (const id of ids) yield checkId(id, `${name} entities[${i++}]`);
}

function checkId(id: unknown, where: string): string {
  const entityId = entityIdOf(id);
  if (entityId !== null) return entityId;
  throw new FabraError("INVALID_DEFINITION", `${where} is ${JSON.stringify(id) ?? String(id)}, not an entity id`, {
    hint: "Entity ids are non-empty strings (or whole numbers).",
  });
}

/**
 * Ids from a file: one per line (blank lines and `#` comments skipped), or a CSV with a header (`.csv`, or a first
 * line with a comma) whose entity column is `column`, else `entity_id`, `<entity>_id`, `<entity>`, `id`, or its only column.
 */
export async function readEntitiesFile(
  path: string,
  options: { column?: string; entity?: string } = {},
): Promise<string[]> {
  let text: string;
  try {
    const info = await stat(path);
    if (info.isDirectory())
      throw new FabraError("FILE_UNREADABLE", `The entities file ${path} is a directory`, {
        hint: "Pass a file with one entity id per line, or a CSV.",
      });
    text = await readFile(path, "utf8");
  } catch (err) {
    if (err instanceof FabraError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT")
      throw new FabraError("FILE_NOT_FOUND", `No such entities file: ${path}`, {
        hint: "Check the path given to --entities.",
      });
    throw new FabraError("FILE_UNREADABLE", `Cannot read the entities file ${path}: ${(err as Error).message}`, {
      hint: "Check the file's permissions.",
      cause: err,
    });
  }
  const firstLine = text.slice(0, text.search(/\r?\n|$/));
  const isCsv = extname(path).toLowerCase() === ".csv" || firstLine.includes(",") || options.column !== undefined;
  const ids = isCsv ? await csvIds(path, options) : lineIds(text);
  if (ids.length === 0)
    throw new FabraError("INVALID_ARGUMENT", `The entities file ${path} has no entity ids`, {
      hint: "Put one entity id per line.",
    });
  return ids;
}

function lineIds(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
}

async function csvIds(path: string, options: { column?: string; entity?: string }): Promise<string[]> {
  const { columns: names, rows } = await readCsvText(path, "the entities file");
  const entity = options.entity;
  const candidates =
    options.column !== undefined ? [options.column] : ["entity_id", ...(entity ? [`${entity}_id`, entity] : []), "id"];
  const index =
    candidates.map((c) => names.indexOf(c)).find((i) => i >= 0) ??
    (options.column === undefined && names.length === 1 ? 0 : -1);
  if (index < 0) {
    throw new FabraError(
      "INVALID_ARGUMENT",
      `The entities file ${path} has no column ${candidates.map((c) => JSON.stringify(c)).join(" or ")} (its columns: ${names.join(", ")})`,
      {
        hint: "Name the column with --entity-column, or use a file with one id per line.",
      },
    );
  }
  const ids: string[] = [];
  rows.forEach((row, i) => {
    if (names.length === 1 && row[0] === null) return; // a blank line (DuckDB skips those of wider files itself)
    const id = (row[index] ?? "").trim();
    if (id === "")
      throw new FabraError("INVALID_ARGUMENT", `${path} row ${i + 1}: the entity column "${names[index]}" is empty`, {
        hint: "Every row needs an entity id.",
      });
    ids.push(id);
  });
  return ids;
}
