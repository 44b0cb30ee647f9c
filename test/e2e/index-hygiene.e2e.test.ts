// `fabra index add|remove|drop` and `add --prune` as a user runs them: re-adding unchanged files is skipped, a
// deleted file is pruned, a removed document stops reaching `context run`; the same commands while `fabra serve`
// holds the DuckDB file go through it; mistakes are one clean line with exit 2 and change nothing.
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ResultPromise } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectCleanError, sandbox } from "../helpers/cli.js";
import { startServeProcess } from "../helpers/serve-process.js";

function project() {
  const box = sandbox("fabra-index-e2e-", {}, { inProcess: true });
  const cwd = join(box.dir, "bot");
  const run = (args: string[]) => box.run(args, { cwd });
  return { box, cwd, run };
}

const documents = async (p: ReturnType<typeof project>, index: string) =>
  (
    JSON.parse((await p.run(["index", "documents", "--index", index, "--json"])).stdout) as { documentId: string }[]
  ).map((d) => d.documentId);

describe("index hygiene in a local project", () => {
  const p = project();
  let first: Awaited<ReturnType<typeof p.run>>;
  beforeAll(async () => {
    expect((await p.box.run(["init", p.cwd])).exitCode).toBe(0);
    first = await p.run(["index", "add", "docs", "--index", "kb"]);
  });

  it("skips unchanged files, re-indexes a changed one and prunes a deleted one", async () => {
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/Indexed 3 documents as \d+ chunks into "kb"/);
    writeFileSync(join(p.cwd, "docs", "billing.md"), "# Billing\n\nInvoices now arrive weekly.\n");
    rmSync(join(p.cwd, "docs", "api-limits.md"));
    const again = await p.run(["index", "add", "docs", "--index", "kb", "--prune"]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/Indexed 1 document as 1 chunk into "kb"; 1 unchanged document skipped/);
    expect(again.stdout).toMatch(/Pruned 1 document \(1 chunk\) whose files are gone: docs\/api-limits\.md/);
  });

  it("removes a document by path, refusing an unknown one (removing nothing)", async () => {
    const wrong = await p.run(["index", "remove", "docs/biling.md", "--index", "kb"]);
    expectCleanError(
      wrong,
      2,
      /no document "docs\/biling\.md"; nothing was removed[\s\S]*Did you mean "docs\/billing\.md"/,
    );
    const removed = await p.run(["index", "remove", "docs/billing.md", "--index", "kb"]);
    expect(removed.stdout).toMatch(/Removed 1 document \(1 chunk\) from "kb": docs\/billing\.md/);
  });

  it("lists what is left, and drops the index", async () => {
    expect(await documents(p, "kb")).toEqual(["docs/password-reset.md"]);
    const dropped = await p.run(["index", "drop", "kb"]);
    expect(dropped.stdout).toMatch(/Dropped the index "kb" \(\d+ chunks?\)/);
  });

  it("refuses to drop an index that is not there", async () => {
    expectCleanError(await p.run(["index", "drop", "kb"]), 2, /There is no vector index "kb"/);
  });
});

describe("index commands while `fabra serve` holds the DuckDB file", () => {
  const p = project();
  let server: { child: ResultPromise; url: string } | undefined;
  beforeAll(async () => {
    expect((await p.box.run(["init", p.cwd])).exitCode).toBe(0);
    server = await startServeProcess([], { cwd: p.cwd, env: p.box.env });
  });
  afterAll(async () => {
    server?.child.kill("SIGKILL");
    await server?.child;
  });

  it("add and remove go through the server, and its contexts stop seeing a removed page", async () => {
    if (!server) throw new Error("serve did not start");
    const added = await p.run(["index", "add", "docs", "--index", "support_docs"]);
    expect(added.exitCode, added.stderr).toBe(0);
    expect(added.stdout).toMatch(/Indexed 3 documents/);
    const removed = await p.run(["index", "remove", "docs/password-reset.md", "--index", "support_docs"]);
    expect(removed.exitCode, removed.stderr).toBe(0);
    const res = await fetch(`${server.url}/v1/context/supportContext`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ userId: "u_1", query: "how do I reset my password" }),
    });
    const body = (await res.json()) as { content: string };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.content).not.toMatch(/Forgot password/i);
  });
});
