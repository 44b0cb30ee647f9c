// The built CLI end to end (in-process, helpers/cli-in-process.ts): record commands, every error path, and init →
// run → verify.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { beforeAll, describe, expect, it } from "vitest";
import { expectCleanError, sandbox as cliSandbox, VECTORS } from "../helpers/cli.js";

const VECTOR_IDS = {
  plain: "ctx_0190a1b2-0000-7000-8000-000000000001",
  features_unicode_numbers: "ctx_0190a1b2-0000-7000-8000-000000000002",
  retrieval_drops_signed: "ctx_0190a1b2-0000-7000-8000-000000000003",
  empty_content: "ctx_0190a1b2-0000-7000-8000-000000000004",
};

/** A sandbox with its own DuckDB ledger file. */
const sandbox = () =>
  cliSandbox("fabra-e2e-", (dir) => ({ FABRA_DUCKDB_PATH: join(dir, "ledger.duckdb") }), { inProcess: true });

const vector = (name: string) => join(VECTORS, `${name}.json`);

describe("fabra CLI", () => {
  const { dir, run } = sandbox();

  beforeAll(async () => {
    const imported = await run(["context", "import", ...Object.keys(VECTOR_IDS).map(vector)]);
    expect(imported.stderr).toBe("");
    expect(imported.exitCode).toBe(0);
  });

  it("--help lists every command, --version prints the version", async () => {
    const help = await run(["--help"]);
    expect(help.exitCode).toBe(0);
    for (const cmd of ["demo", "init", "context", "index", "features"])
      expect(help.stdout).toMatch(new RegExp(`^\\s+${cmd}\\b`, "m"));
    const contextHelp = await run(["context", "--help"]);
    for (const cmd of ["run", "show", "verify", "list", "export", "import"])
      expect(contextHelp.stdout).toMatch(new RegExp(`^\\s+${cmd}\\b`, "m"));
    const version = await run(["--version"]);
    expect(version.stdout.trim()).toBe(
      JSON.parse(readFileSync(join(import.meta.dirname, "..", "..", "package.json"), "utf8")).version,
    );
  });

  it("verifies every spec vector from a file", async () => {
    for (const name of Object.keys(VECTOR_IDS)) {
      const r = await run(["context", "verify", "--file", vector(name)]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toContain("✓ Record integrity verified");
    }
  });

  it("rejects a tampered file with exit 1 and the failing hash", async () => {
    const text = readFileSync(vector("plain"), "utf8").replace("reset password", "reset passwords");
    const file = join(dir, "tampered.json");
    writeFileSync(file, text);
    const r = await run(["context", "verify", "--file", file]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/✗ Record integrity FAILED: record_hash mismatch/);
    expect(r.stdout).toContain("sha256:c11023b8ffc938022613b13b417a5c927f10d2fdf13f358e89f62aad3353f1d8");
  });

  it("gives one clear line and exit 2 for bad input", async () => {
    const badJson = join(dir, "bad.json");
    writeFileSync(badJson, '{"context_id": "ctx_1",\n  "oops"');
    expectCleanError(await run(["context", "verify", "--file", badJson]), 2, /Invalid JSON in .*bad\.json at line 2/);

    const notRecord = join(dir, "not-record.json");
    const record = JSON.parse(readFileSync(vector("plain"), "utf8"));
    record.assembly.dropped_items = [{ source_id: "x", priority: 1, token_count: 3, reason: "because" }];
    writeFileSync(notRecord, JSON.stringify(record));
    expectCleanError(await run(["context", "verify", "--file", notRecord]), 2, /assembly\.dropped_items\[0\]\.reason/);

    expectCleanError(await run(["context", "verify", "--file", join(dir, "missing.json")]), 2, /No such file/);
    expectCleanError(await run(["context", "verify", "--file", dir]), 2, /is a directory/);
    expectCleanError(
      await run(["context", "show", "ctx_0190a1b2-0000-7000-8000-0000000000ff"]),
      2,
      /No context record/,
    );
    expectCleanError(await run(["context", "show", "not-an-id"]), 2, /is not a context id/);
    expectCleanError(await run(["context", "list", "--limit", "zero"]), 2, /--limit/);
    expectCleanError(await run(["context", "show", VECTOR_IDS.plain, "--format", "xml"]), 2, /--format/);
    const unknown = await run(["context", "frobnicate"]);
    expect(unknown.exitCode).toBe(2);
  });

  it("shows, lists, exports and verifies imported records by id or bare uuid", async () => {
    const show = await run(["context", "show", VECTOR_IDS.retrieval_drops_signed]);
    expect(show.exitCode, show.stderr).toBe(0);
    for (const part of ["doc_2#3", "budget_exceeded", "degraded", "search_docs", "Record integrity verified"])
      expect(show.stdout).toContain(part);
    // The lineage block: one key per line, values in one column.
    expect(show.stdout).toMatch(
      /^Lineage\n {2}features {3}-\n {2}retrievers search_docs\n {2}indexes {4}support_docs\n {2}code {7}9f1c2e7\n {2}fabra {6}0\.1\.0$/m,
    );

    const bare = await run(["context", "verify", VECTOR_IDS.plain.slice(4)]);
    expect(bare.exitCode).toBe(0);
    expect(bare.stdout).toContain("✓ Record integrity verified");

    const list = await run(["context", "list", "--format", "json"]);
    const ids = (JSON.parse(list.stdout) as { items: { context_id: string }[] }).items.map((r) => r.context_id);
    expect(ids.sort()).toEqual(Object.values(VECTOR_IDS).sort());

    const filtered = await run(["context", "list", "--function", "tiny_budget", "--format", "json"]);
    expect((JSON.parse(filtered.stdout) as { items: { context_id: string }[] }).items.map((r) => r.context_id)).toEqual(
      [VECTOR_IDS.empty_content],
    );

    const out = join(dir, "exported.json");
    const exported = await run(["context", "export", VECTOR_IDS.features_unicode_numbers, "-o", out]);
    expect(exported.exitCode).toBe(0);
    const verified = await run(["context", "verify", "--file", out]);
    expect(verified.exitCode).toBe(0);
    // The export is canonical: the hashing text of the spec is the export with the hash fields blanked.
    const canonical = readFileSync(join(VECTORS, "features_unicode_numbers.canonical.txt"), "utf8").trim();
    const exportedText = readFileSync(out, "utf8").trim();
    // (signing_key_id is left out of the hashing text, as the spec says.)
    expect(
      exportedText
        .replace(/"record_hash":"sha256:[0-9a-f]{64}"/, '"record_hash":""')
        .replace(',"signing_key_id":null', ""),
    ).toBe(canonical);
  });

  it("import refuses a tampered file and writes nothing", async () => {
    const { run: run2, env } = sandbox();
    const text = readFileSync(vector("plain"), "utf8").replace('"u_1"', '"u_2"');
    const file = join(dir, "tampered-import.json");
    writeFileSync(file, text);
    const r = await run2(["context", "import", vector("empty_content"), file]);
    expectCleanError(r, 1, /record_hash mismatch.*nothing was imported/);
    const list = await run2(["context", "list", "--format", "json"]);
    expect(JSON.parse(list.stdout)).toEqual({ items: [], next_cursor: null });
    expect(env.FABRA_DUCKDB_PATH).toContain("ledger.duckdb");
  });

  it("verify --all names a row altered behind fabra's back", async () => {
    const { run: run3, env } = sandbox();
    await run3(["context", "import", vector("plain"), vector("empty_content")]);
    const ok = await run3(["context", "verify", "--all"]);
    expect(ok.exitCode).toBe(0);
    expect(ok.stdout).toMatch(/2 records verified/);

    const db = await DuckDBInstance.create(env.FABRA_DUCKDB_PATH);
    const conn = await db.connect();
    await conn.run(
      "UPDATE fabra_context_records SET canonical_text = replace(canonical_text, $1, $2) WHERE context_id = $3",
      ['"environment":"development"', '"environment":"staging"', VECTOR_IDS.plain],
    );
    conn.closeSync();
    db.closeSync();

    const all = await run3(["context", "verify", "--all"]);
    expect(all.exitCode).toBe(1);
    expect(all.stdout).toContain(`${VECTOR_IDS.plain}: record_hash mismatch`);
    expect(all.stdout).toMatch(/1 of 2 records FAILED/);
    const one = await run3(["context", "verify", VECTOR_IDS.plain]);
    expect(one.exitCode).toBe(1);
  });
});

describe("init → index → run → verify", () => {
  // One scaffolded project, step by step (each step works on what the ones before made): it runs with no edits.
  const { dir, run } = sandbox();
  const project = join(dir, "bot");

  it("scaffolds a project, and refuses to scaffold over it", async () => {
    const init = await run(["init", project]);
    expect(init.exitCode, init.stderr).toBe(0);
    const again = await run(["init", project]);
    expectCleanError(again, 2, /already has .*fabra\.config\.ts.*/);
  });

  it("indexes its docs", async () => {
    const indexed = await run(["index", "add", "docs", "--index", "support_docs"], { cwd: project });
    expect(indexed.exitCode, indexed.stderr).toBe(0);
    expect(indexed.stdout).toMatch(/Indexed 3 documents as \d+ chunks/);
  });

  it("keeps the ids of docs indexed again from another directory, and refuses a binary file", async () => {
    // The same files indexed from another directory keep their ids (relative to the project root): replaced, not doubled.
    const listed = await run(["index", "list"], { cwd: project });
    const again2 = await run(["-c", "bot/fabra.config.ts", "index", "add", "bot/docs", "--index", "support_docs"]);
    expect(again2.exitCode, again2.stderr).toBe(0);
    expect((await run(["index", "list"], { cwd: project })).stdout).toBe(listed.stdout);
    writeFileSync(join(dir, "blob.dat"), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff, 0xfe]));
    expectCleanError(
      await run(["index", "add", "../blob.dat", "--index", "support_docs"], { cwd: project }),
      2,
      /\.\.\/blob\.dat is not a text file/,
    );
  });

  it("runs its context with no edits, and the record verifies; a misspelt context gets a did-you-mean", async () => {
    const ran = await run(
      [
        "context",
        "run",
        "supportContext",
        "--input",
        "userId=u_1",
        "--input",
        "query=how do I reset my password?",
        "--json",
      ],
      {
        cwd: project,
      },
    );
    expect(ran.exitCode, ran.stderr).toBe(0);
    const result = JSON.parse(ran.stdout) as { context_id: string; content: string; token_count: number };
    expect(result.content).toContain("Forgot password");
    expect(result.content).toContain("enterprise tier");
    expect(result.token_count).toBeLessThanOrEqual(300);

    const verified = await run(["context", "verify", result.context_id], { cwd: project });
    expect(verified.exitCode, verified.stderr).toBe(0);
    expect(verified.stdout).toContain("✓ Record integrity verified");

    const missing = await run(["context", "run", "supportContex", "--input", "userId=u_1"], { cwd: project });
    expectCleanError(missing, 2, /Unknown context "supportContex"[\s\S]*Did you mean "supportContext"/);
  });
});
