// `fabra serve` as a real process (the built bin/fabra.js) holding a project's DuckDB file, with `fabra context ...`
// run from other processes meanwhile; SIGTERM with requests in flight; and `context diff` against its golden files.
import { readFileSync, statSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import type { ResultPromise } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURES, sandbox } from "../helpers/cli.js";
import { startServeProcess } from "../helpers/serve-process.js";

const SLOW_MODULE = `import { context } from "fabra";
export const slowContext = context({ inputs: { n: "integer" } }, async ({ n }: { n: number }) => {
  await new Promise((r) => setTimeout(r, 400));
  return [{ content: "slow " + n, required: true }];
});
`;

/**
 * A sandbox whose project (made by `init`) is in bot/: `run` runs there (in-process; `spawn` as a child process),
 * `runInSandbox` / `spawnInSandbox` in the sandbox itself.
 */
function project() {
  const box = sandbox("fabra-serve-e2e-", {}, { inProcess: true });
  const cwd = join(box.dir, "bot");
  const run = (args: string[], extra: Record<string, string> = {}) => box.run(args, { cwd, env: extra });
  const spawn = (args: string[]) => box.spawn(args, { cwd });
  return {
    dir: box.dir,
    cwd,
    env: box.env,
    run,
    spawn,
    runInSandbox: box.run,
    spawnInSandbox: box.spawn,
    ledger: join(cwd, ".fabra", "fabra.duckdb"),
  };
}

/** Starts `fabra serve --port 0` and waits for its URL. */
function serve(p: ReturnType<typeof project>, extra: Record<string, string> = {}) {
  return startServeProcess([], { cwd: p.cwd, env: { ...p.env, ...extra } });
}

const ids = (stdout: string) =>
  (JSON.parse(stdout) as { items: { context_id: string }[] }).items.map((r) => r.context_id);

describe("context commands while `fabra serve` holds the DuckDB file", () => {
  const p = project();
  let server: { child: ResultPromise; url: string };

  beforeAll(async () => {
    expect((await p.runInSandbox(["init", p.cwd])).exitCode).toBe(0);
    writeFileSync(join(p.cwd, "slow.ts"), SLOW_MODULE);
    const config = join(p.cwd, "fabra.config.ts");
    writeFileSync(config, readFileSync(config, "utf8").replace('"./contexts.ts"]', '"./contexts.ts", "./slow.ts"]'));
    expect((await p.run(["index", "add", "docs", "--index", "support_docs"])).exitCode).toBe(0);
    server = await serve(p, { FABRA_API_KEYS: "team-key" });
  });

  afterAll(async () => {
    server.child.kill("SIGKILL");
    await server.child;
  });

  it("writes a private state file naming its pid and url", () => {
    const file = `${p.ledger}.server.json`;
    const state = JSON.parse(readFileSync(file, "utf8")) as { pid: number; url: string; token: string };
    expect(state.pid).toBe(server.child.pid);
    expect(state.url).toBe(server.url);
    expect(state.token).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  // From another process, in order (each step uses the records the steps before made): run, list, show, verify,
  // export, import, diff and replay all work.
  let a = "";
  let b = "";
  const file = () => join(p.dir, "a.json");

  it("from another process: run two contexts, and list them newest first", async () => {
    const first = await p.run([
      "context",
      "run",
      "supportContext",
      "-i",
      "userId=u_1",
      "-i",
      "query=how do I reset my password?",
      "--json",
    ]);
    expect(first.exitCode, first.stderr).toBe(0);
    a = (JSON.parse(first.stdout) as { context_id: string }).context_id;
    const second = await p.run([
      "context",
      "run",
      "supportContext",
      "-i",
      "userId=u_3",
      "-i",
      "query=rate limit exceeded",
      "--json",
    ]);
    b = (JSON.parse(second.stdout) as { context_id: string }).context_id;

    const list = await p.run(["context", "list", "--format", "json"]);
    expect(list.exitCode, list.stderr).toBe(0);
    expect(ids(list.stdout)).toEqual([b, a]);
  });

  it("from another process: show and verify one, verify all", async () => {
    const show = await p.run(["context", "show", a]);
    expect(show.exitCode, show.stderr).toBe(0);
    expect(show.stdout).toContain("Record integrity verified");
    expect(show.stdout).toContain("Forgot password");

    expect((await p.run(["context", "verify", a])).stdout).toContain("✓ Record integrity verified");
    const all = await p.run(["context", "verify", "--all"]);
    expect(all.exitCode, all.stderr).toBe(0);
    expect(all.stdout).toMatch(/2 records verified/);
  });

  it("from another process: export, import it again (already there), import a spec vector", async () => {
    expect((await p.run(["context", "export", a, "-o", file()])).exitCode).toBe(0);
    const again = await p.run(["context", "import", file()]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toContain("already in the ledger");
    const vector = join(FIXTURES, "crs-001", "plain.json");
    const imported = await p.run(["context", "import", vector]);
    expect(imported.stdout).toContain("Imported ctx_0190a1b2-0000-7000-8000-000000000001");
    // Through the server too, the row is marked imported (the per-run token's append carries it).
    const shown = await p.run(["context", "show", "ctx_0190a1b2-0000-7000-8000-000000000001"]);
    expect(shown.stdout).toContain("IMPORTED");
  });

  it("from another process: diff two records, and a record with its exported file", async () => {
    const diff = await p.run(["context", "diff", a, b]);
    expect(diff.exitCode, diff.stderr).toBe(0);
    expect(diff.stdout.split("\n")[0]).toMatch(/^content \d+\.\d% similar .*inputs: 2 changed/);
    expect(diff.stdout).toMatch(/~ query: "how do I reset my password\?" → "rate limit exceeded"/);
    const json = await p.run(["context", "diff", a, file(), "--format", "json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({ verified: true, diff: { same_evidence: true } });
  });

  it("from another process: replay from the record and live (a new record linked to the first)", async () => {
    const replay = await p.run(["context", "replay", a]);
    expect(replay.exitCode, replay.stderr).toBe(0);
    expect(replay.stdout).toContain("✓ content reproduced exactly");
    const live = await p.run(["context", "replay", a, "--live", "--format", "json"]);
    const liveResult = JSON.parse(live.stdout) as { mode: string; original_id: string; context_id: string };
    expect(liveResult).toMatchObject({ mode: "live", original_id: a });
    const linked = await p.run(["context", "show", liveResult.context_id, "--format", "json"]);
    expect(JSON.parse(linked.stdout).record.integrity.previous_context_id).toBe(a);
  });

  it("commands that need the file itself say who holds it", async () => {
    const features = await p.run(["features", "get", "userTier", "u_1"]);
    expect(features.exitCode).toBe(3);
    expect(features.stderr).toContain(`held by a fabra server (PID ${server.child.pid}) at ${server.url}`);
    expect(features.stderr).not.toMatch(/\n\s+at /);
  });

  it("keeps API keys required over HTTP while the CLI uses its local token", async () => {
    expect((await fetch(`${server.url}/v1/contexts`)).status).toBe(401);
    expect((await fetch(`${server.url}/v1/contexts`, { headers: { authorization: "Bearer team-key" } })).status).toBe(
      200,
    );
  });

  it("a second server on the same file is refused, naming the first", async () => {
    const second = await p.spawn(["serve", "--port", "0"]);
    expect(second.exitCode).toBe(3);
    expect(second.stderr).toContain(`already serving ${p.ledger} at ${server.url}`);
  });

  it("takes the ingest consumer's retry settings as `fabra worker` does, refusing bad ones before it starts", async () => {
    const attempts = await p.spawn(["serve", "--port", "0", "--max-attempts", "0"]);
    expect(attempts.exitCode).not.toBe(0);
    expect(attempts.stderr).toContain('--max-attempts "0" is not a positive whole number');
    const idle = await p.spawn(["serve", "--port", "0", "--claim-idle", "soon"]);
    expect(idle.exitCode).not.toBe(0);
    expect(idle.stderr).toContain('--claim-idle "soon" is not a duration');
    const help = await p.spawn(["serve", "--help"]);
    expect(help.stdout).toMatch(/--claim-idle <duration>[\s\S]*--max-attempts <n>/);
  });
});

describe("SIGTERM", () => {
  it("drains the requests in flight (none lost), closes the file and removes the state file", async () => {
    const p = project();
    expect((await p.runInSandbox(["init", p.cwd, "--template", "basic"])).exitCode).toBe(0);
    writeFileSync(join(p.cwd, "slow.ts"), SLOW_MODULE);
    const config = join(p.cwd, "fabra.config.ts");
    writeFileSync(
      config,
      readFileSync(config, "utf8").replace(
        /definitions: \[([^\]]*)\]/,
        (_m, list: string) => `definitions: [${list}, "./slow.ts"]`,
      ),
    );
    const { child, url } = await serve(p);
    const requests = Array.from({ length: 16 }, (_, n) =>
      fetch(`${url}/v1/context/slowContext`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ n }),
      }),
    );
    // Wait until all 16 are running in the server (each takes 400 ms): the in-flight gauge counts them (and this probe).
    for (;;) {
      const metrics = await (await fetch(`${url}/metrics`)).text();
      if (Number(/^fabra_http_requests_in_flight (\d+)$/m.exec(metrics)?.[1]) >= 17) break;
    }
    child.kill("SIGTERM");
    const responses = await Promise.all(requests);
    expect(responses.map((r) => r.status)).toEqual(responses.map(() => 200));
    const made = await Promise.all(responses.map((r) => r.json() as Promise<{ context_id: string; content: string }>));
    for (const [n, m] of made.entries()) expect(m.content).toBe(`slow ${n}`);

    const exited = await child;
    expect(exited.exitCode).toBe(0);
    expect(exited.stdout).toContain("SIGTERM: shutting down");
    expect(exited.stdout).toContain("fabra server stopped");
    expect(existsSync(`${p.ledger}.server.json`)).toBe(false);
    await expect(fetch(`${url}/health`)).rejects.toThrow();

    const list = await p.run(["context", "list", "--function", "slowContext", "--limit", "100", "--format", "json"]);
    expect(list.exitCode, list.stderr).toBe(0); // straight from the file now
    expect(ids(list.stdout).sort()).toEqual(made.map((m) => m.context_id).sort());
  });
});

describe("fabra context diff (CLI)", () => {
  const p = project();
  const pairs = [
    ["features", "features_unicode_numbers"],
    ["retrieval", "retrieval_drops_signed"],
  ] as const;

  it("prints the golden text and JSON for record files", async () => {
    for (const [name, a] of pairs) {
      const args = [
        "context",
        "diff",
        join(FIXTURES, "crs-001", `${a}.json`),
        join(FIXTURES, "diff", `${name}.b.json`),
      ];
      const text = await p.runInSandbox(args);
      expect(text.exitCode, text.stderr).toBe(0);
      expect(text.stdout + "\n").toBe(readFileSync(join(FIXTURES, "diff", `${name}.diff.txt`), "utf8"));
      const json = await p.runInSandbox([...args, "--format", "json"]);
      expect(json.stdout + "\n").toBe(readFileSync(join(FIXTURES, "diff", `${name}.diff.json`), "utf8"));
    }
  });

  it("colours the unified diff unless NO_COLOR, and exits 1 when a record fails verification", async () => {
    const args = [
      "context",
      "diff",
      join(FIXTURES, "crs-001", "retrieval_drops_signed.json"),
      join(FIXTURES, "diff", "retrieval.b.json"),
    ];
    // A child process: colour is decided from the environment once per process.
    const coloured = await p.spawnInSandbox(args, { env: { NO_COLOR: "", FORCE_COLOR: "1" } });
    expect(coloured.stdout).toContain("\u001b[32m+Doc C explains rate limits.\u001b[39m");
    expect(coloured.stdout).toContain("\u001b[31m-Doc A says");

    const tampered = join(p.dir, "tampered.json");
    writeFileSync(
      tampered,
      readFileSync(join(FIXTURES, "diff", "retrieval.b.json"), "utf8").replace("rate limits", "rate limit"),
    );
    const r = await p.runInSandbox([
      "context",
      "diff",
      join(FIXTURES, "crs-001", "retrieval_drops_signed.json"),
      tampered,
    ]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/^B .*✗ \w+ mismatch: NOT verified/m);
  });
});
