// POST /v1/contexts/:id/explain and GET /v1/contexts/:id/pack: behind the API keys like every /v1 route; explain
// writes nothing and answers what the CLI prints; the pack is a zip whose record and proof check offline.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { strFromU8, unzipSync } from "fflate";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/config/resolve.js";
import { createFabraFromConfig, type FabraRuntime } from "../../src/engine/create.js";
import { checkInclusionProof, type InclusionProofFile } from "../../src/engine/ledger/log.js";
import { context } from "../../src/index.js";
import { startServer, type RunningServer } from "../../src/server/serve.js";
import { generateNoteKeys, parseVerifierKey } from "../../src/tlog/note.js";

const API_KEY = "incident-routes-key";
const keys = generateNoteKeys("fabra.test/incident");
let runtime: FabraRuntime;
let server: RunningServer;
let id = "";

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "fabra-incident-routes-"));
  writeFileSync(join(dir, "ledger.key"), `${keys.signerKey}\n`, { mode: 0o600 });
  const config = resolveConfig(
    {
      config: {
        ledger: { keyFile: "ledger.key", origin: "fabra.test/incident" },
        stores: { offline: { type: "duckdb", path: join(dir, "fabra.duckdb") } },
      },
      configPath: null,
      rootDir: dir,
    },
    {},
    dir,
  );
  const tight = context({ maxTokens: 8 }, () => [
    { id: "must", content: "Answer briefly.", required: true },
    { id: "long", content: "A long paragraph of background that will not fit the budget at all.", priority: 1 },
    { id: "short", content: "Be kind.", priority: 2 },
  ]);
  runtime = await createFabraFromConfig(config, { objects: [{ tight }], warn: () => {} });
  server = await startServer({
    runtime,
    host: "127.0.0.1",
    port: 0,
    bodyLimit: 1024 * 1024,
    apiKeys: [API_KEY],
    services: [],
    log: () => {},
  });
  id = (await runtime.runContext("tight", {})).id;
});
afterAll(async () => {
  await server.close();
});

const call = (method: "GET" | "POST", path: string, body?: unknown, key: string | null = API_KEY) =>
  fetch(server.url + path, {
    method,
    headers: {
      ...(key === null ? {} : { authorization: `Bearer ${key}` }),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

describe("incident routes", () => {
  it("need an API key", async () => {
    expect((await call("POST", `/v1/contexts/${id}/explain`, { max_tokens: 100 }, null)).status).toBe(401);
    expect((await call("GET", `/v1/contexts/${id}/pack`, undefined, "wrong")).status).toBe(401);
  });

  it("explain: both budgets' ledgers and each item's fate, with backfill, and nothing written", async () => {
    const before = await runtime.ledger.count();
    const res = await call("POST", `/v1/contexts/${id}/explain`, { max_tokens: 100 });
    expect(res.status).toBe(200);
    const e = (await res.json()) as {
      reproduces: boolean;
      items: { key: string; recorded: string; explained: string }[];
      explained: { dropped: object };
    };
    expect(e.reproduces).toBe(true);
    expect(e.items.map((i) => [i.key, i.recorded, i.explained])).toEqual([
      ["must", "kept", "kept"],
      ["long", "dropped", "kept"],
      ["short", "dropped", "kept"],
    ]);
    const backfill = (await (
      await call("POST", `/v1/contexts/${id}/explain`, { max_tokens: 8, strategy: "backfill" })
    ).json()) as { items: { key: string; explained: string }[] };
    expect(backfill.items.find((i) => i.key === "short")?.explained).toBe("kept");
    expect(await runtime.ledger.count()).toBe(before);

    const bad = await call("POST", `/v1/contexts/${id}/explain`, { max_tokens: 0 });
    expect(bad.status).toBe(400);
    // The one budget parser's message (the CLI flag and the viewer's field say the same).
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain(
      "max_tokens 0 is not a whole number ≥ 1, or none for no budget",
    );
    expect((await call("POST", `/v1/contexts/${id}/explain`, { max_tokens: "4000" })).status).toBe(400);
    expect((await call("POST", `/v1/contexts/${id}/explain`, {})).status).toBe(400);
    expect(
      (await call("POST", "/v1/contexts/ctx_0190a1b2-0000-7000-8000-00000000dead/explain", { max_tokens: 5 })).status,
    ).toBe(404);
  });

  it("pack: a zip whose record is the stored text and whose proof checks offline", async () => {
    const res = await call("GET", `/v1/contexts/${id}/pack`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/zip");
    expect(res.headers.get("content-disposition")).toBe(`attachment; filename="${id}.zip"`);
    const entries = unzipSync(new Uint8Array(await res.arrayBuffer()));
    const recordText = strFromU8(entries["record.json"] as Uint8Array);
    expect(recordText).toBe(`${(await runtime.ledger.row(id)).canonicalText}\n`);
    const proof = JSON.parse(strFromU8(entries["proof.json"] as Uint8Array)) as InclusionProofFile;
    const inclusion = checkInclusionProof(
      proof,
      Buffer.from(recordText.trimEnd(), "utf8"),
      id,
      parseVerifierKey(keys.verifierKey),
    );
    expect(inclusion.ok).toBe(true);
    expect(strFromU8(entries["checkpoint.txt"] as Uint8Array)).toBe(proof.checkpoint);
  });
});
