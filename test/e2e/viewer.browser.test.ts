// The record viewer in a real browser: Debian's Chromium driven by playwright-core, against an in-process
// `fabra serve` with API keys and a checkpoint signer key. One browser for the file. It walks the incident workflow
// (list → filter by a feature value → record → replay → compare), checks that untrusted record content renders as
// inert text, the login cookie, that no request leaves the server's origin, and screenshots the record page.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/config/resolve.js";
import { createFabraFromConfig, type FabraRuntime } from "../../src/engine/create.js";
import { context, entity, feature, retriever } from "../../src/index.js";
import { startServer, type RunningServer } from "../../src/server/serve.js";
import { generateNoteKeys } from "../../src/tlog/note.js";

const KEY = "viewer-test-key";
const XSS_SCRIPT = "<script>window.__xss = 'script'</script>";
const XSS_IMG = `"><img src=x onerror="window.__xss = 'img'">`;

let runtime: FabraRuntime;
let server: RunningServer;
let browser: BrowserContext;
let origin: string;
const ids: Record<string, string> = {};
const requests: string[] = [];
const dialogs: string[] = [];

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "fabra-viewer-"));
  const keys = generateNoteKeys("fabra.test/viewer");
  writeFileSync(join(dir, "ledger.key"), `${keys.signerKey}\n`, { mode: 0o600 });
  const config = resolveConfig(
    {
      config: {
        ledger: { keyFile: "ledger.key", origin: "fabra.test/viewer" },
        stores: { offline: { type: "duckdb", path: join(dir, "fabra.duckdb") } },
      },
      configPath: null,
      rootDir: dir,
    },
    {},
    dir,
  );
  const tiers: Record<string, string> = { u_1: "enterprise", u_2: "free", u_3: "enterprise", u_x: XSS_IMG };
  const user = entity("user");
  const userTier = feature({ entity: user }, (id: string) => tiers[id] ?? "free");
  const docs = retriever({ index: "kb", topK: 3 });
  const support = context(
    { maxTokens: 60, inputs: { userId: "string", query: "string" } },
    async ({ userId, query }: { userId: string; query: string }) => {
      const tier = await userTier.get(userId);
      const hits = await docs(query);
      return [
        { content: "You answer support questions.", priority: 0, required: true },
        { content: `The user's tier is ${tier}.`, priority: 1, required: true },
        ...hits.map((h, i) => ({ content: h.content, priority: 2 + i, source: h })),
      ];
    },
  );
  runtime = await createFabraFromConfig(config, { objects: [{ user, userTier, docs, support }], warn: () => {} });
  await runtime.index.add("kb", [
    {
      id: "reset",
      content: "To reset your password open the sign-in page and choose Forgot password.",
      sourceUrl: "https://docs.example.com/reset",
    },
    {
      id: "evil",
      content: `Password help ${XSS_SCRIPT} ${XSS_IMG} reset now.`,
      sourceUrl: "javascript:window.__xss='link'",
    },
    {
      id: "billing",
      content:
        "Invoices are sent monthly to the billing contact, with the amount due, the due date and a long list of line items that makes this chunk too big to fit.",
    },
  ]);
  for (const [name, userId, query] of [
    ["u1", "u_1", "reset password"],
    ["u2", "u_2", "reset password"],
    ["u3", "u_3", "billing invoices"],
    ["xss", "u_x", `${XSS_SCRIPT} password`],
  ] as const) {
    ids[name] = (await runtime.runContext("support", { userId, query })).id;
  }
  server = await startServer({
    runtime,
    host: "127.0.0.1",
    port: 0,
    bodyLimit: 1 << 20,
    apiKeys: [KEY],
    log: () => {},
  });
  origin = new URL(server.url).origin;
  browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "fabra-chromium-")), {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  browser.on("request", (r) => requests.push(r.url()));
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function page(): Promise<Page> {
  const p = browser.pages()[0] ?? (await browser.newPage());
  p.removeAllListeners("dialog");
  p.on("dialog", (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  return p;
}

/** The context ids of the list page's rows, top to bottom. */
async function rowIds(p: Page): Promise<(string | null)[]> {
  return Promise.all((await p.locator("#records tbody tr").all()).map((row) => row.getAttribute("data-id")));
}

describe("the record viewer in Chromium", () => {
  it("asks for a key: none → the login form, a wrong one refused, the right one kept in an http-only SameSite=Strict cookie", async () => {
    const p = await page();
    await p.goto(`${server.url}/ui?feature=userTier%3Denterprise`);
    expect(new URL(p.url()).pathname).toBe("/ui/login");
    await p.fill("#key", "wrong-key");
    const refused = await Promise.all([
      p.waitForResponse((r) => r.url().endsWith("/ui/login")),
      p.click("button[type=submit]"),
    ]);
    expect(refused[0].status()).toBe(401);
    expect(await p.textContent("#login-error")).toContain("not valid");
    await p.fill("#key", KEY);
    await Promise.all([p.waitForURL(/\/ui\?feature=/), p.click("button[type=submit]")]);
    const cookie = (await browser.cookies(`${server.url}/ui`)).find((c) => c.name === "fabra_ui_key");
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/ui" });
    // The page came back to where it was going (the list, filtered).
    expect(await p.locator("#records tbody tr").count()).toBe(2);
    // The API itself still wants its header: the cookie is the viewer's only.
    expect((await p.request.get(`${server.url}/v1/contexts`)).status()).toBe(401);
  });

  it("lists newest first and filters in the database by feature value, input and drops", async () => {
    const p = await page();
    await p.goto(`${server.url}/ui`);
    const all = await rowIds(p);
    expect(all).toEqual([ids.xss, ids.u3, ids.u2, ids.u1]);
    await p.fill("input[name=feature]", "userTier=enterprise");
    await Promise.all([p.waitForURL(/feature=userTier/), p.click("#filters button[type=submit]")]);
    const enterprise = await rowIds(p);
    expect(enterprise).toEqual([ids.u3, ids.u1]);
    await p.goto(`${server.url}/ui?input=userId%3Du_2`);
    expect(await p.locator("#records tbody tr").getAttribute("data-id")).toBe(ids.u2);
    await p.goto(`${server.url}/ui?has_drops=true&since=1h`);
    expect(await p.locator("#records tbody tr[data-id]").count()).toBeGreaterThan(0);
    const cells = await p.locator("#records tbody tr").first().locator("td").allTextContents();
    expect(cells[4]).toMatch(/^\d+ \/ 60$/);
  });

  it("shows a record: verified with inclusion, features, chunks, the budget bar, drops and content parts", async () => {
    const p = await page();
    await p.goto(`${server.url}/ui?feature=userTier%3Denterprise`);
    await Promise.all([p.waitForURL(/\/ui\/records\//), p.click(`a[href="/ui/records/${ids.u1}"]`)]);
    expect(await p.textContent("#verified")).toContain("verified");
    expect(await p.textContent("#inclusion")).toMatch(/✓ leaf \d+ under a signed checkpoint/);
    expect(await p.textContent("#verification")).toContain("record_hash");
    expect(await p.textContent("#features [data-feature=userTier]")).toContain('"enterprise"');
    expect(await p.locator("#chunks meter").count()).toBeGreaterThan(0);
    expect(await p.locator("#budget svg.budget rect").count()).toBeGreaterThanOrEqual(2);
    expect(await p.textContent("#budget")).toMatch(/dropped \d+ tokens/);
    expect(await p.locator("#dropped tbody tr").count()).toBeGreaterThan(0);
    expect(await p.locator("#content mark.part").count()).toBeGreaterThan(0);
    expect(await p.locator('#chunks a[href="https://docs.example.com/reset"]').count()).toBe(1);

    const png = await p.screenshot({ fullPage: true });
    expect(png.subarray(1, 4).toString("latin1")).toBe("PNG");
    expect(png.length).toBeGreaterThan(10_000);
    for (const region of [
      "#verification",
      "#actions",
      "#inputs",
      "#features",
      "#chunks",
      "#budget",
      "#content",
      "#lineage",
    ]) {
      const box = await p.locator(region).boundingBox();
      expect(box, region).not.toBeNull();
      expect(box?.width ?? 0, region).toBeGreaterThan(200);
      expect(box?.height ?? 0, region).toBeGreaterThan(20);
      expect(await p.locator(region).isVisible(), region).toBe(true);
    }
  });

  it("replays a record with its recorded data and shows the diff against the original", async () => {
    const p = await page();
    await p.goto(`${server.url}/ui/records/${ids.u1}`);
    await Promise.all([p.waitForURL(/\/ui\/diff\?/), p.click("#replay-recorded")]);
    expect(await p.textContent("#replay-result")).toContain("reproduced the original content exactly");
    const replayId = new URL(p.url()).searchParams.get("b") as string;
    expect(await p.textContent("#side-b")).toContain(replayId);
    // The replay is found by its original.
    await p.goto(`${server.url}/ui?replays_of=${ids.u1}`);
    expect(await p.locator("#records tbody tr").getAttribute("data-id")).toBe(replayId);
  });

  it("explains a record at a larger budget and downloads its pack", async () => {
    const p = await page();
    await p.goto(`${server.url}/ui/records/${ids.u3}`);
    await p.fill("#record-extra-actions input[name=max_tokens]", "100000");
    await Promise.all([p.waitForURL(/\/explain\?max_tokens=100000/), p.click("#explain")]);
    expect(await p.textContent("h1")).toContain("at max 100000");
    const fates = await p.locator("#explain-items tbody tr td:last-child").allTextContents();
    expect(fates.length).toBeGreaterThan(0);
    expect(fates.every((f) => f === "kept")).toBe(true);
    expect(await p.locator("#explain-items tr.changed").count()).toBeGreaterThan(0); // what the record dropped
    await p.goto(`${server.url}/ui/records/${ids.u3}`);
    const [download] = await Promise.all([p.waitForEvent("download"), p.click("#download-pack")]);
    expect(download.suggestedFilename()).toBe(`${ids.u3}.zip`);
    const saved = join(mkdtempSync(join(tmpdir(), "fabra-pack-")), "pack.zip");
    await download.saveAs(saved);
    expect(readFileSync(saved).subarray(0, 2).toString()).toBe("PK");
  });

  it("compares two ticked records side by side: features old → new, chunks, drops, content", async () => {
    const p = await page();
    await p.goto(`${server.url}/ui?input=userId%3Du_1`);
    await p.goto(`${server.url}/ui`);
    await p.check(`input[name=pick][value="${ids.u1}"]`);
    await p.check(`input[name=pick][value="${ids.u2}"]`);
    // The script allows two ticks at most.
    expect(await p.locator(`input[name=pick][value="${ids.u3}"]`).isDisabled()).toBe(true);
    await Promise.all([p.waitForURL(/\/ui\/diff\?/), p.click("button[data-compare-button]")]);
    const features = await p.textContent("#diff-features");
    expect(features).toContain("userTier(u_");
    expect(await p.textContent("#diff-inputs")).toContain("userId");
    expect(await p.locator("#diff-content table.side tr").count()).toBeGreaterThan(0);
    expect(await p.textContent("#summary")).toMatch(/verified/);
  });

  it("renders untrusted record content as inert text: no script runs, no dialog, no javascript: link", async () => {
    const p = await page();
    await p.goto(`${server.url}/ui/records/${ids.xss}`);
    await p.waitForLoadState("load");
    expect(await p.evaluate(() => (globalThis as { __xss?: unknown }).__xss)).toBeUndefined();
    expect(await p.locator("main img").count()).toBe(0);
    expect(await p.locator("main script").count()).toBe(0);
    expect(await p.locator('a[href^="javascript:"]').count()).toBe(0);
    expect(await p.textContent("#inputs")).toContain(XSS_SCRIPT);
    expect(await p.textContent("#features")).toContain("onerror=");
    expect(await p.textContent("#chunks")).toContain(XSS_SCRIPT);
    expect(await p.textContent("#chunks .source-text")).toContain("javascript:window.__xss");
    await p.goto(`${server.url}/ui`);
    await p.goto(`${server.url}/ui/diff?a=${ids.xss}&b=${ids.u1}`);
    expect(await p.evaluate(() => (globalThis as { __xss?: unknown }).__xss)).toBeUndefined();
    expect(await p.textContent("#diff-inputs")).toContain(XSS_SCRIPT);
    expect(dialogs).toEqual([]);
    const res = await p.request.get(`${server.url}/ui/records/${ids.xss}`);
    expect(res.headers()["content-security-policy"]).toContain("script-src 'self'");
    expect(await res.text()).not.toContain(XSS_SCRIPT);
  });

  it("refuses a form posted from another site, and signs out", async () => {
    const p = await page();
    const forged = await p.request.post(`${server.url}/ui/records/${ids.u1}/replay`, {
      headers: { origin: "https://evil.example" },
      form: { mode: "recorded" },
    });
    expect(forged.status()).toBe(403);
    await p.goto(`${server.url}/ui`);
    await Promise.all([p.waitForURL(/\/ui\/login/), p.click("header form button")]);
    await p.goto(`${server.url}/ui`);
    expect(new URL(p.url()).pathname).toBe("/ui/login");
  });

  it("loaded nothing from outside the server's origin", () => {
    expect(requests.length).toBeGreaterThan(10);
    expect(requests.filter((u) => new URL(u).origin !== origin)).toEqual([]);
  });
});
