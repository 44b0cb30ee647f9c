// Only context assembly produces records. Tried as an attacker: POST /v1/ledger/rows with an API key, or from
// loopback without one, is refused (403) and appends nothing; on a Postgres server the route does not exist (404);
// only the per-run token from the state file (the CLI beside the server) appends. `import` marks rows imported, in
// every backend, and a twin id (CTX_…, a trailing space, uppercase hex) is refused on import and on append.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordToRow } from "../../src/engine/ledger/rows.js";
import { importRecordFiles } from "../../src/engine/ledger/import.js";
import { context, createFabra, type FabraRuntime } from "../../src/index.js";
import { canonicalRecordText, readRecordText, sealRecord } from "../../src/record/index.js";
import { startServer, type RunningServer } from "../../src/server/serve.js";
import { open as openDuck } from "../../src/stores/duckdb/records.js";
import { openRemoteRecordStore } from "../../src/stores/index.js";
import { open as openPg } from "../../src/stores/postgres/records.js";
import type { RecordStore } from "../../src/stores/types.js";
import { migratedSchema, type TestSchema } from "../helpers/pg-stores.js";
import { POSTGRES_URL, postgresUp } from "../helpers/services.js";
import { tempDir, tempFile } from "../helpers/temp.js";

const VECTORS = join(import.meta.dirname, "..", "fixtures", "crs-001");
const vector = (name: string) => readRecordText(readFileSync(join(VECTORS, `${name}.json`), "utf8"));
const hello = context({}, () => [{ content: "hello", required: true }]);

async function duckServer(apiKeys: string[]): Promise<{ runtime: FabraRuntime; server: RunningServer }> {
  const runtime = await createFabra({
    stores: { offline: { type: "duckdb", path: tempFile("fabra-ingress-", "fabra.duckdb") } },
    definitions: { hello },
    warn: () => {},
  });
  const server = await startServer({ runtime, host: "127.0.0.1", port: 0, bodyLimit: 1 << 20, apiKeys, log: () => {} });
  return { runtime, server };
}

const append = (server: RunningServer, body: unknown, bearer?: string) =>
  fetch(`${server.url}/v1/ledger/rows`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
    body: JSON.stringify(body),
  });

/** A made-up, back-dated record, sealed so its hashes match (anyone can compute sha256). */
const fabricated = () =>
  canonicalRecordText(
    sealRecord({
      ...vector("plain"),
      context_id: "ctx_0190a1b2-0000-7000-8000-00000000beef",
      created_at: "2020-01-01T00:00:00.123000Z",
      environment: "production",
    }).record,
  );

describe("POST /v1/ledger/rows on a server holding a DuckDB file", () => {
  let keyed: { runtime: FabraRuntime; server: RunningServer };
  let open: { runtime: FabraRuntime; server: RunningServer };
  beforeAll(async () => {
    keyed = await duckServer(["api-key-1"]);
    open = await duckServer([]);
  });
  afterAll(async () => {
    await keyed.server.close();
    await open.server.close();
  });

  it("refuses an API key (403 FORBIDDEN) and appends nothing", async () => {
    const res = await append(keyed.server, { canonical_text: fabricated() }, "api-key-1");
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("FORBIDDEN");
    expect(await keyed.runtime.ledger.count()).toBe(0);
    // The key still reads (the routes a client needs), it just cannot write.
    expect(
      (await fetch(`${keyed.server.url}/v1/ledger/count`, { headers: { authorization: "Bearer api-key-1" } })).status,
    ).toBe(200);
  });

  it("refuses a loopback client without keys configured, and an unknown credential", async () => {
    const res = await append(open.server, { canonical_text: fabricated() });
    expect(res.status).toBe(403);
    expect((await append(open.server, { canonical_text: fabricated() }, "guess")).status).toBe(401);
    expect(await open.runtime.ledger.count()).toBe(0);
  });

  it("takes the per-run token (the CLI beside the server), and marks an import as imported", async () => {
    const res = await append(keyed.server, { canonical_text: fabricated() }, keyed.server.localToken);
    expect(res.status, await res.clone().text()).toBe(200);
    const plain = canonicalRecordText(vector("plain"));
    const imported = await append(keyed.server, { canonical_text: plain, imported: true }, keyed.server.localToken);
    expect(imported.status).toBe(200);
    const row = await keyed.runtime.ledger.row(vector("plain").context_id);
    expect(row.imported).toBe(true);
    expect((await keyed.runtime.ledger.row("ctx_0190a1b2-0000-7000-8000-00000000beef")).imported === true).toBe(false);
  });

  it("the remote store (import while serving) marks imported rows and refuses twins", async () => {
    const remote = await openRemoteRecordStore(open.server.url, open.server.localToken);
    const dir = tempDir("fabra-ingress-files-");
    const file = join(dir, "rec.json");
    writeFileSync(file, canonicalRecordText(vector("empty_content")));
    expect(await importRecordFiles(remote, [file])).toEqual([
      { file, contextId: vector("empty_content").context_id, outcome: "inserted" },
    ]);
    expect((await open.runtime.ledger.row(vector("empty_content").context_id)).imported).toBe(true);
    const list = await fetch(`${open.server.url}/v1/contexts?limit=10`).then(
      (r) => r.json() as Promise<{ items: { imported: boolean }[] }>,
    );
    expect(list.items.map((i) => i.imported)).toContain(true);
    await expectTwinsRefused(remote);
  });
});

describe.skipIf(!(await postgresUp()))("on a Postgres server", () => {
  let schema: TestSchema;
  let runtime: FabraRuntime;
  let server: RunningServer;
  beforeAll(async () => {
    schema = await migratedSchema(POSTGRES_URL);
    runtime = await createFabra({
      stores: { offline: { type: "postgres", url: POSTGRES_URL, schema: schema.target.schema } },
      definitions: { hello },
      warn: () => {},
    });
    server = await startServer({
      runtime,
      host: "127.0.0.1",
      port: 0,
      bodyLimit: 1 << 20,
      apiKeys: ["k"],
      log: () => {},
    });
  });
  afterAll(async () => {
    await server?.close();
    await schema?.drop();
  });

  it("there is no ledger write route, whatever the credential (404); assembly still appends", async () => {
    for (const bearer of ["k", server.localToken]) {
      const res = await append(server, { canonical_text: fabricated() }, bearer);
      expect(res.status).toBe(404);
    }
    expect(await runtime.ledger.count()).toBe(0);
    await runtime.runContext("hello", {});
    expect(await runtime.ledger.count()).toBe(1);
  });

  it("import marks rows imported (migration 5) and refuses twins", async () => {
    const store = await openPg(schema.target);
    try {
      await expectImportMarks(store);
      await expectTwinsRefused(store);
    } finally {
      await store.close();
    }
  });
});

describe("on a DuckDB file", () => {
  it("import marks rows imported and refuses twins; assembly's rows are not imported", async () => {
    const store = await openDuck(tempFile("fabra-ingress-", "fabra.duckdb"));
    try {
      await expectImportMarks(store);
      await expectTwinsRefused(store);
    } finally {
      await store.close();
    }
  });
});

async function expectImportMarks(store: RecordStore): Promise<void> {
  const dir = tempDir("fabra-ingress-files-");
  const file = join(dir, "rec.json");
  const record = vector("features_unicode_numbers");
  writeFileSync(file, canonicalRecordText(record));
  await importRecordFiles(store, [file]);
  expect((await store.get(record.context_id))?.imported).toBe(true);
  const produced = vector("retrieval_drops_signed");
  await store.append(recordToRow(produced));
  expect((await store.get(produced.context_id))?.imported === true).toBe(false);
}

/** A twin of a stored record (same record, id spelled otherwise) is refused on import and on append. */
async function expectTwinsRefused(store: RecordStore): Promise<void> {
  const original = vector("plain");
  const id = original.context_id;
  const twins = [id.replace("ctx_", "CTX_"), `${id} `, `ctx_${id.slice(4).toUpperCase()}`];
  const dir = tempDir("fabra-twins-");
  for (const [i, twin] of twins.entries()) {
    const text = canonicalRecordText(sealRecord({ ...original, context_id: twin }).record);
    const file = join(dir, `twin-${i}.json`);
    writeFileSync(file, text);
    await expect(importRecordFiles(store, [file]), twin).rejects.toMatchObject({ code: "INVALID_RECORD" });
    await expect(store.append({ ...recordToRow(original), contextId: twin }), twin).rejects.toMatchObject({
      code: "INVALID_ID",
    });
    expect(await store.get(twin)).toBeNull();
  }
}
