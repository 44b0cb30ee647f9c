// Signing settings read as the Python implementation reads them (whitespace stripped, `hex:00 ff`, mode synonyms),
// several verification keys by id (rotation), signatures checked with the configured keys whatever signing_key_id
// says (the result names the key that matched), and unsigned records failing while a key is configured unless the
// operator's cutoff accepts them.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { verificationJson } from "../../src/api/verification.js";
import { resolveConfig } from "../../src/config/resolve.js";
import { parseSignatureMode, signingSettings, verificationSigning } from "../../src/config/signing.js";
import { Ledger } from "../../src/engine/ledger/ledger.js";
import { readRecordText, signRecord, verifyRecord } from "../../src/record/index.js";
import { parseSigningKey } from "../../src/record/sign.js";
import { acceptsUnsigned, parseUnsignedCutoff } from "../../src/record/unsigned-cutoff.js";
import type { RecordStore } from "../../src/stores/types.js";

const VECTORS = join(import.meta.dirname, "..", "fixtures", "crs-001");
const plain = () => readRecordText(readFileSync(join(VECTORS, "plain.json"), "utf8"));
const resolve = (env: NodeJS.ProcessEnv, config: Record<string, unknown> = {}) =>
  resolveConfig({ config, configPath: null, rootDir: "/proj" }, env, "/proj").signing;

describe("signing keys as Python reads them", () => {
  it("strips whitespace around the key and its id (a mounted secret's trailing newline)", () => {
    const padded = verificationSigning(resolve({ FABRA_SIGNING_KEY: "  s3cret\n", FABRA_SIGNING_KEY_ID: " k1 \n" }));
    expect(padded.key).toEqual({ id: "k1", secret: Buffer.from("s3cret") });
    const signed = signRecord(plain(), parseSigningKey("s3cret", "k1"));
    expect(verifyRecord(signed, { signingKey: padded.key }).ok).toBe(true);
  });

  it("hex: with spaces between byte pairs, as bytes.fromhex; a split pair is refused", () => {
    expect(parseSigningKey("hex:00 ff\t0a\n").secret).toEqual(Buffer.from([0, 255, 10]));
    expect(parseSigningKey(" hex:00ff ").secret).toEqual(Buffer.from([0, 255]));
    expect(() => parseSigningKey("hex:0 0ff")).toThrow(/not valid hex/);
    expect(parseSigningKey("base64:AAH/\n").secret).toEqual(Buffer.from([0, 1, 255]));
  });

  it("mode: stripped, any case, unambiguous synonyms; anything else is a clear error", () => {
    expect(parseSignatureMode(" Required\n")).toBe("required");
    expect(parseSignatureMode("OPTIONAL")).toBe("optional");
    expect(parseSignatureMode("none")).toBe("off");
    expect(parseSignatureMode("disabled")).toBe("off");
    expect(parseSignatureMode("strict")).toBe("required");
    expect(parseSignatureMode("  ")).toBeUndefined();
    expect(() => parseSignatureMode("sometimes")).toThrow(
      expect.objectContaining({ code: "INVALID_CONFIG", message: expect.stringContaining("FABRA_SIGNATURE_MODE") }),
    );
    expect(resolve({ FABRA_SIGNATURE_MODE: " off " }).mode).toBe("off");
  });

  it("FABRA_SIGNING_KEYS gives several keys by id; FABRA_SIGNING_KEY_ID may pick the one to sign with", () => {
    const s = verificationSigning(
      resolve({ FABRA_SIGNING_KEYS: "old:hex:0102, new:base64:AwQ=", FABRA_SIGNING_KEY_ID: "new" }),
    );
    expect(s.key).toEqual({ id: "new", secret: Buffer.from([3, 4]) });
    expect(s.keys.map((k) => k.id)).toEqual(["old", "new"]);
    expect(() => resolve({ FABRA_SIGNING_KEYS: "nokey" })).toThrow(/entry 1 is not id:key/);
    expect(() => verificationSigning(resolve({ FABRA_SIGNING_KEY: "a", FABRA_SIGNING_KEYS: "default:b" }))).toThrow(
      /Two different signing keys have the id "default"/,
    );
    // Only verification keys, none named to sign with: required mode cannot write records.
    expect(() =>
      signingSettings({ signing: resolve({ FABRA_SIGNING_KEYS: "old:x", FABRA_SIGNATURE_MODE: "required" }) }),
    ).toThrow(/Signing is required/);
  });
});

describe("signatures checked with the configured keys", () => {
  const old = parseSigningKey("old-secret", "old");
  const current = parseSigningKey("new-secret", "new");

  it("a valid signature passes whatever signing_key_id says, and the result names the key it matched", () => {
    const signed = signRecord(plain(), old);
    const renamed = { ...signed, integrity: { ...signed.integrity, signing_key_id: "something-else" } };
    const result = verifyRecord(renamed, { signingKey: current, signingKeys: [old] });
    expect(result.ok).toBe(true);
    const check = result.checks.find((c) => c.name === "signature");
    expect(check?.keyId).toBe("old");
    expect(verificationJson(result).checks.find((c) => c.name === "signature")).toMatchObject({ key_id: "old" });
    // The same record under the new key alone does not verify.
    expect(verifyRecord(renamed, { signingKey: current }).failed).toMatchObject({
      name: "signature",
      actual: expect.stringContaining("does not match any configured key: new"),
    });
  });
});

describe("an unsigned record while a key is configured", () => {
  const record = plain(); // ctx_0190a1b2-...-000000000001, unsigned; its id's time is 2024-07-11
  const store = {
    get: async () => null,
  } as unknown as RecordStore;
  const ledger = (env: NodeJS.ProcessEnv, config: Record<string, unknown> = {}) =>
    new Ledger({ records: () => store, signing: () => verificationSigning(resolve(env, config)) });

  it("fails in mode optional (a stripped signature is not a pass), passes with no key", () => {
    expect(verifyRecord(record, ledger({ FABRA_SIGNING_KEY: "k" }).verifyOptions).failed).toMatchObject({
      name: "signature",
      actual: "none",
    });
    expect(verifyRecord(record, ledger({}).verifyOptions).ok).toBe(true);
  });

  it("passes when filed before the operator's cutoff (an id or a time), from config or the environment", () => {
    const byTime = ledger({ FABRA_SIGNING_KEY: "k", FABRA_ACCEPT_UNSIGNED_BEFORE: "2025-01-01T00:00:00Z" });
    const ok = verifyRecord(record, byTime.verifyOptions);
    expect(ok.ok).toBe(true);
    expect(ok.checks.find((c) => c.name === "signature")?.skipped).toMatch(/unsigned, accepted: filed before 2025/);
    const byId = ledger(
      { FABRA_SIGNING_KEY: "k" },
      { signing: { acceptUnsignedBefore: "ctx_0190a1b2-0000-7000-8000-000000000001" } },
    );
    expect(verifyRecord(record, byId.verifyOptions).ok).toBe(false); // strictly before: the id itself is not
    const tooEarly = ledger({ FABRA_SIGNING_KEY: "k", FABRA_ACCEPT_UNSIGNED_BEFORE: "2024-01-01T00:00:00Z" });
    expect(verifyRecord(record, tooEarly.verifyOptions).ok).toBe(false);
  });

  it("a cutoff that is neither an id nor a time is a config error; odd row ids are never accepted", () => {
    expect(() => verificationSigning(resolve({ FABRA_ACCEPT_UNSIGNED_BEFORE: "yesterday" }))).toThrow(
      /neither a context id nor a datetime/,
    );
    const cutoff = parseUnsignedCutoff("2030-01-01T00:00:00Z", "test");
    expect(acceptsUnsigned(cutoff, "ctx_0190a1b2-0000-7000-8000-000000000001")).toBe(true);
    expect(acceptsUnsigned(cutoff, "CTX_0190A1B2-0000-7000-8000-000000000001")).toBe(false);
    expect(acceptsUnsigned(cutoff, "ctx_0190a1b2-0000-4000-8000-000000000001")).toBe(false); // not a UUIDv7
    expect(acceptsUnsigned(cutoff, "not an id")).toBe(false);
  });
});
