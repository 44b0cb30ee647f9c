// Large records (issue 16): a record over the ledger's size limit is refused before it is read, naming the size
// and the limit (evidence.maxRecordBytes); a record under it but over the server's body limit is still imported
// while `serve` holds the DuckDB file, since the ledger route (per-run token only) takes records up to that limit.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Ledger } from "../../src/engine/ledger/ledger.js";
import { context, createFabra, type FabraRuntime } from "../../src/index.js";
import { canonicalRecordText, readRecordText, sealRecord } from "../../src/record/index.js";
import { startServer, type RunningServer } from "../../src/server/serve.js";
import { openRemoteRecordStore } from "../../src/stores/index.js";
import type { RecordStore } from "../../src/stores/types.js";
import { tempFile } from "../helpers/temp.js";

const VECTORS = join(import.meta.dirname, "..", "fixtures", "crs-001");
const plain = readRecordText(readFileSync(join(VECTORS, "plain.json"), "utf8"));

/** A sealed record whose content is `bytes` long, under a fresh id. */
function bigRecord(bytes: number, n: number): string {
  const id = `ctx_0190a1b2-0000-7000-8000-${String(n).padStart(12, "0")}`;
  return canonicalRecordText(sealRecord({ ...plain, context_id: id, content: "x".repeat(bytes) }).record);
}

const hello = context({}, () => [{ content: "hello", required: true }]);

describe("records larger than the server's body limit", () => {
  let runtime: FabraRuntime;
  let server: RunningServer;
  let remote: RecordStore;
  beforeAll(async () => {
    runtime = await createFabra({
      stores: { offline: { type: "duckdb", path: tempFile("fabra-large-", "fabra.duckdb") } },
      evidence: { maxRecordBytes: 4 * 1024 * 1024 },
      definitions: { hello },
      warn: () => {},
    });
    // A 1 MiB body limit for the public routes.
    server = await startServer({ runtime, host: "127.0.0.1", port: 0, bodyLimit: 1 << 20, apiKeys: [], log: () => {} });
    remote = await openRemoteRecordStore(server.url, server.localToken);
  });
  afterAll(async () => {
    await remote.close();
    await server.close();
  });

  it("imports a 3 MiB record through the running server (the CLI beside it), over the 1 MiB body limit", async () => {
    const file = tempFile("fabra-large-", "big.json");
    const text = bigRecord(3 * 1024 * 1024, 1);
    writeFileSync(file, `${text}\n`);
    const ledger = new Ledger({ records: () => remote, signing: () => ({ mode: "optional", key: null }) });
    const [outcome] = await ledger.import([file]);
    expect(outcome?.outcome).toBe("inserted");
    const { verification } = await runtime.ledger.verify(readRecordText(text).context_id);
    expect(verification.ok).toBe(true);
  });

  it("refuses a record over the ledger's limit on the route and from a file, before reading it", async () => {
    const text = bigRecord(5 * 1024 * 1024, 2);
    await expect(
      remote.append({ ...(await import("../../src/engine/ledger/rows.js")).recordToRow(readRecordText(text)) }),
    ).rejects.toMatchObject({
      code: "PAYLOAD_TOO_LARGE",
    });
    const file = tempFile("fabra-large-", "huge.json");
    writeFileSync(file, text);
    const local = new Ledger({
      records: () => runtime.stores.records,
      signing: () => ({ mode: "optional", key: null }),
      maxRecordBytes: 4 * 1024 * 1024,
    });
    await expect(local.verifyFile(file)).rejects.toMatchObject({
      code: "PAYLOAD_TOO_LARGE",
      message: expect.stringContaining("over the record size limit of 4.0 MiB"),
    });
    expect(await runtime.ledger.count()).toBe(1);
  });
});
