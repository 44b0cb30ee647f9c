// The public surface of `fabra/record`: one verifier API (verifyRecord, verifyStored, readRecordText), the fast byte
// path private to it, one JSON module, and none of the exports that had no caller.
import { describe, expect, it } from "vitest";
import * as pkg from "../../src/index.js";
import * as record from "../../src/record/index.js";

describe("fabra/record", () => {
  it("has one verifier API and keeps its parts private", () => {
    expect(
      Object.keys(record)
        .filter((name) => /^verify/i.test(name))
        .sort(),
    ).toEqual(["verifyRecord", "verifyStored"]);
    expect(typeof record.readRecordText).toBe("function");
    for (const name of [
      "verifyStoredFast",
      "verifyStoredFull",
      "verifyResult",
      "failRecordHash",
      "closingQuote",
      "unescapeUtf8",
    ]) {
      expect(record, name).not.toHaveProperty(name);
    }
  });

  it("exports no removed helper", () => {
    for (const name of [
      "parseJsonAt",
      "integrityFromJson",
      "verifyRecordText",
      "verifyCanonicalText",
      "verifyCanonicalBytes",
      "parseInstant",
      "formatInstant",
    ]) {
      expect(record, name).not.toHaveProperty(name);
      expect(pkg, name).not.toHaveProperty(name);
    }
  });

  it("has the lossless JSON module's reader and writer, and sealing", () => {
    const value = record.parseJson('{"a":12.0,"b":12345678901234567890}');
    expect(record.toJsonText(value)).toBe('{"a":12.0,"b":12345678901234567890}');
    expect(typeof record.sealRecord).toBe("function");
  });

  it("is what the package root re-exports for verification", () => {
    expect(pkg.verifyRecord).toBe(record.verifyRecord);
    expect(pkg.verifyStored).toBe(record.verifyStored);
    expect(pkg.readRecordText).toBe(record.readRecordText);
  });
});
