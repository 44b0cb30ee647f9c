// The record viewer's routes without a browser: the loopback rule (no keys: no login), the security headers on
// every page, a record altered in the file shown NOT verified with both hashes, a row that is not a record shown
// as such, bad filters and unknown records as HTML error pages, and forged form posts refused.
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { context, createFabra, type FabraRuntime } from "../../src/index.js";
import { startServer, type RunningServer } from "../../src/server/serve.js";
import { tempFile } from "../helpers/temp.js";

let runtime: FabraRuntime;
let server: RunningServer;
const ids: string[] = [];

beforeAll(async () => {
  const path = tempFile("fabra-viewer-routes-", "fabra.duckdb");
  const hello = context({ inputs: { who: "string" } }, ({ who }: { who: string }) => [
    { content: `hello ${who}`, required: true },
  ]);
  const first = await createFabra({
    stores: { offline: { type: "duckdb", path } },
    definitions: { hello },
    warn: () => {},
  });
  for (const who of ["ann", "bob", "cy"]) ids.push((await first.runContext("hello", { who })).id);
  await first.close();
  // Alter one record in the file, and replace another with text that is not a record.
  const db = await DuckDBInstance.create(path);
  const c = await db.connect();
  await c.run(
    "UPDATE fabra_context_records SET canonical_text = replace(canonical_text, 'hello ann', 'hello eve') WHERE context_id = $1",
    [ids[0] as string],
  );
  await c.run("UPDATE fabra_context_records SET canonical_text = '{broken' WHERE context_id = $1", [ids[1] as string]);
  c.closeSync();
  db.closeSync();
  runtime = await createFabra({
    stores: { offline: { type: "duckdb", path } },
    definitions: { hello },
    warn: () => {},
  });
  server = await startServer({ runtime, host: "127.0.0.1", port: 0, bodyLimit: 1 << 20, apiKeys: [], log: () => {} });
});
afterAll(async () => {
  await server?.close();
});

const get = (path: string, init?: RequestInit) => fetch(server.url + path, { redirect: "manual", ...init });

describe("the viewer's routes", () => {
  it("explains a record at another budget and hands out its pack; an altered record is neither", async () => {
    const page = await get(`/ui/records/${ids[2]}`);
    const html = await page.text();
    expect(html).toContain(`action="/ui/records/${ids[2]}/explain"`);
    expect(html).toContain(`href="/ui/records/${ids[2]}/pack"`);
    const explained = await get(`/ui/records/${ids[2]}/explain?max_tokens=1&strategy=backfill`);
    expect(explained.status).toBe(200);
    expect(explained.headers.get("content-security-policy")).toMatch(/default-src 'self'/);
    const text = await explained.text();
    expect(text).toContain('id="explain-items"');
    expect(text).toMatch(/at max 1/);
    expect(text).toMatch(/strategy backfill/);
    const pack = await get(`/ui/records/${ids[2]}/pack`);
    expect(pack.status).toBe(200);
    expect(pack.headers.get("content-disposition")).toBe(`attachment; filename="${ids[2]}.zip"`);
    // The same download headers as GET /v1/contexts/:id/pack (api/pack-download.ts).
    expect(pack.headers.get("content-type")).toBe("application/zip");
    expect(pack.headers.get("x-content-type-options")).toBe("nosniff");
    expect(
      Buffer.from(await pack.arrayBuffer())
        .subarray(0, 2)
        .toString(),
    ).toBe("PK");
    expect((await get(`/ui/records/${ids[0]}/explain?max_tokens=5`)).status).toBe(422);
    expect((await get(`/ui/records/${ids[0]}/pack`)).status).toBe(422);
    expect((await get(`/ui/records/${ids[2]}/explain?max_tokens=0`)).status).toBe(400);
    const notDigits = await get(`/ui/records/${ids[2]}/explain?max_tokens=1e3`);
    expect(notDigits.status).toBe(400);
    expect(await notDigits.text()).toContain("max_tokens &quot;1e3&quot; is not a whole number ≥ 1");
    expect((await get(`/ui/records/${ids[2]}/explain?max_tokens=`)).status).toBe(200); // empty: no budget
  });

  it("lets loopback clients in without a login when no keys are configured, with strict headers on every page", async () => {
    for (const path of ["/ui", `/ui/records/${ids[2]}`, "/ui/login", "/ui/nope"]) {
      const res = await get(path);
      expect(res.headers.get("content-security-policy"), path).toMatch(/default-src 'self'.*script-src 'self'/);
      expect(res.headers.get("x-frame-options"), path).toBe("DENY");
      expect(res.headers.get("content-type"), path).toMatch(/^text\/html/);
    }
    expect((await get("/ui")).status).toBe(200);
    expect(await (await get("/ui/login")).text()).toContain("only accepts clients on its own host");
    const css = await get("/ui/assets/app.css");
    expect(css.headers.get("content-type")).toMatch(/^text\/css/);
    expect((await get("/ui/assets/app.js")).headers.get("content-type")).toMatch(/^text\/javascript/);
  });

  it("shows an altered record as NOT verified, with the recorded and the recomputed hash", async () => {
    const html = await (await get(`/ui/records/${ids[0]}`)).text();
    expect(html).toContain("NOT verified: content_hash mismatch");
    expect(html).toMatch(/recorded {2}sha256:[0-9a-f]{64}/);
    expect(html).toMatch(/recomputed sha256:[0-9a-f]{64}/);
    expect(html).toContain("not checked: the record itself does not verify");
    expect(html).toContain("hello eve");
    const intact = await (await get(`/ui/records/${ids[2]}`)).text();
    expect(intact).toContain("✓ verified");
  });

  it("shows a row that is not a record as such, and its text as text", async () => {
    const res = await get(`/ui/records/${ids[1]}`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("NOT verified");
    expect(html).toContain("The stored text is not a readable record");
    // The list still shows it (its columns), and content filters skip it.
    expect(await (await get("/ui")).text()).toContain(ids[1] as string);
    expect(await (await get("/ui?input=who%3Dcy")).text()).not.toContain(ids[1] as string);
  });

  it("answers unknown records and bad filters with an HTML error page saying what to do", async () => {
    const missing = await get("/ui/records/ctx_0190a1b2-0000-7000-8000-00000000abcd");
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain("RECORD_NOT_FOUND");
    const bad = await get("/ui?since=yesterday-ish");
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/is not a time.*ISO-8601/s);
    const status = await get("/ui?status=fine");
    expect(status.status).toBe(400);
    expect(await status.text()).toContain("guaranteed, degraded, unknown");
  });

  it("refuses a form posted from another site, and will not replay an altered record", async () => {
    const forged = await get(`/ui/records/${ids[2]}/replay`, {
      method: "POST",
      headers: { origin: "https://evil.example", "content-type": "application/x-www-form-urlencoded" },
      body: "mode=recorded",
    });
    expect(forged.status).toBe(403);
    const crossSite = await get(`/ui/records/${ids[2]}/replay`, {
      method: "POST",
      headers: { "sec-fetch-site": "cross-site", "content-type": "application/x-www-form-urlencoded" },
      body: "mode=recorded",
    });
    expect(crossSite.status).toBe(403);
    const altered = await get(`/ui/records/${ids[0]}/replay`, {
      method: "POST",
      headers: { origin: server.url, "content-type": "application/x-www-form-urlencoded" },
      body: "mode=recorded",
    });
    expect(altered.status).toBe(422);
    expect(await altered.text()).toContain("will not be replayed");
    const ok = await get(`/ui/records/${ids[2]}/replay`, {
      method: "POST",
      headers: { origin: server.url, "content-type": "application/x-www-form-urlencoded" },
      body: "mode=recorded",
    });
    expect(ok.status).toBe(303);
    expect(ok.headers.get("location")).toMatch(/^\/ui\/diff\?a=ctx_.*&b=ctx_.*&replay=recorded$/);
  });

  it("sends the login form only to viewer pages afterwards", async () => {
    const html = await (await get("/ui/login?next=https://evil.example/")).text();
    expect(html).not.toContain("evil.example");
  });
});
