// The RecordStore contract on every ledger backend: DuckDB file, the real Postgres, PGlite over the wire protocol.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe } from "vitest";
import { open as openDuck } from "../src/stores/records/duckdb.js";
import { open as openPg } from "../src/stores/records/postgres.js";
import { recordStoreContract } from "./contract/record-store.js";
import { migratedSchema, type TestSchema } from "./helpers/pg-stores.js";
import { POSTGRES_URL, postgresUp, startPglite, type PgliteServer } from "./helpers/services.js";

recordStoreContract("duckdb", {
  open: () => openDuck(join(mkdtempSync(join(tmpdir(), "fabra-ledger-")), "fabra.duckdb")),
});

const pgUp = await postgresUp();
describe.skipIf(!pgUp)("real Postgres", () => {
  let schema: TestSchema;
  recordStoreContract("postgres", {
    open: async () => {
      schema = await migratedSchema(POSTGRES_URL);
      return openPg(schema.target);
    },
    cleanup: () => schema.drop(),
  });
});

describe("PGlite over the wire protocol", () => {
  let server: PgliteServer;
  let schema: TestSchema;
  beforeAll(async () => {
    server = await startPglite();
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });
  recordStoreContract("postgres (PGlite socket)", {
    open: async () => {
      schema = await migratedSchema(server.url);
      return openPg(schema.target);
    },
    cleanup: () => schema.drop(),
  });
});
