// The CLI as an attacker and an auditor use it: a twin of a stored record is refused by `import` (exit 2, nothing
// written); an imported record says so in `show`, `verify` and `list --format json`; a 20,000-deep record file fails
// cleanly (exit 2, no stack overflow).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { expectCleanError, project, VECTORS } from "../helpers/cli.js";

const CONFIG = `export default { stores: { offline: { type: "duckdb", path: "f.duckdb" } } };\n`;
const ID = "ctx_0190a1b2-0000-7000-8000-000000000001";

describe("import, twins and deep nesting from the command line", () => {
  const box = project("fabra-ingress-e2e-", { "fabra.config.ts": CONFIG }, {}, { inProcess: true });
  const plain = readFileSync(join(VECTORS, "plain.json"), "utf8");

  it("import marks the record imported: show, verify <id> and list --format json say so", async () => {
    const imported = await box.run(["context", "import", join(VECTORS, "plain.json")]);
    expect(imported.exitCode, String(imported.stderr)).toBe(0);
    expect(imported.stdout).toContain(`Imported ${ID}`);
    const show = await box.run(["context", "show", ID]);
    expect(show.exitCode).toBe(0);
    expect(show.stdout).toContain("IMPORTED");
    expect(show.stdout).toMatch(/not produced by this deployment/);
    const verify = await box.run(["context", "verify", ID, "--format", "json"]);
    expect(JSON.parse(String(verify.stdout))).toMatchObject({ ok: true, imported: true });
    const list = await box.run(["context", "list", "--format", "json"]);
    expect(JSON.parse(String(list.stdout)).items).toEqual([
      expect.objectContaining({ context_id: ID, imported: true }),
    ]);
  });

  it.each([
    ["CTX_ prefix", ID.replace("ctx_", "CTX_")],
    ["a trailing space", `${ID} `],
    ["uppercase hex", `ctx_${ID.slice(4).toUpperCase()}`],
  ])("a twin under %s is refused by import (exit 2), and nothing is written", async (_label, twin) => {
    const file = join(box.dir, "twin.json");
    writeFileSync(file, plain.replace(`"context_id": "${ID}"`, `"context_id": ${JSON.stringify(twin)}`));
    expect(readFileSync(file, "utf8")).toContain(JSON.stringify(twin));
    expectCleanError(await box.run(["context", "import", file]), 2, /context id in normal form/);
    const all = await box.run(["context", "verify", "--all"]);
    expect(all.stdout).toMatch(/1 record verified/);
  });

  it("a record file nested 20,000 deep: exit 2 naming the depth, never a stack overflow", async () => {
    const deep = join(box.dir, "deep.json");
    const nest = `${"[".repeat(20_000)}${"]".repeat(20_000)}`;
    writeFileSync(deep, plain.replace('"inputs": {', `"inputs": {"deep": ${nest}, `));
    expectCleanError(await box.run(["context", "verify", "--file", deep]), 2, /nested deeper than 512 levels/);
    expectCleanError(await box.run(["context", "import", deep]), 2, /nested deeper than 512 levels/);
  });
});
