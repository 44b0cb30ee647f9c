// The transparency-log contract on the DuckDB file and on the real Postgres (two pools on one schema: the
// sequencer's advisory lock between them), and on PGlite over the wire protocol.
import pg from "pg";
import { describe } from "vitest";
import { DuckDatabase } from "../../src/stores/duckdb/database.js";
import { open as openDuck } from "../../src/stores/duckdb/records.js";
import { open as openPg } from "../../src/stores/postgres/records.js";
import { transparencyLogContract } from "../contract/transparency-log.js";
import { describeOnPglite, migratedSchema, type TestSchema } from "../helpers/pg-stores.js";
import { POSTGRES_URL, postgresUp } from "../helpers/services.js";
import { tempFile } from "../helpers/temp.js";

let duckPath = "";
transparencyLogContract("duckdb", {
  open: async () => {
    duckPath = tempFile("fabra-tlog-", "fabra.duckdb");
    return [await openDuck(duckPath), await openDuck(duckPath)];
  },
  raw: {
    // a third connection to the open file (the same instance as the stores')
    query: async (sql) => {
      const db = await DuckDatabase.open(duckPath);
      try {
        return await db.query(sql);
      } finally {
        await db.close();
      }
    },
    tables: { nodes: "fabra_tlog_nodes", tiles: "fabra_tlog_tiles", leafHashes: "fabra_tlog_leaf_hashes" },
  },
});

function onPostgres(url: () => string) {
  let schema: TestSchema | undefined;
  const name = (table: string) => `${pg.escapeIdentifier(schema?.target.schema ?? "")}.${table}`;
  return {
    raw: {
      query: async (sql: string) => {
        const client = new pg.Client({ connectionString: url() });
        await client.connect();
        try {
          return (await client.query(sql)).rows;
        } finally {
          await client.end();
        }
      },
      get tables() {
        return { nodes: name("fabra_tlog_nodes"), tiles: name("fabra_tlog_tiles") };
      },
    },
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
