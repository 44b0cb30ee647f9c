// The transparency-log contract on the DuckDB file and on the real Postgres (two pools on one schema: the
// sequencer's advisory lock between them), and on PGlite over the wire protocol.
import { describe } from "vitest";
import { open as openDuck } from "../../src/stores/duckdb/records.js";
import { open as openPg } from "../../src/stores/postgres/records.js";
import { transparencyLogContract } from "../contract/transparency-log.js";
import { describeOnPglite, migratedSchema, type TestSchema } from "../helpers/pg-stores.js";
import { POSTGRES_URL, postgresUp } from "../helpers/services.js";
import { tempFile } from "../helpers/temp.js";

transparencyLogContract("duckdb", {
  open: async () => {
    const path = tempFile("fabra-tlog-", "fabra.duckdb");
    return [await openDuck(path), await openDuck(path)];
  },
});

function onPostgres(url: () => string) {
  let schema: TestSchema | undefined;
  return {
    open: async () => {
      schema = await migratedSchema(url());
      const target = schema.target;
      return [await openPg(target), await openPg({ ...target })] as [
        Awaited<ReturnType<typeof openPg>>,
        Awaited<ReturnType<typeof openPg>>,
      ];
    },
    cleanup: async () => {
      await schema?.drop();
    },
  };
}

const pgUp = await postgresUp();
describe.skipIf(!pgUp)("real Postgres", () => {
  transparencyLogContract(
    "postgres",
    onPostgres(() => POSTGRES_URL),
  );
});

describeOnPglite("PGlite over the wire protocol", (url) => {
  transparencyLogContract("postgres (PGlite socket)", onPostgres(url));
});
