// Which unsigned records an operator accepts while a signing key is configured (issue: "signatures cannot be
// stripped"): those filed before a context id, or made before a time (the time a UUIDv7 context id carries).
import { FabraError } from "../errors.js";
import { datetimeToMs } from "./datetime.js";
import { contextIdTime, normalizeContextId } from "./id.js";

export type UnsignedCutoff =
  | { kind: "id"; before: string; text: string }
  | { kind: "time"; beforeMs: number; text: string };

/** Parses `ctx_<uuid>` (or a bare UUID) or an ISO-8601 datetime; INVALID_CONFIG naming `where` otherwise. */
export function parseUnsignedCutoff(text: string, where: string): UnsignedCutoff {
  const value = text.trim();
  try {
    return { kind: "id", before: normalizeContextId(value), text: value };
  } catch {
    // not an id: a datetime?
  }
  try {
    return { kind: "time", beforeMs: datetimeToMs(value), text: value };
  } catch {
    throw new FabraError("INVALID_CONFIG", `${where}=${JSON.stringify(text)} is neither a context id nor a datetime`, {
      hint: "Give the id of the first record that must be signed (ctx_...) or an ISO-8601 time (2026-03-01T00:00:00Z).",
    });
  }
}

/**
 * Whether an unsigned record filed under `contextId` is accepted: its id sorts before the cutoff id (UUIDv7 ids sort
 * in creation order), or the time in its id is before the cutoff time. An id that is not a UUIDv7 is never accepted.
 */
export function acceptsUnsigned(cutoff: UnsignedCutoff | null | undefined, contextId: string): boolean {
  if (!cutoff) return false;
  let id: string;
  try {
    id = normalizeContextId(contextId);
  } catch {
    return false;
  }
  if (id !== contextId) return false; // a row filed under a spelling other than the normal form is never let through
  if (cutoff.kind === "id") return contextIdTime(id) !== null && id < cutoff.before;
  const ms = contextIdTime(id);
  return ms !== null && ms < cutoff.beforeMs;
}
