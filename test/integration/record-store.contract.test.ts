// The RecordStore contract on every ledger backend: DuckDB file, the real Postgres, PGlite over the wire protocol;
// and once through the registry, so the instrumentation wrapper every store gets is shown to change nothing.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe } from "vitest";
import { open as openDuck } from "../../src/stores/duckdb/records.js";
import { openRecordStore } from "../../src/stores/index.js";
import { open as openPg } from "../../src/stores/postgres/records.js";
import { recordStoreContract } from "../contract/record-store.js";
import { describeOnPglite, onMigratedSchema } from "../helpers/pg-stores.js";
import { POSTGRES_URL, postgresUp } from "../helpers/services.js";

recordStoreContract("duckdb", {
  open: () => openDuck(join(mkdtempSync(join(tmpdir(), "fabra-ledger-")), "fabra.duckdb")),
});

recordStoreContract("duckdb, instrumented (through the registry)", {
  open: () => {
    const path = join(mkdtempSync(join(tmpdir(), "fabra-ledger-")), "fabra.duckdb");
    return openRecordStore({ stores: { offline: { type: "duckdb", path }, online: { type: "memory" }, vector: { type: "memory" } } });
  },
});

const pgUp = await postgresUp();
describe.skipIf(!pgUp)("real Postgres", () => {
  recordStoreContract("postgres", onMigratedSchema(() => POSTGRES_URL, (target) => openPg(target)));
});

describeOnPglite("PGlite over the wire protocol", (url) => {
  recordStoreContract("postgres (PGlite socket)", onMigratedSchema(url, (target) => openPg(target)));
});
