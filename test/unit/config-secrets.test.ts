// What config resolves from the environment so nothing else reads it — the signing mode and key, the server's API
// keys, the embedder's API key — and that the printable config shows none of the secrets; `process.env` is read
// only under src/config/.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { printableConfig } from "../../src/config/printable.js";
import { resolveConfig } from "../../src/config/resolve.js";
import { signingSettings, verificationSigning } from "../../src/config/signing.js";

const resolve = (config: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) =>
  resolveConfig({ config, configPath: null, rootDir: "/proj" }, env, "/proj");
const SRC = join(import.meta.dirname, "..", "..", "src");

describe("config resolves the environment once", () => {
  it("signing: the file's mode (FABRA_SIGNATURE_MODE winning) and the key, parsed where it is used", () => {
    const c = resolve({ signing: { mode: "required" } }, { FABRA_SIGNING_KEY: "hex:0a0b", FABRA_SIGNING_KEY_ID: "k7" });
    const source = { text: "hex:0a0b", id: "k7", where: "FABRA_SIGNING_KEY" };
    expect(c.signing).toEqual({ mode: "required", key: source, keys: [source], acceptUnsignedBefore: null });
    const k7 = { id: "k7", secret: Buffer.from([10, 11]) };
    expect(verificationSigning(c.signing)).toEqual({ mode: "required", key: k7, keys: [k7], acceptUnsigned: null });
    expect(resolve({ signing: { mode: "required" } }, { FABRA_SIGNATURE_MODE: "off" }).signing).toEqual({
      mode: "off",
      key: null,
      keys: [],
      acceptUnsignedBefore: null,
    });
    expect(resolve({}, { FABRA_SIGNING_KEY: "s" }).signing.key).toEqual({
      text: "s",
      id: "default",
      where: "FABRA_SIGNING_KEY",
    });
  });

  it("a key that does not parse fails where records are verified or signed; required without a key only where they are signed", () => {
    const bad = resolve({}, { FABRA_SIGNING_KEY: "hex:zz" });
    expect(() => verificationSigning(bad.signing)).toThrow(
      expect.objectContaining({ code: "INVALID_CONFIG", message: expect.stringContaining("not valid hex") }),
    );
    const required = resolve({ signing: { mode: "required" } });
    expect(verificationSigning(required.signing)).toEqual({
      mode: "required",
      key: null,
      keys: [],
      acceptUnsigned: null,
    });
    expect(() => signingSettings(required)).toThrow(
      expect.objectContaining({ code: "INVALID_CONFIG", message: expect.stringContaining("Signing is required") }),
    );
  });

  it("the server's API keys and the embedder's key", () => {
    expect(resolve({}, { FABRA_API_KEYS: " a, b ,,a", FABRA_API_KEY: "c" }).server.apiKeys).toEqual(["a", "b", "c"]);
    expect(resolve({}).server.apiKeys).toEqual([]);
    const embedder = { type: "openai", model: "m", dimensions: 8 };
    expect(resolve({ embedder }, { OPENAI_API_KEY: "sk-default" }).embedder).toMatchObject({ apiKey: "sk-default" });
    expect(
      resolve({ embedder: { ...embedder, apiKeyEnv: "MY_KEY" } }, { OPENAI_API_KEY: "sk-other", MY_KEY: "sk-mine" })
        .embedder,
    ).toMatchObject({ apiKey: "sk-mine" });
    expect(resolve({ embedder }).embedder).toMatchObject({ apiKey: undefined });
  });

  it("the printable config shows no secret", () => {
    const c = resolve(
      { embedder: { type: "openai", model: "m", dimensions: 8 } },
      { OPENAI_API_KEY: "sk-secret-1", FABRA_SIGNING_KEY: "signing-secret-2", FABRA_API_KEYS: "api-secret-3" },
    );
    const shown = JSON.stringify(printableConfig(c));
    expect(shown).not.toMatch(/secret/);
    expect(printableConfig(c)).toMatchObject({
      signing: { mode: "optional" },
      server: { port: 8000, host: "127.0.0.1" },
    });
  });
});

describe("the rule", () => {
  it("process.env is read only under src/config/", () => {
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? files(join(dir, e.name)) : /\.tsx?$/.test(e.name) ? [join(dir, e.name)] : [],
      );
    const readers = files(SRC)
      .filter((f) => readFileSync(f, "utf8").includes("process.env"))
      .map((f) => relative(SRC, f).replaceAll("\\", "/"));
    expect(readers.filter((f) => !f.startsWith("config/"))).toEqual([]);
  });
});
