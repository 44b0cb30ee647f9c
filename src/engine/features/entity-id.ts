// Entity ids, the same rule everywhere (feature.get, getFeatures, HTTP, the CLI, materialize's entity sources): a
// non-empty string, or a whole number taken as its decimal string (`123` and `"123"` are the same entity).
import { FabraError } from "../../errors.js";

/** The entity id `value` stands for, or null when it is none (empty string, fraction, object, ...). */
export function entityIdOf(value: unknown): string | null {
  if (typeof value === "string") return value === "" ? null : value;
  if (typeof value === "number") return Number.isSafeInteger(value) ? String(value) : null;
  if (typeof value === "bigint") return String(value);
  return null;
}

/** The entity id, or INVALID_ARGUMENT naming `where` (e.g. "the entity id of feature userTier"). */
export function requireEntityId(value: unknown, where: string): string {
  const id = entityIdOf(value);
  if (id !== null) return id;
  const shown =
    typeof value === "string"
      ? '"" (empty)'
      : (JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v)) ?? String(value));
  throw new FabraError("INVALID_ARGUMENT", `${where} is ${shown}, not an entity id`, {
    hint: "Entity ids are non-empty strings (or whole numbers, read as their decimal string).",
  });
}
