// `fabra doctor` (in-process, local mode) catches what would make every command fail: signing that cannot work
// and definitions with bad options, each on its own line with a fix.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runDoctor } from "../../src/app/doctor.js";
import { tempDir } from "../helpers/temp.js";

function project(defs: string): string {
  const dir = tempDir("fabra-doctor-");
  writeFileSync(
    join(dir, "fabra.config.ts"),
    `export default { definitions: ["./defs.ts"], stores: { offline: { type: "duckdb", path: "f.duckdb" } } };\n`,
  );
  writeFileSync(
    join(dir, "defs.ts"),
    `import { context, entity, feature } from "fabra";\nexport const user = entity("user");\n${defs}\n`,
  );
  return dir;
}

const GOOD = `export const tier = feature({ entity: user, ttl: "1h" }, () => "free");\nexport const chat = context({ maxTokens: 100 }, () => [{ content: "x" }]);`;
const byName = <C extends { name: string }>(checks: C[], name: string) => checks.filter((c) => c.name === name);

describe("fabra doctor", () => {
  it("passes a healthy project and says how records are signed", async () => {
    const report = await runDoctor({
      cwd: project(GOOD),
      env: { FABRA_SIGNING_KEY: "s3cret", FABRA_SIGNING_KEY_ID: "k1" },
    });
    expect(report.ok).toBe(true);
    expect(byName(report.checks, "signing")).toEqual([
      { name: "signing", state: "ok", detail: "optional: records are signed with key k1" },
    ]);
    expect(byName(report.checks, "definitions")).toEqual([
      expect.objectContaining({ state: "ok", detail: "1 feature, 0 retrievers, 1 context" }),
    ]);
  });

  it("fails when signing is required without a key, or the key does not parse", async () => {
    const dir = project(GOOD);
    const required = await runDoctor({ cwd: dir, env: { FABRA_SIGNATURE_MODE: "required" } });
    expect(required.ok).toBe(false);
    expect(byName(required.checks, "signing")).toEqual([
      expect.objectContaining({
        state: "fail",
        detail: expect.stringContaining("Signing is required"),
        fix: expect.stringContaining("FABRA_SIGNING_KEY"),
      }),
    ]);
    const badKey = await runDoctor({ cwd: dir, env: { FABRA_SIGNING_KEY: "hex:zz" } });
    expect(badKey.ok).toBe(false);
    expect(byName(badKey.checks, "signing")).toEqual([
      expect.objectContaining({ state: "fail", detail: "FABRA_SIGNING_KEY has a hex: prefix but is not valid hex" }),
    ]);
    const off = await runDoctor({ cwd: dir, env: { FABRA_SIGNATURE_MODE: "off", FABRA_SIGNING_KEY: "s3cret" } });
    expect(off.ok).toBe(true);
    expect(byName(off.checks, "signing")).toEqual([expect.objectContaining({ state: "warn" })]);
  });

  it("lists every definition whose options are wrong", async () => {
    const dir = project(`export const a = feature({ entity: user, refresh: "every tuesday" }, () => 1);
export const b = feature({ entity: user, ttl: "forever" }, () => 1);
export const c = context({ maxTokens: -5 }, () => [{ content: "x" }]);`);
    const report = await runDoctor({ cwd: dir, env: {} });
    expect(report.ok).toBe(false);
    expect(byName(report.checks, "definitions").map((c) => [c.state, c.detail])).toEqual([
      ["fail", expect.stringContaining('refresh of feature a is "every tuesday"')],
      ["fail", expect.stringContaining('Feature b: `ttl` is "forever"')],
      ["fail", expect.stringContaining("Context c: `maxTokens` is -5")],
    ]);
  });
});
