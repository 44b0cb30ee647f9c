// Context ids: `ctx_` + a UUIDv7 (RFC 9562), time-ordered and monotonic within a millisecond.
import { randomFillSync } from "node:crypto";
import { FabraError } from "../errors.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let lastMs = -1;
let counter = 0; // the 12-bit rand_a field, used as a counter within one millisecond (RFC 9562, method 1)

/** A new `ctx_<UUIDv7>`; ids made in this process sort in creation order. */
export function newContextId(now: number = Date.now()): string {
  let ms = Math.max(now, lastMs);
  if (ms === lastMs) {
    counter++;
    if (counter > 0xfff) {
      ms++; // counter exhausted: borrow the next millisecond, as the RFC allows
      counter = randomCounterStart();
    }
  } else {
    counter = randomCounterStart();
  }
  lastMs = ms;

  const bytes = new Uint8Array(16);
  bytes.set(randomBytes(8), 8);
  const hi = Math.floor(ms / 2 ** 16);
  const lo = ms % 2 ** 16;
  bytes[0] = (hi >>> 24) & 0xff;
  bytes[1] = (hi >>> 16) & 0xff;
  bytes[2] = (hi >>> 8) & 0xff;
  bytes[3] = hi & 0xff;
  bytes[4] = (lo >>> 8) & 0xff;
  bytes[5] = lo & 0xff;
  bytes[6] = 0x70 | (counter >>> 8);
  bytes[7] = counter & 0xff;
  bytes[8] = 0x80 | ((bytes[8] as number) & 0x3f);
  const hex = Buffer.from(bytes).toString("hex");
  return `ctx_${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// Start each millisecond's counter in the lower half so many ids fit before it overflows.
function randomCounterStart(): number {
  const b = randomBytes(2);
  return (((b[0] as number) << 8) | (b[1] as number)) & 0x7ff;
}

/**
 * Random bytes are taken from a pool filled by the CSPRNG POOL_BYTES at a time, as Node's randomUUID does: a
 * randomFillSync call per id (two in a new millisecond) cost more than the rest of the id (~2% of a served
 * assembly's CPU). Each byte is handed out once.
 */
const POOL_BYTES = 4096;
const pool = new Uint8Array(POOL_BYTES);
let poolOffset = POOL_BYTES;

/** The next `n` (at most POOL_BYTES) unused random bytes, valid until the next call. */
function randomBytes(n: number): Uint8Array {
  if (poolOffset + n > POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const taken = pool.subarray(poolOffset, poolOffset + n);
  poolOffset += n;
  return taken;
}

/** Accepts `ctx_<uuid>` or a bare uuid (any case) and returns `ctx_<lowercase uuid>`. */
export function normalizeContextId(input: string): string {
  const raw = input.trim().toLowerCase();
  const uuid = raw.startsWith("ctx_") ? raw.slice(4) : raw;
  if (!UUID.test(uuid)) {
    throw new FabraError("INVALID_ID", `${JSON.stringify(input)} is not a context id`, {
      hint: "Context ids look like ctx_0190a1b2-0000-7000-8000-000000000001 (the bare UUID works too); `fabra context list` shows recent ones.",
    });
  }
  return `ctx_${uuid}`;
}

/** Whether `id` is already in the one form ids are stored in: `ctx_` + a lowercase UUID, nothing around it. */
export function isNormalContextId(id: string): boolean {
  return id.startsWith("ctx_") && UUID.test(id.slice(4));
}

/**
 * Refuses an id that is not in normal form (`CTX_…`, a trailing space, uppercase hex): a record filed under such an
 * id would be a twin of the record under its normal form. `where` names the record (a file, a row, a request).
 */
export function requireNormalContextId(id: string, where: string): string {
  if (isNormalContextId(id)) return id;
  let normal: string | null = null;
  try {
    normal = normalizeContextId(id);
  } catch {
    // not an id at all
  }
  throw new FabraError("INVALID_ID", `${where}: context id ${JSON.stringify(id)} is not in normal form`, {
    hint: normal
      ? `Records are filed under ctx_ + a lowercase UUID (${normal}); a record under any other spelling would be a twin of that one. Nothing was written.`
      : "Context ids look like ctx_0190a1b2-0000-7000-8000-000000000001. Nothing was written.",
    details: { contextId: id, ...(normal ? { normalForm: normal } : {}) },
  });
}

/** The creation time encoded in a UUIDv7 context id, in epoch milliseconds (null for other UUID versions). */
export function contextIdTime(contextId: string): number | null {
  const hex = normalizeContextId(contextId).slice(4).replace(/-/g, "");
  if (hex[12] !== "7") return null;
  return parseInt(hex.slice(0, 12), 16);
}
