// CRS-001 datetimes (rule 6): fabra writes UTC, `YYYY-MM-DDTHH:MM:SSZ` plus `.ffffff` only when the sub-second part is
// not zero; a record read from another writer keeps its own offset (or none), normalized as pydantic writes it
// (recordDatetime). Microsecond precision is kept (JS Date has only milliseconds), so parsing and formatting work on
// whole seconds since the epoch plus a microsecond remainder.
// Hand-written on purpose: Date and date libraries keep milliseconds only and accept forms CRS-001 refuses.
import { FabraError } from "../errors.js";

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

/** A UTC instant at microsecond precision. */
interface Instant {
  /** Whole seconds since 1970-01-01T00:00:00Z. */
  seconds: number;
  /** 0..999999 */
  micros: number;
}

function invalid(input: string, field: string): FabraError {
  return new FabraError("INVALID_RECORD", `${field}: ${JSON.stringify(input)} is not an ISO-8601 datetime`, {
    hint: "Use a form like 2026-03-01T09:15:02.123Z or 2026-03-01T09:15:02+00:00.",
  });
}

/** A datetime as its writer spelled it: the wall-clock fields, and the offset (null when naive). */
interface Spelled {
  /** Whole seconds since 1970-01-01T00:00:00 of the wall-clock fields, read as if they were UTC. */
  wallSeconds: number;
  micros: number;
  /** Minutes east of UTC; null for a naive datetime. */
  offsetMinutes: number | null;
}

/** Parses ISO-8601 text (any offset, any number of fractional digits; naive means UTC). */
function parseInstant(input: string, field = "datetime"): Instant {
  const t = parseSpelled(input, field);
  return { seconds: t.wallSeconds - (t.offsetMinutes ?? 0) * 60, micros: t.micros };
}

/** Parses ISO-8601 text, keeping the offset it was written with. */
function parseSpelled(input: string, field: string): Spelled {
  const m = ISO.exec(input.trim());
  if (!m) throw invalid(input, field);
  const [, y, mo, d, h = "0", mi = "0", s = "0", frac = "", tz] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  if (
    month < 1 ||
    month > 12 ||
    day < 1 ||
    hour > 23 ||
    minute > 59 ||
    second > 59 ||
    date.getUTCDate() !== day ||
    date.getUTCMonth() !== month - 1
  ) {
    throw invalid(input, field);
  }
  let offsetMinutes: number | null = tz ? 0 : null;
  if (tz && tz !== "Z" && tz !== "z") {
    const sign = tz[0] === "-" ? -1 : 1;
    const digits = tz.slice(1).replace(":", "");
    const oh = Number(digits.slice(0, 2));
    const om = Number(digits.slice(2) || "0");
    if (oh > 23 || om > 59) throw invalid(input, field);
    offsetMinutes = sign * (oh * 60 + om);
  }
  // Digits beyond microseconds are truncated, as Python's fromisoformat does.
  const micros = Number((frac + "000000").slice(0, 6));
  return { wallSeconds: date.getTime() / 1000, micros, offsetMinutes };
}

/** Formats an instant in CRS-001 normal form. */
function formatInstant(t: Instant): string {
  const date = new Date(t.seconds * 1000);
  const year = date.getUTCFullYear();
  if (year < 1 || year > 9999) {
    throw new FabraError("INVALID_RECORD", `datetime year ${year} is out of range`, {
      hint: "Years run from 0001 to 9999.",
    });
  }
  const p2 = (n: number) => String(n).padStart(2, "0");
  const base =
    `${String(year).padStart(4, "0")}-${p2(date.getUTCMonth() + 1)}-${p2(date.getUTCDate())}` +
    `T${p2(date.getUTCHours())}:${p2(date.getUTCMinutes())}:${p2(date.getUTCSeconds())}`;
  return t.micros === 0 ? `${base}Z` : `${base}.${String(t.micros).padStart(6, "0")}Z`;
}

/**
 * A record's datetime as CRS-001 rule 6 hashes it: the writer's own spelling normalized as pydantic writes it. UTC
 * (`Z`, `+00:00`, `-00:00`) as `Z`, any other offset kept as `±HH:MM`, a naive datetime kept naive, the fraction as
 * six digits (extra digits truncated) or none when zero; never converted to another offset.
 */
export function recordDatetime(input: string, field = "datetime"): string {
  const t = parseSpelled(input, field);
  const wall = formatInstant({ seconds: t.wallSeconds, micros: t.micros }).slice(0, -1); // without the Z
  if (t.offsetMinutes === null) return wall;
  if (t.offsetMinutes === 0) return `${wall}Z`;
  const abs = Math.abs(t.offsetMinutes);
  const p2 = (n: number) => String(n).padStart(2, "0");
  return `${wall}${t.offsetMinutes < 0 ? "-" : "+"}${p2(Math.floor(abs / 60))}:${p2(abs % 60)}`;
}

/** Normalizes any accepted ISO-8601 text to CRS-001 normal form (UTC), as fabra writes it. */
export function normalizeDatetime(input: string, field = "datetime"): string {
  return formatInstant(parseInstant(input, field));
}

/** A JS Date or epoch milliseconds in normal form. */
export function toDatetime(when: Date | number): string {
  const ms = typeof when === "number" ? when : when.getTime();
  if (!Number.isFinite(ms))
    throw new FabraError("INVALID_ARGUMENT", "Invalid date", { hint: "Pass a valid Date or epoch milliseconds." });
  const whole = Math.floor(ms);
  const seconds = Math.floor(whole / 1000);
  return formatInstant({
    seconds,
    micros: (whole - seconds * 1000) * 1000 + Math.min(999, Math.round((ms - whole) * 1000)),
  });
}

/** Now, in normal form. */
export function nowDatetime(): string {
  return toDatetime(Date.now());
}

let lastInput = "";
let lastMs = 0;

/** Epoch milliseconds of a normal-form (or any ISO) datetime; sub-millisecond digits become a fraction. */
export function datetimeToMs(input: string): number {
  // Hot reads convert the same as_of again and again (a cached feature's freshness): remember the last one.
  if (input === lastInput) return lastMs;
  const t = parseInstant(input);
  const ms = t.seconds * 1000 + t.micros / 1000;
  lastInput = input;
  lastMs = ms;
  return ms;
}

/** Microseconds since the epoch (what databases store) → normal form. */
export function fromEpochMicros(us: bigint | number): string {
  const total = BigInt(us);
  let seconds = total / 1_000_000n;
  let micros = total % 1_000_000n;
  if (micros < 0n) {
    micros += 1_000_000n;
    seconds -= 1n;
  }
  return formatInstant({ seconds: Number(seconds), micros: Number(micros) });
}

/** Normal form (or any ISO text) → microseconds since the epoch. */
export function toEpochMicros(input: string): bigint {
  const t = parseInstant(input);
  return BigInt(t.seconds) * 1_000_000n + BigInt(t.micros);
}

const NORMAL_FORM = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.(\d{6}))?Z$/;

/**
 * Microseconds since the epoch of text already in normal form, or null when it is not exactly normal form (then use
 * toEpochMicros / normalizeDatetime). A fast path for bulk work: a fraction of the cost of the general parser.
 */
export function normalFormMicros(text: string): bigint | null {
  const m = NORMAL_FORM.exec(text);
  if (!m || m[1] === "000000") return null;
  const ms = Date.parse(`${text.slice(0, 19)}Z`);
  // Date.parse rolls 02-30 over to 03-02 and takes 24:00: only a date that prints back the same is normal form.
  if (!Number.isFinite(ms) || !new Date(ms).toISOString().startsWith(text.slice(0, 19))) return null;
  return BigInt(ms) * 1000n + BigInt(m[1] ?? 0);
}
