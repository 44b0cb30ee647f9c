// Config: found from the cwd up, validated with errors that name the key, the value and the expected form;
// environment variables win; user modules load as TypeScript with their errors pointing at file and line.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { resolveConfig } from "../../src/config/resolve.js";
import { loadDefinitionModules } from "../../src/define/load.js";
import { tempDir } from "../helpers/temp.js";

function project(files: Record<string, string>): string {
  const dir = tempDir("fabra-config-");
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

async function resolveIn(dir: string, env: NodeJS.ProcessEnv = {}) {
  return resolveConfig(await loadConfig({ cwd: dir }), env);
}

describe("config", () => {
  it("is found from a subdirectory, and relative paths are from the config file", async () => {
    const dir = project({
      "fabra.config.ts": `import { defineConfig } from "fabra";
        export default defineConfig({ definitions: ["./defs.ts"], stores: { offline: { type: "duckdb", path: "data/x.duckdb" } } });`,
      "sub/deeper/.keep": "",
    });
    const config = await resolveIn(join(dir, "sub", "deeper"));
    expect(config.configPath).toBe(join(dir, "fabra.config.ts"));
    expect(config.definitions).toEqual([join(dir, "defs.ts")]);
    expect(config.stores.offline).toEqual({ type: "duckdb", path: join(dir, "data", "x.duckdb") });
    expect(config.environment).toBe("development");
    expect(config.evidence).toEqual({ mode: "best_effort", includeContent: true, maxRecordBytes: 64 * 1024 * 1024 });
  });

  it("environment variables win over the file", async () => {
    const dir = project({
      "fabra.config.json": JSON.stringify({
        environment: "staging",
        stores: { offline: { type: "duckdb", path: "a.duckdb" } },
      }),
    });
    const config = await resolveIn(dir, {
      FABRA_ENV: "production",
      FABRA_DUCKDB_PATH: ":memory:",
      FABRA_RECORD_INCLUDE_CONTENT: "0",
    });
    expect(config.environment).toBe("production");
    expect(config.evidence).toEqual({ mode: "required", includeContent: false, maxRecordBytes: 64 * 1024 * 1024 }); // required by default in production
    expect(config.stores.offline).toEqual({ type: "duckdb", path: ":memory:" });
  });

  it("names the key, the bad value and the expected form", async () => {
    const dir = project({
      "fabra.config.json": JSON.stringify({
        stores: { offline: { type: "duckbd" } },
        chunking: { chunkTokens: "big" },
        evidnce: {},
      }),
    });
    const error = (await resolveIn(dir).catch((e: unknown) => e)) as { code: string; message: string };
    expect(error.code).toBe("INVALID_CONFIG");
    expect(error.message).toContain("fabra.config.json");
    expect(error.message).toMatch(/stores\.offline\.type: .*"duckbd"/);
    expect(error.message).toMatch(/chunking\.chunkTokens: .*number.*"big"/);
    expect(error.message).toMatch(/evidnce/);
  });

  it("rejects a bad environment variable by name", async () => {
    const dir = project({ "fabra.config.json": "{}" });
    await expect(resolveIn(dir, { FABRA_EVIDENCE_MODE: "sometimes" })).rejects.toMatchObject({
      code: "INVALID_CONFIG",
      message: expect.stringMatching(/FABRA_EVIDENCE_MODE="sometimes" is not one of required, best_effort/),
    });
  });

  it("a syntax error in the config file is an INVALID_CONFIG, not a crash", async () => {
    const dir = project({ "fabra.config.ts": "export default {\n  definitions: [\n" });
    await expect(loadConfig({ cwd: dir })).rejects.toMatchObject({ code: "INVALID_CONFIG" });
  });
});

describe("definition modules", () => {
  it("load TypeScript that imports fabra, and collect definitions by export name", async () => {
    const dir = project({
      "defs.ts": `import { entity, feature, context } from "fabra";
        export const user = entity("user");
        export const tier = feature({ entity: user }, (id: string): string => "gold-" + id);
        export const chat = context({}, async ({ id }: { id: string }) => [{ content: await tier.get(id) }]);`,
    });
    const defs = await loadDefinitionModules([join(dir, "defs.ts")]);
    expect([...defs.features.keys()]).toEqual(["tier"]);
    expect([...defs.contexts.keys()]).toEqual(["chat"]);
    expect([...defs.entities.keys()]).toEqual(["user"]);
  });

  it("a module that throws while loading names its file and line", async () => {
    const dir = project({ "broken.ts": `const a = 1;\n\nthrow new Error("no database configured");\n` });
    const error = (await loadDefinitionModules([join(dir, "broken.ts")]).catch((e: unknown) => e)) as {
      code: string;
      message: string;
    };
    expect(error.code).toBe("INVALID_DEFINITION");
    expect(error.message).toContain(`${join(dir, "broken.ts")}:3`);
    expect(error.message).toContain("no database configured");
  });

  it("a syntax error names the file", async () => {
    const dir = project({ "syntax.ts": `export const x = ;\n` });
    const error = (await loadDefinitionModules([join(dir, "syntax.ts")]).catch((e: unknown) => e)) as {
      code: string;
      message: string;
    };
    expect(error.code).toBe("INVALID_DEFINITION");
    expect(error.message).toContain("syntax.ts");
  });

  it("a missing module is a clear FILE_NOT_FOUND", async () => {
    await expect(loadDefinitionModules(["/nonexistent/defs.ts"])).rejects.toMatchObject({ code: "FILE_NOT_FOUND" });
  });
});
