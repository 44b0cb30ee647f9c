// The built CLI's messages for things users get wrong: output paths (a directory, a missing directory), init into a
// path through a file, config URLs and env values, FABRA_DEBUG; and what a fresh `init` gives: a .gitignore, a
// "Next:" line that runs as written, and a template that does not warn about itself.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { expectCleanError, ROOT, sandbox as cliSandbox, VECTORS } from "../helpers/cli.js";

const PLAIN = join(VECTORS, "plain.json");
const PLAIN_ID = "ctx_0190a1b2-0000-7000-8000-000000000001";

const sandbox = () =>
  cliSandbox("fabra-msg-e2e-", (dir) => ({ FABRA_DUCKDB_PATH: join(dir, "ledger.duckdb") }), { inProcess: true });

/** A clean usage error (exit code 2). */
const expectUsageError = (result: { stderr: unknown; exitCode?: number }, pattern: RegExp) =>
  expectCleanError(result, 2, pattern);

describe("output paths", () => {
  it("export -o refuses a directory and a missing directory up front, creates nothing, leaks no temp name", async () => {
    const { dir, run } = sandbox();
    expect((await run(["context", "import", PLAIN])).exitCode).toBe(0);
    const asDir = await run(["context", "export", PLAIN_ID, "-o", dir]);
    expectUsageError(asDir, new RegExp(`Cannot write ${dir}: it is a directory`));
    expect(asDir.stderr).not.toMatch(/\.tmp|EISDIR|rename/);

    const missing = join(dir, "no", "such", "x.json");
    expectUsageError(
      await run(["context", "export", PLAIN_ID, "-o", missing]),
      new RegExp(`the directory ${join(dir, "no", "such")} does not exist`),
    );
    expect(existsSync(join(dir, "no"))).toBe(false);

    writeFileSync(join(dir, "afile"), "x");
    expectUsageError(
      await run(["context", "export", PLAIN_ID, "-o", join(dir, "afile", "x.json")]),
      /a part of the path is a file, not a directory/,
    );
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);

    const ok = await run(["context", "export", PLAIN_ID, "-o", "out.json"]);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(readFileSync(join(dir, "out.json"), "utf8")).toContain(PLAIN_ID);
  });
});

describe("init", () => {
  it("under a path that runs through a file: exit 2 naming the file", async () => {
    const { dir, run } = sandbox();
    writeFileSync(join(dir, "README.md"), "x");
    expectUsageError(
      await run(["init", join(dir, "README.md", "sub")]),
      new RegExp(`${join(dir, "README.md")} is a file, not a directory`),
    );
    expectUsageError(await run(["init", join(dir, "README.md")]), /exists and is not a directory/);
  });

  it("writes a .gitignore (extending the user's own), a runnable Next: line, and a template that does not warn about itself", async () => {
    const { dir, run } = sandbox();
    const project = join(dir, "bot");
    mkdirSync(project);
    writeFileSync(join(project, ".gitignore"), "dist/\n*.duckdb\n");
    const init = await run(["init", project]);
    expect(init.exitCode, init.stderr).toBe(0);
    expect(readFileSync(join(project, ".gitignore"), "utf8")).toBe(
      "dist/\n*.duckdb\n\n# fabra: local stores (with their journal and HNSW graphs), and the server state file (it holds a token)\n.fabra/\n*.duckdb.wal\n*.duckdb.journal-*\n*.duckdb.ann/\n*.server.json\nnode_modules/\n",
    );
    // fabra is not on the registry: the line installs it from this package before any `npx fabra`.
    const next = /^Next: (.*)$/m.exec(init.stdout)?.[1] ?? "";
    expect(next.split(" && ")).toEqual([
      `cd ${project}`,
      `npm install --save-dev ${ROOT}`,
      "npx fabra index add docs --index support_docs",
      'npx fabra context run supportContext --input userId=u_1 --input query="reset password"',
    ]);
    expect(readFileSync(join(project, "README.md"), "utf8")).not.toMatch(/^fabra /m);

    const fresh = join(dir, "basic-bot");
    expect((await run(["init", fresh, "--template", "basic"])).exitCode).toBe(0);
    expect(readFileSync(join(fresh, ".gitignore"), "utf8")).toMatch(
      /^# fabra: .*\n\.fabra\/\n\*\.duckdb\n\*\.duckdb\.wal\n\*\.duckdb\.journal-\*\n\*\.duckdb\.ann\/\n\*\.server\.json\nnode_modules\/\n$/,
    );

    for (const p of [project, fresh]) {
      const list = await run(["features", "list"], { cwd: p, env: { FABRA_DUCKDB_PATH: "" } });
      expect(list.exitCode, list.stderr).toBe(0);
      expect(list.stdout).toMatch(/^monthlySpend\s+user\s+-\s+1d\s+no/m);
      expect(list.stdout).not.toContain("note:");
    }
  });
});

describe("config and environment errors", () => {
  it("an unparsable service URL in the config is exit 2 naming the key, not a connection failure", async () => {
    const { dir, run } = sandbox();
    writeFileSync(
      join(dir, "fabra.config.json"),
      JSON.stringify({ stores: { online: { type: "redis", url: "notaurl" } } }),
    );
    expectUsageError(await run(["context", "list"]), /^✗ stores\.online\.url is not a redis:\/\/ URL$/m);
    expectUsageError(
      await run(["context", "list"], { env: { FABRA_REDIS_URL: "cache:6379" } }),
      /^✗ FABRA_REDIS_URL is not a redis:\/\/ URL/m,
    );
  });

  it("FABRA_RECORD_INCLUDE_CONTENT with a bad value is refused like the other variables", async () => {
    const { run } = sandbox();
    expectUsageError(
      await run(["context", "list"], { env: { FABRA_RECORD_INCLUDE_CONTENT: "maybe" } }),
      /FABRA_RECORD_INCLUDE_CONTENT="maybe" is not one of/,
    );
  });

  it("FABRA_DEBUG=0 does not print stack traces; FABRA_DEBUG=1 does", async () => {
    const { dir, run } = sandbox();
    writeFileSync(join(dir, "fabra.config.json"), JSON.stringify({ definitions: ["./defs.ts"] }));
    writeFileSync(join(dir, "defs.ts"), 'throw new Error("broken module");\n');
    expectUsageError(await run(["context", "run", "x"], { env: { FABRA_DEBUG: "0" } }), /broken module/);
    const debug = await run(["context", "run", "x"], { env: { FABRA_DEBUG: "1" } });
    expect(debug.exitCode).toBe(2);
    expect(debug.stderr).toMatch(/\n\s+at /);
  });
});
