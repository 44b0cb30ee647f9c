// Records the Python implementation writes read and hash here (issue 11): datetimes in the writer's own spelling
// (rule 6), any environment string, integers of any size in int fields, `-0` as the integer 0, integers >= 1e21 in
// full digits, `__proto__` kept as data (never a prototype), and lone surrogates made well-formed or refused.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkInputs } from "../../src/define/inputs.js";
import {
  canonicalJson,
  canonicalRecordText,
  parseJson,
  readRecordText,
  sealRecord,
  toJsonText,
  verifyRecord,
  verifyStored,
} from "../../src/record/index.js";
import { normalizeDatetime, recordDatetime } from "../../src/record/datetime.js";
import { toPlain } from "../../src/record/json.js";
import { toJsonValue } from "../../src/record/values.js";

const VECTORS = join(import.meta.dirname, "..", "fixtures", "crs-001");
const plainText = () => readFileSync(join(VECTORS, "plain.json"), "utf8");

describe("datetimes keep the writer's spelling, normalized as pydantic writes it", () => {
  it.each([
    ["2026-03-01T14:45:00+05:30", "2026-03-01T14:45:00+05:30"],
    ["2026-03-01T14:45:00+0530", "2026-03-01T14:45:00+05:30"],
    ["2026-03-01T09:15:00", "2026-03-01T09:15:00"],
    ["2026-03-01T09:15:00.5", "2026-03-01T09:15:00.500000"],
    ["2026-03-01T09:15:00.1234567-08:00", "2026-03-01T09:15:00.123456-08:00"],
    ["2026-03-01T09:15:00.000000+00:00", "2026-03-01T09:15:00Z"],
    ["2026-03-01T09:15:00-00:00", "2026-03-01T09:15:00Z"],
    ["2026-03-01T09:15:00.123000z", "2026-03-01T09:15:00.123000Z"],
  ])("%s → %s", (given, normalized) => {
    expect(recordDatetime(given)).toBe(normalized);
  });

  it("fabra's own normal form stays UTC", () => {
    expect(normalizeDatetime("2026-03-01T14:45:00+05:30")).toBe("2026-03-01T09:15:00Z");
    expect(() => recordDatetime("2026-02-30T00:00:00")).toThrow(/not an ISO-8601 datetime/);
  });

  it("a record with offset and naive datetimes verifies when sealed over that spelling, and only then", () => {
    const record = readRecordText(plainText());
    const local = {
      ...record,
      created_at: "2026-03-01T14:45:00+05:30",
      features: record.features.map((f) => ({ ...f, as_of: "2026-03-01T09:15:00" })),
    };
    const { canonicalText } = sealRecord(local);
    const read = readRecordText(canonicalText);
    expect(read.created_at).toBe("2026-03-01T14:45:00+05:30");
    expect(verifyRecord(read).ok).toBe(true);
    expect(verifyStored(canonicalText, read.context_id).ok).toBe(true);
    // The same instant spelled in UTC is another record (Python hashes the spelling).
    const utc = canonicalText.replace('"2026-03-01T14:45:00+05:30"', '"2026-03-01T09:15:00Z"');
    expect(verifyRecord(readRecordText(utc)).ok).toBe(false);
  });
});

describe("fields Python fills freely", () => {
  it("environment is any string", () => {
    const text = plainText().replace(/"environment": ?"[a-z]+"/, '"environment": "ci"');
    expect(readRecordText(text).environment).toBe("ci");
  });

  it("int fields take integers of any size, and integral floats (as pydantic coerces them)", () => {
    const record = readRecordText(plainText().replace(/"token_count": ?\d+/, '"token_count": 123456789012345678901'));
    expect(record.token_count).toBe(123456789012345678901n);
    expect(canonicalRecordText(record)).toContain('"token_count":123456789012345678901');
    const coerced = readRecordText(plainText().replace(/"token_count": ?\d+/, '"token_count": 12.0'));
    expect(coerced.token_count).toBe(12);
  });
});

describe("integers", () => {
  it("the integer literal -0 is the integer 0, written 0; -0.0 stays a float", () => {
    expect(canonicalJson(parseJson('{"a":-0,"b":-0.0,"c":[-0]}'))).toBe('{"a":0,"b":-0.0,"c":[0]}');
    expect(canonicalJson(-0)).toBe("0");
  });

  it("JS integers >= 1e21 are written as integers, never 1e+21", () => {
    expect(canonicalJson(1e21)).toBe("1000000000000000000000");
    expect(canonicalJson(-2e22)).toBe("-20000000000000000000000");
    expect(toJsonText({ n: 1e21, m: 5 })).toBe('{"n":1000000000000000000000,"m":5}');
    expect(canonicalJson(1.5e21 + 0.5)).toBe("1500000000000000000000"); // integral in double precision
  });
});

describe("__proto__ keys are data", () => {
  const parsed = JSON.parse('{"query":"q","__proto__":{"userId":"u_1"}}') as Record<string, unknown>;

  it("are kept in feature values and inputs, never set a prototype", () => {
    const value = toJsonValue(parsed, "value");
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value as object)).toEqual(["query", "__proto__"]);
    expect((value as Record<string, unknown>).userId).toBeUndefined();
    expect(canonicalJson(value)).toBe('{"__proto__":{"userId":"u_1"},"query":"q"}');
    const plain = toPlain(parseJson('{"__proto__":{"x":1}}')) as Record<string, unknown>;
    expect(Object.keys(plain)).toEqual(["__proto__"]);
    expect(plain.x).toBeUndefined();
  });

  it("do not pass a declared-input check, whether kept as data or set as a prototype", () => {
    const spec = { query: "string", userId: "string" } as const;
    expect(() => checkInputs(spec, "chat", parsed)).toThrow(/missing input "userId"/);
    const inherited = Object.assign(Object.create({ userId: "u_1" }) as Record<string, unknown>, { query: "q" });
    expect(() => checkInputs(spec, "chat", inherited)).toThrow(/missing input "userId"/);
    expect(() => checkInputs({ query: "string" }, "chat", parsed)).toThrow(/has no input "__proto__"/);
  });
});

describe("lone surrogates in content", () => {
  it("a record whose content has one is refused when read (no implementation can hash it faithfully)", () => {
    const text = plainText().replace(/"content": ?"[^"]*"/, '"content": "a\\ud800b"');
    expect(() => readRecordText(text)).toThrow(/well-formed Unicode/);
  });

  it("sealing refuses one (assembly makes content well-formed first)", () => {
    const record = readRecordText(plainText());
    expect(() => sealRecord({ ...record, content: "x\udc00" })).toThrow(/lone surrogate/);
  });
});

describe("a record with a huge int field in the ledger", () => {
  it("its indexed token_count column is clamped; the stored text keeps the exact integer", async () => {
    const { recordToRow } = await import("../../src/engine/ledger/rows.js");
    const record = readRecordText(plainText().replace(/"token_count": ?\d+/, '"token_count": 1180591620717411303424'));
    const row = recordToRow(record);
    expect(row.tokenCount).toBe(Number.MAX_SAFE_INTEGER);
    expect(row.canonicalText).toContain('"token_count":1180591620717411303424');
    expect(row.createdAt).toBe("2026-03-01T09:15:02.123000Z");
  });
});
