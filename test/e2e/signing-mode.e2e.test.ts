// With `signing: { mode: "required" }` in the config file (and FABRA_SIGNING_KEY set), every command that verifies
// fails an unsigned record the same way: verify <id>, verify --all, verify --file, show, diff, export, import, replay
// (exit 1, the signature check failing with "none"), and the demo verifies with the signing settings too.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { canonicalRecordText, readRecordText } from "../../src/record/index.js";
import { parseSigningKey, signRecord } from "../../src/record/sign.js";
import { runInProcess } from "../helpers/cli-in-process.js";

const VECTORS = join(import.meta.dirname, "..", "fixtures", "crs-001");
const KEY = "e2e-signing-secret";
const UNSIGNED = "ctx_0190a1b2-0000-7000-8000-000000000001"; // plain.json: no signature
const SIGNED = "ctx_0190a1b2-0000-7000-8000-000000000002"; // features_unicode_numbers.json, signed below with KEY

function project(mode: "required" | "optional" = "required") {
  const dir = mkdtempSync(join(tmpdir(), "fabra-signing-e2e-"));
  writeFileSync(
    join(dir, "fabra.config.json"),
    JSON.stringify({ signing: { mode }, stores: { offline: { type: "duckdb", path: "fabra.duckdb" } } }),
  );
  // FABRA_SIGNATURE_MODE is empty, so the config file's mode is the one in force.
  const env = {
    HOME: dir,
    NO_COLOR: "1",
    FABRA_SIGNING_KEY: KEY,
    FABRA_SIGNING_KEY_ID: "",
    FABRA_SIGNATURE_MODE: "",
    FABRA_DUCKDB_PATH: "",
    FABRA_ENV: "",
  };
  // In this process (helpers/cli-in-process.ts), with the environment execa would give a child process.
  const run = (args: string[], extra: Record<string, string> = {}) =>
    runInProcess(args, dir, { ...process.env, ...env, ...extra });
  return { dir, run };
}

/** The one way an unsigned record fails under required signatures: exit 1, the signature check expecting one. */
function expectUnsignedFailure(
  result: { exitCode?: number; stdout: string; stderr: string },
  where: "stdout" | "stderr" = "stdout",
) {
  expect(result.exitCode, result.stderr).toBe(1);
  expect(result[where]).toMatch(
    /Record integrity FAILED: signature mismatch\n\s+expected a signature\n\s+actual\s+none/,
  );
}

/** The error of a command that refuses an unsigned record: it says so, and never that the record was altered. */
function expectUnsignedRefusal(result: { exitCode?: number; stdout: string; stderr: string }, consequence: RegExp) {
  expect(result.exitCode, result.stderr).toBe(1);
  expect(result.stderr).toMatch(/the record is not signed, and signatures are required/);
  expect(result.stderr).toMatch(consequence);
  expect(result.stderr).toMatch(/hint:.*signing\.acceptUnsignedBefore \(or FABRA_ACCEPT_UNSIGNED_BEFORE\)/);
  expect(result.stderr).not.toMatch(/altered/);
}

describe("signing.mode required in the config file", () => {
  const { dir, run } = project();
  const signedFile = join(dir, "signed.json");

  beforeAll(async () => {
    // An unsigned record enters the ledger while the operator accepts unsigned records from before a time.
    const optional = await run(["context", "import", join(VECTORS, "plain.json")], {
      FABRA_ACCEPT_UNSIGNED_BEFORE: "2030-01-01T00:00:00Z",
    });
    expect(optional.exitCode, optional.stderr).toBe(0);
    const record = readRecordText(readFileSync(join(VECTORS, "features_unicode_numbers.json"), "utf8"), "vector");
    writeFileSync(signedFile, canonicalRecordText(signRecord(record, parseSigningKey(KEY))));
    const signed = await run(["context", "import", signedFile]);
    expect(signed.exitCode, signed.stderr).toBe(0);
  }, 60_000);

  it("verify <id> fails the unsigned record and passes the signed one", async () => {
    expectUnsignedFailure(await run(["context", "verify", UNSIGNED]));
    const signed = await run(["context", "verify", SIGNED]);
    expect(signed.exitCode, signed.stderr).toBe(0);
    expect(signed.stdout).toContain("(signature valid, key default)");
  }, 60_000);

  it("verify --all names the unsigned record", async () => {
    const all = await run(["context", "verify", "--all"]);
    expect(all.exitCode).toBe(1);
    expect(all.stdout).toContain(`${UNSIGNED}: signature mismatch (expected a signature, actual none)`);
    expect(all.stdout).toContain("1 of 2 records FAILED verification");
  }, 60_000);

  it("verify --file inside the project uses the config's mode", async () => {
    expectUnsignedFailure(await run(["context", "verify", "--file", join(VECTORS, "plain.json")]));
    expect((await run(["context", "verify", "--file", signedFile])).exitCode).toBe(0);
  }, 60_000);

  it("show fails the unsigned record, as text and as JSON", async () => {
    expectUnsignedFailure(await run(["context", "show", UNSIGNED]));
    const json = await run(["context", "show", UNSIGNED, "--format", "json"]);
    expectUnsignedFailure(json, "stderr");
    expect(JSON.parse(json.stdout)).toMatchObject({ context_id: UNSIGNED, record: { context_id: UNSIGNED } }); // the stored text is still printed
  }, 60_000);

  it("diff does not call the unsigned record verified", async () => {
    const diff = await run(["context", "diff", UNSIGNED, SIGNED]);
    expect(diff.exitCode, diff.stderr).toBe(1);
    expect(diff.stdout).toMatch(/✗ signature mismatch: NOT verified/);
    const json = await run(["context", "diff", join(VECTORS, "plain.json"), signedFile, "--format", "json"]);
    expect(json.exitCode).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ verified: false });
  }, 60_000);

  it("export refuses the unsigned record and writes nothing", async () => {
    const out = join(dir, "export.json");
    expectUnsignedRefusal(await run(["context", "export", UNSIGNED, "-o", out]), /it was not exported/);
    expect(existsSync(out)).toBe(false);
    expect((await run(["context", "export", SIGNED, "-o", out])).exitCode).toBe(0);
    expect(existsSync(out)).toBe(true);
  }, 60_000);

  it("import refuses the unsigned record with the right reason and writes nothing", async () => {
    const fresh = project();
    const imported = await fresh.run(["context", "import", signedFile, join(VECTORS, "plain.json")]);
    expectUnsignedRefusal(imported, /plain\.json: .*nothing was imported/);
    const list = await fresh.run(["context", "list", "--format", "json"]);
    expect(JSON.parse(list.stdout)).toMatchObject({ items: [] });
  }, 60_000);

  it("replay refuses the unsigned record", async () => {
    expectUnsignedRefusal(await run(["context", "replay", UNSIGNED]), /it will not be replayed/);
  }, 60_000);

  it("with signatures optional and a key configured it fails too, unless the operator's cutoff accepts it", async () => {
    const optional = project("optional");
    const accept = { FABRA_ACCEPT_UNSIGNED_BEFORE: "ctx_0190a1b2-0000-7000-8000-000000000002" };
    expect((await optional.run(["context", "import", join(VECTORS, "plain.json")], accept)).exitCode).toBe(0);
    expectUnsignedFailure(await optional.run(["context", "verify", UNSIGNED]));
    const accepted = await optional.run(["context", "verify", UNSIGNED], accept);
    expect(accepted.exitCode, accepted.stderr).toBe(0);
    expect(accepted.stdout).toContain("unsigned, accepted: filed before ctx_0190a1b2-0000-7000-8000-000000000002");
    // With no key at all, an unsigned record verifies (there is nothing to check it against).
    expect((await optional.run(["context", "verify", UNSIGNED], { FABRA_SIGNING_KEY: "" })).exitCode).toBe(0);
  }, 60_000);
});

describe("fabra demo", () => {
  it("verifies its record with the signing settings in force", async () => {
    const { dir, run } = project();
    const demo = await run(["demo", "--dir", join(dir, "demo")], { FABRA_SIGNATURE_MODE: "required" });
    expect(demo.exitCode, demo.stderr).toBe(0);
    expect(demo.stdout).toContain("Record integrity verified (signature valid, key default)");
  }, 120_000);
});
