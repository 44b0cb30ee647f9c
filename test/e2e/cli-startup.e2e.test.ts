// The built CLI starts in a blink: a command loads only the packages it needs (no ink, tiktoken or DuckDB for
// --version; no ink or tiktoken to verify a record), help still lists every command, and the user's definitions are
// transpiled once and never served stale after an edit.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";

const BIN = join(import.meta.dirname, "..", "..", "bin", "fabra.js");

// Preloaded into the CLI process: writes every ES module URL and CommonJS file it loads to $FABRA_TEST_MODULES_LOG.
const HOOKS = `import { appendFileSync } from "node:fs";
export async function load(url, context, next) {
  appendFileSync(process.env.FABRA_TEST_MODULES_LOG, url + "\\n");
  return next(url, context);
}`;
const PRELOAD = `import Module, { register } from "node:module";
import { appendFileSync } from "node:fs";
register(new URL("./hooks.mjs", import.meta.url));
process.on("exit", () => appendFileSync(process.env.FABRA_TEST_MODULES_LOG, Object.keys(Module._cache).join("\\n") + "\\n"));`;

const HEAVY = [
  "ink",
  "react",
  "yoga-layout",
  "tiktoken",
  "@duckdb/node-api",
  "jiti",
  "pg",
  "ioredis",
  "hono",
  "zod",
  "prom-client",
];

let dir: string;
let project: string;
let cacheDir: string;
let id: string;
let env: Record<string, string>;

const run = (args: string[], extra: Record<string, string> = {}) =>
  execa("node", [BIN, ...args], { cwd: project, env: { ...env, ...extra }, reject: false });

/** The packages (names under node_modules) a CLI run loads. */
async function packagesLoadedBy(args: string[]): Promise<Set<string>> {
  const log = join(dir, `modules-${Math.random().toString(36).slice(2)}.log`);
  const result = await execa("node", ["--import", join(dir, "preload.mjs"), BIN, ...args], {
    cwd: project,
    env: { ...env, FABRA_TEST_MODULES_LOG: log },
    reject: false,
  });
  expect(result.exitCode, result.stderr).toBe(0);
  const names = readFileSync(log, "utf8")
    .split("\n")
    .flatMap((line) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(line)?.[1] ?? []);
  return new Set(names);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "fabra-startup-e2e-"));
  project = join(dir, "project");
  cacheDir = join(dir, "transpiled");
  writeFileSync(join(dir, "hooks.mjs"), HOOKS);
  writeFileSync(join(dir, "preload.mjs"), PRELOAD);
  env = {
    HOME: dir,
    NO_COLOR: "1",
    FABRA_SIGNING_KEY: "",
    FABRA_ENV: "",
    FABRA_DUCKDB_PATH: "",
    FABRA_TRANSPILE_CACHE: cacheDir,
  };
  const init = await execa("node", [BIN, "init", project, "--template", "basic"], { cwd: dir, env, reject: false });
  expect(init.exitCode, init.stderr).toBe(0);
  const first = await run([
    "context",
    "run",
    "greetingContext",
    "--input",
    "userId=u_1",
    "--input",
    "message=hi",
    "--json",
  ]);
  expect(first.exitCode, first.stderr).toBe(0);
  id = JSON.parse(first.stdout).context_id;
}, 60_000);

describe("what a command loads", () => {
  it("--version and --help load no heavy package", async () => {
    for (const args of [["--version"], ["--help"]]) {
      const loaded = await packagesLoadedBy(args);
      expect(
        HEAVY.filter((p) => loaded.has(p)),
        args.join(" "),
      ).toEqual([]);
    }
  });

  it("verifying a record loads DuckDB and the config loader, but no ink, tokenizer, Postgres, Redis or HTTP server", async () => {
    const loaded = await packagesLoadedBy(["context", "verify", id]);
    expect(loaded.has("@duckdb/node-api")).toBe(true);
    expect(loaded.has("jiti")).toBe(true);
    for (const p of ["ink", "react", "tiktoken", "pg", "ioredis", "hono", "prom-client"])
      expect(loaded.has(p), p).toBe(false);
  });

  it("context run loads the tokenizer but no ink, Postgres, Redis or HTTP server", async () => {
    const loaded = await packagesLoadedBy([
      "context",
      "run",
      "greetingContext",
      "--input",
      "userId=u_1",
      "--input",
      "message=hi",
    ]);
    expect(loaded.has("tiktoken")).toBe(true);
    for (const p of ["ink", "react", "pg", "ioredis", "hono", "prom-client"]) expect(loaded.has(p), p).toBe(false);
  });
});

describe("help with lazy commands", () => {
  it("lists every command with its description, and each command's own help shows its options", async () => {
    const help = await run(["--help"]);
    expect(help.exitCode).toBe(0);
    for (const line of [
      "init [options] [dir]",
      "context ",
      "materialize [options] [features...]",
      "serve [options]",
      "Join feature values to events",
    ]) {
      expect(help.stdout).toContain(line);
    }
    const verify = await run(["context", "verify", "--help"]);
    expect(verify.stdout).toContain("--all");
    const viaHelp = await run(["help", "context"]);
    expect(viaHelp.stdout).toContain("verify [options] [id]");
    expect((await run(["context", "help", "verify"])).stdout).toContain("--file <record.json>");
  });

  it("an unknown command is still an error with a suggestion", async () => {
    const result = await run(["contxt", "list"]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/unknown command 'contxt'[\s\S]*Did you mean context\?/);
  });
});

describe("the transpile cache of the user's definitions", () => {
  it("is used, and an edited definition file is transpiled afresh", async () => {
    expect(readdirSync(cacheDir).some((f) => f.includes("contexts"))).toBe(true);
    const args = ["context", "run", "greetingContext", "--input", "userId=u_1", "--input", "message=hi", "--json"];
    const before = await run(args);
    expect(JSON.parse(before.stdout).content).toContain("Be brief and friendly.");
    const file = join(project, "contexts.ts");
    // The same length as before, so no size- or time-based check could tell the files apart.
    writeFileSync(file, readFileSync(file, "utf8").replace("Be brief and friendly.", "Be short and precise.."));
    const after = await run(args);
    expect(after.exitCode, after.stderr).toBe(0);
    expect(JSON.parse(after.stdout).content).toContain("Be short and precise..");
  });

  it("is not used when another user could write into it (its entries would run as this user)", async () => {
    const shared = join(dir, "shared");
    mkdirSync(shared);
    chmodSync(shared, 0o777);
    const result = await run(["context", "list"], { FABRA_TRANSPILE_CACHE: shared });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(readdirSync(shared)).toEqual([]);
  });

  it("can be turned off", async () => {
    const off = join(dir, "off");
    const result = await run(["context", "list"], { FABRA_TRANSPILE_CACHE: "off", TMPDIR: off });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(readdirSync(dir)).not.toContain("off");
  });
});
