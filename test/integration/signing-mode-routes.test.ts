// With `signing: { mode: "required" }` in the config (and FABRA_SIGNING_KEY set), every route that verifies fails an
// unsigned record the same way the CLI does: GET /v1/contexts/:id/verify, POST /v1/contexts/diff,
// POST /v1/contexts/:id/replay and the ledger append route POST /v1/ledger/rows.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/config/resolve.js";
import { createFabraFromConfig, type FabraRuntime } from "../../src/engine/create.js";
import { recordToRow } from "../../src/engine/ledger/rows.js";
import { context } from "../../src/index.js";
import { readRecordText } from "../../src/record/index.js";
import { startServer, type RunningServer } from "../../src/server/serve.js";
import { json } from "../helpers/server-app.js";

const VECTORS = join(import.meta.dirname, "..", "fixtures", "crs-001");
const UNSIGNED = "ctx_0190a1b2-0000-7000-8000-000000000001"; // plain.json
const vectorText = (name: string) => readFileSync(join(VECTORS, `${name}.json`), "utf8");

let runtime: FabraRuntime;
let server: RunningServer;
let signedId = "";

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "fabra-signing-routes-"));
  const config = resolveConfig(
    {
      config: {
        signing: { mode: "required" },
        stores: { offline: { type: "duckdb", path: join(dir, "fabra.duckdb") } },
      },
      configPath: null,
      rootDir: dir,
    },
    { FABRA_SIGNING_KEY: "routes-secret" },
    dir,
  );
  const hello = context({}, () => [{ content: "hello", required: true }]);
  runtime = await createFabraFromConfig(config, { objects: [{ hello }], warn: () => {} });
  // The unsigned record goes in behind the ledger's back (as an import under signing mode optional would have).
  await runtime.stores.records.append(recordToRow(readRecordText(vectorText("plain"), "plain.json")));
  signedId = (await runtime.runContext("hello", {})).id;
  server = await startServer({
    runtime,
    host: "127.0.0.1",
    port: 0,
    bodyLimit: 1024 * 1024,
    apiKeys: [],
    log: () => {},
  });
});
afterAll(async () => {
  await server.close();
});

const call = (path: string, body?: unknown) =>
  fetch(
    server.url + path,
    body === undefined
      ? {}
      : {
          method: "POST",
          // Ledger writes take only the per-run token from the state file.
          headers: {
            "content-type": "application/json",
            ...(path.startsWith("/v1/ledger/") ? { authorization: `Bearer ${server.localToken}` } : {}),
          },
          body: JSON.stringify(body),
        },
  );

/** The signature check as an unsigned record fails it under required signatures. */
const UNSIGNED_CHECK = { name: "signature", ok: false, expected: "a signature", actual: "none" };

/** A refusal: 422 VERIFICATION_FAILED saying the record is unsigned (never "altered"). */
async function expectUnsignedRefusal(res: Response, consequence: RegExp) {
  expect(res.status).toBe(422);
  const { error } = await json<{ error: { code: string; message: string; hint: string } }>(res);
  expect(error.code).toBe("VERIFICATION_FAILED");
  expect(error.message).toMatch(/the record is not signed, and signatures are required/);
  expect(error.message).toMatch(consequence);
  expect(error.hint).toMatch(/signing\.acceptUnsignedBefore \(or FABRA_ACCEPT_UNSIGNED_BEFORE\)/);
  expect(error.hint).not.toMatch(/altered/);
}

describe("signing.mode required: routes", () => {
  it("assembly signs its records (the runtime's ledger appends them)", async () => {
    const verify = await json(await call(`/v1/contexts/${signedId}/verify`));
    expect(verify).toMatchObject({
      ok: true,
      checks: expect.arrayContaining([expect.objectContaining({ name: "signature", ok: true })]),
    });
  });

  it("GET /v1/contexts/:id/verify fails the unsigned record", async () => {
    const res = await call(`/v1/contexts/${UNSIGNED}/verify`);
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ context_id: UNSIGNED, ok: false, failed: UNSIGNED_CHECK });
  });

  it("POST /v1/contexts/diff does not call the unsigned record verified", async () => {
    const body = await json(await call("/v1/contexts/diff", { a: UNSIGNED, b: signedId }));
    expect(body).toMatchObject({
      verified: false,
      verification: { a: { ok: false, failed: UNSIGNED_CHECK }, b: { ok: true } },
    });
  });

  it("POST /v1/contexts/:id/replay refuses the unsigned record", async () => {
    await expectUnsignedRefusal(await call(`/v1/contexts/${UNSIGNED}/replay`, {}), /it will not be replayed/);
  });

  it("POST /v1/ledger/rows refuses an unsigned record and appends nothing; a signed one goes in", async () => {
    const unsigned = readRecordText(vectorText("empty_content"), "empty_content.json");
    const before = await runtime.ledger.count();
    await expectUnsignedRefusal(
      await call("/v1/ledger/rows", { canonical_text: recordToRow(unsigned).canonicalText }),
      /not appended/,
    );
    expect(await runtime.ledger.count()).toBe(before);
    const signed = await runtime.ledger.row(signedId);
    expect(await json(await call("/v1/ledger/rows", { canonical_text: signed.canonicalText }))).toEqual({
      context_id: signedId,
      outcome: "exists",
    });
  });
});
