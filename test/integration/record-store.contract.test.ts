// The RecordStore contract on every ledger backend: DuckDB file, the real Postgres, PGlite over the wire protocol.
import { describe } from "vitest";
import { open as openDuck } from "../../src/stores/duckdb/records.js";
import { open as openPg } from "../../src/stores/postgres/records.js";
import { recordStoreContract } from "../contract/record-store.js";
import { describeOnPglite, onMigratedSchema } from "../helpers/pg-stores.js";
import { POSTGRES_URL, postgresUp } from "../helpers/services.js";
import { tempFile } from "../helpers/temp.js";

recordStoreContract("duckdb", {
  open: () => openDuck(tempFile("fabra-ledger-", "fabra.duckdb")),
});

const pgUp = await postgresUp();
describe.skipIf(!pgUp)("real Postgres", () => {
  recordStoreContract("postgres", onMigratedSchema(() => POSTGRES_URL, (target) => openPg(target)));
});

describeOnPglite("PGlite over the wire protocol", (url) => {
  recordStoreContract("postgres (PGlite socket)", onMigratedSchema(url, (target) => openPg(target)));
});
