// "ledger-pg" (issue 5): records/s appended to the Postgres ledger through fabra's RecordStore (one at a time, as
// the engine does, and 16 in flight), against raw pg INSERTs of the same rows into an identical table in the same
// run; and `verify --all` records/s (verifyLedger, as the CLI) over the ledger. Target: sequential append ratio >= 0.8.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { recordToRow } from "../dist/engine/ledger/rows.js";
import { verifyLedger } from "../dist/engine/ledger/verify-rows.js";
import { fromEpochMicros } from "../dist/record/datetime.js";
import { newContextId } from "../dist/record/id.js";
import { sealRecord } from "../dist/record/seal.js";
import { readRecordText } from "../dist/record/verify.js";
import { open } from "../dist/stores/postgres/records.js";
import { applyMigrations } from "../dist/stores/postgres/migrate.js";
import { PgDatabase } from "../dist/stores/postgres/pool.js";
import { benchOptions, round, runIfMain } from "./lib.js";
import { dropSchema, POSTGRES_URL, uniqueName } from "./prod-services.js";

const TARGET = 0.8;
const FIXTURES = join(import.meta.dirname, "..", "test", "fixtures", "crs-001");

function mint(count) {
  const seeds = ["plain", "features_unicode_numbers", "empty_content"].map((n) =>
    readRecordText(readFileSync(join(FIXTURES, `${n}.json`), "utf8")),
  );
  const start = BigInt(Date.now()) * 1000n - BigInt(count) * 1000n;
  return Array.from({ length: count }, (_, i) => {
    const base = seeds[i % seeds.length];
    const { record, canonicalText } = sealRecord({
      ...base,
      context_id: newContextId(),
      created_at: fromEpochMicros(start + BigInt(i) * 1000n),
      inputs: { ...base.inputs, n: i },
      integrity: { ...base.integrity, record_hash: "", content_hash: "" },
    });
    return recordToRow(record, canonicalText);
  });
}

export default async function run(options = benchOptions()) {
  const { quick, log } = options;
  const n = quick ? 2000 : 20000;
  const schema = uniqueName();
  const target = { url: POSTGRES_URL, schema, poolSize: 10, service: "stores.offline" };
  const db = await PgDatabase.open(target);
  await applyMigrations(db);
  await db.query(`CREATE TABLE ${db.ident("raw_ledger")} (LIKE ${db.ident("fabra_context_records")} INCLUDING ALL)`);
  const store = await open(target);
  const raw = new pg.Pool({ connectionString: POSTGRES_URL, max: 10 });
  try {
    log(`ledger-pg: minting ${n * 3} records`);
    const [seqRows, parRows, rawRows] = [mint(n), mint(n), mint(n)];
    const rawSql = `INSERT INTO ${db.ident("raw_ledger")} (context_id, created_at, context_function, environment, token_count, record_hash, previous_context_id, canonical_text) VALUES ($1, $2::timestamptz, $3, $4, $5, $6, $7, $8)`;
    const rawInsert = (r) =>
      raw.query(rawSql, [
        r.contextId,
        r.createdAt,
        r.contextFunction,
        r.environment,
        r.tokenCount,
        r.recordHash,
        r.previousContextId,
        r.canonicalText,
      ]);

    // Alternate fabra and raw record by record (who goes first alternates too), so both see the same server load.
    let fabraMs = 0;
    let rawMs = 0;
    for (let i = 0; i < n; i++) {
      for (const which of i % 2 ? ["fabra", "raw"] : ["raw", "fabra"]) {
        const t = performance.now();
        if (which === "fabra") await store.append(seqRows[i]);
        else await rawInsert(rawRows[i]);
        if (which === "fabra") fabraMs += performance.now() - t;
        else rawMs += performance.now() - t;
      }
    }
    let t = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < parRows.length) await store.append(parRows[next++]);
      }),
    );
    const parallelMs = performance.now() - t;

    log("ledger-pg: verify --all");
    t = performance.now();
    const { checked, failures } = await verifyLedger(store);
    const verifyMs = performance.now() - t;
    const failed = failures.length;
    if (checked !== 2 * n || failed !== 0)
      throw new Error(`verify --all checked ${checked} (expected ${2 * n}), ${failed} failed`);

    const fabraRate = (n * 1000) / fabraMs;
    const rawRate = (n * 1000) / rawMs;
    const ratio = round(fabraRate / rawRate, 3);
    return {
      name: "ledger-pg",
      description:
        "records/s appended to the Postgres ledger (fabra vs raw pg INSERT, sequential) and verify --all records/s",
      metrics: {
        records: n,
        appendPerSecond: Math.round(fabraRate),
        rawInsertPerSecond: Math.round(rawRate),
        append16InFlightPerSecond: Math.round((n * 1000) / parallelMs),
        verifyAllPerSecond: Math.round((checked * 1000) / verifyMs),
        verifiedRecords: checked,
        avgRecordBytes: Math.round(seqRows.reduce((s, r) => s + r.canonicalText.length, 0) / n),
      },
      ratio,
      target: `>= ${TARGET}`,
      pass: ratio >= TARGET,
    };
  } finally {
    await raw.end();
    await store.close();
    await db.close();
    await dropSchema(POSTGRES_URL, schema);
  }
}

runIfMain(import.meta.url, run);
