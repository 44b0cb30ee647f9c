// The RecordStore contract on every ledger backend: DuckDB file, the real Postgres, PGlite over the wire protocol,
// the remote store through a real in-process `fabra serve` holding a DuckDB file; and once through the registry, so
// the instrumentation wrapper every store gets is shown to change nothing.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe } from "vitest";
import { createFabra, type FabraRuntime } from "../../src/index.js";
import { startServer, type RunningServer } from "../../src/server/serve.js";
import { open as openDuck } from "../../src/stores/duckdb/records.js";
import { openRecordStore, openRemoteRecordStore } from "../../src/stores/index.js";
import { open as openPg } from "../../src/stores/postgres/records.js";
import { recordStoreContract, type RecordStoreHarness } from "../contract/record-store.js";
import { describeOnPglite, onMigratedSchema } from "../helpers/pg-stores.js";
import { POSTGRES_URL, postgresUp } from "../helpers/services.js";
import { tempFile } from "../helpers/temp.js";

recordStoreContract("duckdb", {
  open: () => openDuck(tempFile("fabra-ledger-", "fabra.duckdb")),
});

recordStoreContract("duckdb, instrumented (through the registry)", {
  open: () => {
    const path = join(mkdtempSync(join(tmpdir(), "fabra-ledger-")), "fabra.duckdb");
    return openRecordStore({
      stores: { offline: { type: "duckdb", path }, online: { type: "memory" }, vector: { type: "memory" } },
    });
  },
});

const pgUp = await postgresUp();
describe.skipIf(!pgUp)("real Postgres", () => {
  recordStoreContract(
    "postgres",
    onMigratedSchema(
      () => POSTGRES_URL,
      (target) => openPg(target),
    ),
  );
});

describeOnPglite("PGlite over the wire protocol", (url) => {
  recordStoreContract(
    "postgres (PGlite socket)",
    onMigratedSchema(url, (target) => openPg(target)),
  );
});

/** `fabra context ...` beside a running `fabra serve`: the remote store, talking to the server's /v1/ledger routes. */
function throughServe(): RecordStoreHarness {
  let runtime: FabraRuntime | undefined;
  let server: RunningServer | undefined;
  return {
    verifiesAppends: true,
    keepsLog: false,
    open: async () => {
      const path = tempFile("fabra-remote-ledger-", "fabra.duckdb");
      runtime = await createFabra({ stores: { offline: { type: "duckdb", path } }, definitions: {}, warn: () => {} });
      server = await startServer({
        runtime,
        host: "127.0.0.1",
        port: 0,
        bodyLimit: 1 << 20,
        apiKeys: [],
        log: () => {},
      });
      return openRemoteRecordStore(server.url, server.localToken);
    },
    cleanup: async () => {
      await server?.close();
    },
  };
}

recordStoreContract("remote (through fabra serve on a DuckDB file)", throughServe());
