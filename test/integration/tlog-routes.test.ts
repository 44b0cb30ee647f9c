// GET /v1/ledger/checkpoint and GET /v1/contexts/:id/proof: behind the API keys like every /v1 route; the
// checkpoint and the proof verify offline with the verifier key alone; ?since=N gives a consistency proof that
// verifies from a saved checkpoint; the serve sequencer integrates new records after each append.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/config/resolve.js";
import { createFabraFromConfig, type FabraRuntime } from "../../src/engine/create.js";
import { checkInclusionProof, type InclusionProofFile, openCheckpoint } from "../../src/engine/ledger/log.js";
import { context } from "../../src/index.js";
import { startServer, type RunningServer } from "../../src/server/serve.js";
import { logSequencerService } from "../../src/server/services.js";
import { verifyConsistency } from "../../src/tlog/merkle.js";
import { generateNoteKeys, parseVerifierKey } from "../../src/tlog/note.js";

const API_KEY = "tlog-routes-key";
const keys = generateNoteKeys("fabra.test/routes");
const verifier = parseVerifierKey(keys.verifierKey);
let runtime: FabraRuntime;
let server: RunningServer;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "fabra-tlog-routes-"));
  writeFileSync(join(dir, "ledger.key"), `${keys.signerKey}\n`, { mode: 0o600 });
  const config = resolveConfig(
    {
      config: {
        ledger: { keyFile: "ledger.key", origin: "fabra.test/routes" },
        stores: { offline: { type: "duckdb", path: join(dir, "fabra.duckdb") } },
      },
      configPath: null,
      rootDir: dir,
    },
    {},
    dir,
  );
  const hello = context({}, () => [{ content: "hello", required: true }]);
  runtime = await createFabraFromConfig(config, { objects: [{ hello }], warn: () => {} });
  server = await startServer({
    runtime,
    host: "127.0.0.1",
    port: 0,
    bodyLimit: 1024 * 1024,
    apiKeys: [API_KEY],
    services: [logSequencerService(runtime)],
    log: () => {},
  });
});
afterAll(async () => {
  await server.close();
});

const get = (path: string, key: string | null = API_KEY) =>
  fetch(server.url + path, key === null ? {} : { headers: { authorization: `Bearer ${key}` } });

describe("transparency log routes", () => {
  it("need an API key", async () => {
    expect((await get("/v1/ledger/checkpoint", null)).status).toBe(401);
    expect((await get("/v1/contexts/ctx_0190a1b2-0000-7000-8000-000000000001/proof", "wrong")).status).toBe(401);
  });

  it("serve checkpoints that extend each other and proofs that verify offline", async () => {
    const first = [];
    for (let i = 0; i < 3; i++) first.push((await runtime.runContext("hello", {})).id);
    const r1 = await get("/v1/ledger/checkpoint");
    expect(r1.status).toBe(200);
    const c1 = (await r1.json()) as { checkpoint: string; tree_size: number; root_hash: string };
    expect(c1.tree_size).toBe(3);
    const saved = openCheckpoint(c1.checkpoint, verifier, "checkpoint 1");
    expect(saved.origin).toBe("fabra.test/routes");

    for (let i = 0; i < 4; i++) await runtime.runContext("hello", {});
    // the sequencer integrates after the appends without anyone asking for a checkpoint
    await expect.poll(async () => runtime.stores.records.logSize?.(), { timeout: 5000, interval: 50 }).toBe(7);

    const r2 = await get("/v1/ledger/checkpoint?since=3");
    const c2 = (await r2.json()) as {
      checkpoint: string;
      tree_size: number;
      consistency: { from_size: number; hashes: string[] };
    };
    const now = openCheckpoint(c2.checkpoint, verifier, "checkpoint 2");
    expect(now.size).toBe(7);
    const proof = c2.consistency.hashes.map((h) => new Uint8Array(Buffer.from(h, "base64")));
    expect(verifyConsistency(3, 7, saved.rootHash, now.rootHash, proof)).toBe(true);
    expect((await get("/v1/ledger/checkpoint?since=8")).status).toBe(400);

    const id = first[1] as string;
    const rp = await get(`/v1/contexts/${id}/proof`);
    expect(rp.status).toBe(200);
    const file = (await rp.json()) as InclusionProofFile;
    const row = await runtime.ledger.row(id);
    expect(checkInclusionProof(file, Buffer.from(row.canonicalText, "utf8"), id, verifier)).toMatchObject({ ok: true });
    const other = await runtime.ledger.row(first[0] as string);
    expect(checkInclusionProof(file, Buffer.from(other.canonicalText, "utf8"), id, verifier).ok).toBe(false);
    expect((await get("/v1/contexts/ctx_0190a1b2-0000-7000-8000-00000000dead/proof")).status).toBe(404);
  });
});
