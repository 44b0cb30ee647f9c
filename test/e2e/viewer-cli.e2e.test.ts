// `fabra ui` (the built CLI): prints the viewer's URL and opens nothing; the page lists the project's records;
// `context list` takes the content filters, and passes them to the server holding the ledger file.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ResultPromise } from "execa";
import { expectCleanError, sandbox } from "../helpers/cli.js";

const box = sandbox("fabra-ui-cli-", {}, { inProcess: true });
let child: ResultPromise | undefined;
const cwd = `${box.dir}/bot`;
let u1 = "";
let u2 = "";

beforeAll(async () => {
  expect((await box.run(["init", cwd, "--template", "basic"])).exitCode).toBe(0);
  const run = async (userId: string) => {
    const r = await box.run(
      ["context", "run", "greetingContext", "--input", `userId=${userId}`, "--input", "message=hi", "--json"],
      { cwd },
    );
    expect(r.exitCode, String(r.stderr)).toBe(0);
    return (JSON.parse(String(r.stdout)) as { context_id: string }).context_id;
  };
  u1 = await run("u_1");
  u2 = await run("u_2");
}, 60_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill("SIGTERM");
    await child.catch(() => undefined);
  }
});

async function contextIds(args: string[]): Promise<string[]> {
  const r = await box.run(["context", "list", "--json", ...args], { cwd });
  expect(r.exitCode, String(r.stderr)).toBe(0);
  return (JSON.parse(String(r.stdout)) as { items: { context_id: string }[] }).items.map((i) => i.context_id);
}

describe("fabra ui and the context list filters", () => {
  it("filters `context list` by feature value, input, status and drops in the ledger, with clean errors", async () => {
    expect(await contextIds(["--feature", "userTier=enterprise"])).toEqual([u1]);
    expect(await contextIds(["--input", "userId=u_2", "--since", "1h"])).toEqual([u2]);
    expectCleanError(
      await box.run(["context", "list", "--status", "fine"], { cwd }),
      2,
      /--status "fine" is not a freshness status/,
    );
    expectCleanError(await box.run(["context", "list", "--feature", "tier"], { cwd }), 2, /is not name=value/);
  });
});

describe("fabra ui", () => {
  let url = "";
  beforeAll(async () => {
    child = box.spawn(["ui", "--port", "0"], { cwd }) as unknown as ResultPromise;
    url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child?.stdout?.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /the record viewer is at (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1] as string);
      });
      void child?.then((r) => reject(new Error(`ui exited early (${r.exitCode}): ${r.stderr}`)));
    });
  }, 60_000);

  it("prints the viewer's URL; the page lists the records; the API and the CLI filter through the server", async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/ui$/);
    const page = await fetch(url);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("Context records");
    expect(html.match(/data-id="ctx_/g)).toHaveLength(2);
    const filtered = await fetch(`${url}?feature=userTier%3Dpro`);
    expect((await filtered.text()).match(/data-id="ctx_/g)).toHaveLength(1);
    const api = new URL(url).origin;
    const page2 = (await (await fetch(`${api}/v1/contexts?since=1h&feature=userTier%3Denterprise`)).json()) as {
      items: { context_id: string }[];
    };
    expect(page2.items.map((i) => i.context_id)).toEqual([u1]);
    // The server holds the DuckDB file now: `context list` goes through it (the remote store), filters and all.
    expect(await contextIds(["--feature", "openTickets=2", "--input", "userId=u_1"])).toEqual([u1]);
  });
});
