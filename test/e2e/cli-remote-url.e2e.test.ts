// `fabra --url` / FABRA_URL with FABRA_API_KEY: context show|verify|diff|list|export against a running `fabra serve`
// from a directory with no config and no database credentials; records are verified here on the bytes received
// (a server handing out an altered record is caught), and the output says where they came from.
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { ResultPromise } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { project, sandbox, VECTORS } from "../helpers/cli.js";
import { startServeProcess } from "../helpers/serve-process.js";

const NAMES = ["plain", "features_unicode_numbers", "empty_content"];
const vector = (name: string) =>
  JSON.parse(readFileSync(join(VECTORS, `${name}.json`), "utf8")) as {
    context_id: string;
    integrity: { record_hash: string };
  };

describe("the CLI against a remote fabra server (--url / FABRA_URL)", () => {
  const server = project(
    "fabra-remote-server-",
    { "fabra.config.json": JSON.stringify({ stores: { offline: { type: "duckdb", path: "fabra.duckdb" } } }) },
    {},
    { inProcess: true },
  );
  const support = sandbox("fabra-remote-client-", {}, { inProcess: true }); // no config, no database
  let serve: { child: ResultPromise; url: string };
  let tamperer: Server;
  let tamperUrl = "";
  const remote = (args: string[], env: Record<string, string> = {}) =>
    support.run(args, { env: { FABRA_URL: serve.url, FABRA_API_KEY: "support-key", ...env } });

  beforeAll(async () => {
    const imported = await server.run(["context", "import", ...NAMES.map((n) => join(VECTORS, `${n}.json`))]);
    expect(imported.exitCode, imported.stderr).toBe(0);
    serve = await startServeProcess([], { cwd: server.dir, env: { ...server.env, FABRA_API_KEY: "support-key" } });
    // A server that hands out the plain record with its content altered (and says nothing about it).
    const stored = await (
      await fetch(`${serve.url}/v1/contexts/${vector("plain").context_id}`, {
        headers: { "x-api-key": "support-key" },
      })
    ).text();
    const altered = stored.replace("User tier: premium", "User tier: platinum");
    expect(altered).not.toBe(stored);
    tamperer = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(altered);
    });
    await new Promise<void>((r) => tamperer.listen(0, "127.0.0.1", r));
    tamperUrl = `http://127.0.0.1:${(tamperer.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    serve?.child.kill("SIGTERM");
    await serve?.child;
    await new Promise((r) => tamperer?.close(r));
  });

  it("lists, shows, verifies (by id and by record hash) and exports, saying where the records came from", async () => {
    const listed = await remote(["context", "list", "--format", "json"]);
    expect(listed.exitCode, listed.stderr).toBe(0);
    const ids = (JSON.parse(listed.stdout) as { items: { context_id: string }[] }).items.map((i) => i.context_id);
    expect(ids.sort()).toEqual(NAMES.map((n) => vector(n).context_id).sort());

    const plain = vector("plain");
    const shown = await remote(["context", "show", plain.context_id]);
    expect(shown.exitCode, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(plain.context_id);
    expect(shown.stderr).toContain(`Records from the fabra server at ${serve.url}`);
    expect(shown.stderr).toContain("verified here on the bytes received");

    const verified = await remote(["context", "verify", plain.integrity.record_hash]);
    expect(verified.exitCode, verified.stderr).toBe(0);
    expect(verified.stdout).toContain(plain.context_id);

    const all = await remote(["context", "verify", "--all"]);
    expect(all.exitCode, all.stderr).toBe(0);
    expect(all.stdout).toMatch(/3 records verified/);

    const exported = await remote(["context", "export", plain.context_id]);
    const served = await (
      await fetch(`${serve.url}/v1/contexts/${plain.context_id}`, { headers: { "x-api-key": "support-key" } })
    ).text();
    expect(exported.stdout.trim()).toBe(served);

    const diff = await remote(["context", "diff", plain.context_id, vector("empty_content").integrity.record_hash]);
    expect(diff.exitCode, diff.stderr).toBe(0);
  });

  it("needs no store variables in a production shell", async () => {
    const result = await remote(["context", "show", vector("plain").context_id], { FABRA_ENV: "production" });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).not.toContain("FABRA_POSTGRES_URL");
  });

  it("takes --url over FABRA_URL", async () => {
    const result = await support.run(["--url", serve.url, "context", "list"], {
      env: { FABRA_URL: "http://127.0.0.1:1", FABRA_API_KEY: "support-key" },
    });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain(vector("plain").context_id);
  });

  it("catches a server handing out an altered record: verification is local, on the bytes received", async () => {
    const result = await remote(["context", "verify", vector("plain").context_id], { FABRA_URL: tamperUrl });
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/content_hash|record_hash/);
    expect(result.stderr).toContain(`Records from the fabra server at ${tamperUrl}`);
    const exported = await remote(["context", "export", vector("plain").context_id], { FABRA_URL: tamperUrl });
    expect(exported.exitCode).toBe(1);
    expect(exported.stdout).toBe("");
  });

  it("refuses a wrong key, a URL that is not http(s), and commands that need the runtime, each clearly", async () => {
    const wrongKey = await remote(["context", "list"], { FABRA_API_KEY: "nope" });
    expect(wrongKey.exitCode).toBe(2);
    expect(wrongKey.stderr).toContain("The API key is not valid");
    const badUrl = await remote(["context", "list"], { FABRA_URL: "ftp://x" });
    expect(badUrl.exitCode).toBe(2);
    expect(badUrl.stderr).toContain('FABRA_URL "ftp://x" is not an http(s) URL');
    const run = await remote(["context", "run", "chat"]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain("This command does not run against a fabra server");
  });
});
