// "ledger" (issue 10, TLOG-001): what the transparency log costs. (1) Appends/s with the tree maintained (the serve
// path: each append schedules the background sequencer; the clock stops when the tree holds every record) against
// plain appends to the same store, on DuckDB and Postgres, sequential and 16 in flight. (2) `ledger verify` of the
// records (one pass: each record's bytes hashed for its leaf and verified, then the tree recomputed) against raw
// sha256 over the same bytes.
// (3) An inclusion proof from a 1,000,000-leaf tree (its node table filled by SQL with stand-in hashes, its tiles
// by the schema upgrade's SQL: fabra's read path, a leaf lookup and the O(log n / 8) tile rows, is what is timed). Targets: append ratio >= 0.8 (every case), verify >= 0.5, proof < 5 ms.
import * as crypto from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { recordToRow } from "../dist/engine/ledger/rows.js";
import { LogSequencer } from "../dist/engine/ledger/sequencer.js";
import { defaultVerifyThreads } from "../dist/engine/ledger/verify-rows-pool.js";
import { TransparencyLog } from "../dist/engine/ledger/log.js";
import { fromEpochMicros } from "../dist/record/datetime.js";
import { newContextId } from "../dist/record/id.js";
import { sealRecord } from "../dist/record/seal.js";
import { readRecordText } from "../dist/record/verify.js";
import { open as openDuck } from "../dist/stores/duckdb/records.js";
import { applyMigrations } from "../dist/stores/postgres/migrate.js";
import { PgDatabase } from "../dist/stores/postgres/pool.js";
import { open as openPg } from "../dist/stores/postgres/records.js";
import { tileBackfillSql } from "../dist/stores/transparency-log.js";
import { benchOptions, median, round, runIfMain, tempDir } from "./lib.js";
import { dropSchema, POSTGRES_URL, uniqueName } from "./prod-services.js";

const FIXTURES = join(import.meta.dirname, "..", "test", "fixtures", "crs-001");
const APPEND_TARGET = 0.8;
const VERIFY_TARGET = 0.5;
const PROOF_TARGET_MS = 5;

function mint(count) {
  const seeds = ["plain", "features_unicode_numbers", "empty_content", "retrieval_drops_signed"].map((n) =>
    readRecordText(readFileSync(join(FIXTURES, `${n}.json`), "utf8")),
  );
  const start = BigInt(Date.now()) * 1000n - BigInt(count) * 1000n;
  return Array.from({ length: count }, (_, i) => {
    const base = seeds[i % 3];
    const { record, canonicalText } = sealRecord({
      ...base,
      context_id: newContextId(),
      created_at: fromEpochMicros(start + BigInt(i) * 1000n),
      inputs: { ...base.inputs, n: i },
      integrity: { ...base.integrity, record_hash: "", content_hash: "", signature: null },
    });
    return recordToRow(record, canonicalText);
  });
}

/** ms to append `rows` (`inFlight` at a time); with `sequencer`, until the tree holds them all. */
async function appendAll(store, rows, inFlight, sequencer) {
  const t = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < rows.length) {
        const row = rows[next++];
        if ((await store.append(row)) === "inserted") sequencer?.schedule();
      }
    }),
  );
  if (sequencer) {
    await sequencer.idle();
    await store.integrateLog();
  }
  return performance.now() - t;
}

/** Plain vs tree-maintained appends, alternating rounds on two fresh stores of the same backend. */
async function appendRatio(openStore, n, inFlight, log, label) {
  const plainMs = [];
  const treeMs = [];
  for (let round_ = 0; round_ < 3; round_++) {
    for (const withTree of round_ % 2 ? [true, false] : [false, true]) {
      const { store, close } = await openStore();
      try {
        const rows = mint(n);
        const sequencer = withTree
          ? new LogSequencer(
              () => store.integrateLog(),
              (e) => log(String(e)),
            )
          : null;
        const ms = await appendAll(store, rows, inFlight, sequencer);
        if (withTree) {
          if ((await store.logSize()) !== n)
            throw new Error(`${label}: the tree holds ${await store.logSize()} of ${n}`);
          treeMs.push(ms);
        } else plainMs.push(ms);
      } finally {
        await close();
      }
    }
  }
  const ratio = median(plainMs) / median(treeMs);
  log(
    `${label}: plain ${Math.round((n * 1000) / median(plainMs))}/s, with tree ${Math.round((n * 1000) / median(treeMs))}/s`,
  );
  return { plain: Math.round((n * 1000) / median(plainMs)), tree: Math.round((n * 1000) / median(treeMs)), ratio };
}

const rawSha256 = (data) => crypto.createHash("sha256").update(data).digest();

/**
 * `ledger verify` (TransparencyLog.verify: the records verified in worker threads, one per core, each row's leaf hashed
 * in the same pass) of a `verifyN`-record DuckDB ledger against raw sha256 over the same bytes on one thread,
 * alternating; the CPU ratio (every thread's CPU time) and the same verification on one thread beside it. Returns the
 * throughput ratio.
 */
export async function verifyPass(verifyN, log, metrics) {
  log(`ledger: building a ${verifyN}-record ledger`);
  const path = join(tempDir("fabra-bench-tlog-verify-").path, "fabra.duckdb");
  const store = await openDuck(path);
  try {
    const rows = mint(verifyN);
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < rows.length) await store.append(rows[next++]);
      }),
    );
    await store.integrateLog();
    const bytes = rows.map((r) => Buffer.from(r.canonicalText, "utf8"));
    const rawMs = [];
    const rawCpu = [];
    const verifyMs = [];
    const verifyCpu = [];
    const oneMs = [];
    const oneCpu = [];
    const cpuMs = (since) => {
      const { user, system } = process.cpuUsage(since);
      return (user + system) / 1000;
    };
    const tlog = new TransparencyLog(async () => store, { origin: "bench", keyFile: null });
    for (let i = 0; i < 3; i++) {
      let cpu = process.cpuUsage();
      let t = performance.now();
      for (const b of bytes) rawSha256(b);
      rawMs.push(performance.now() - t);
      rawCpu.push(cpuMs(cpu));
      cpu = process.cpuUsage();
      t = performance.now();
      const result = await tlog.verify(null);
      verifyMs.push(performance.now() - t);
      verifyCpu.push(cpuMs(cpu));
      if (result.problems.length > 0 || result.recordFailures.length > 0 || result.recordsChecked !== verifyN)
        throw new Error(`ledger verify failed on an intact ledger: ${JSON.stringify(result.problems[0])}`);
      // the same on one thread (no workers), for comparison
      cpu = process.cpuUsage();
      t = performance.now();
      const one = await tlog.verify(null, { threads: 0 });
      oneMs.push(performance.now() - t);
      oneCpu.push(cpuMs(cpu));
      if (one.problems.length > 0 || one.recordFailures.length > 0)
        throw new Error("ledger verify failed (one thread)");
    }
    const verifyRatio = median(rawMs) / median(verifyMs);
    metrics.verifyRecords = verifyN;
    metrics.verifyAvgRecordBytes = Math.round(bytes.reduce((n, b) => n + b.length, 0) / verifyN);
    metrics.verifyThreads = defaultVerifyThreads();
    metrics.ledgerVerifyPerSecond = Math.round((verifyN * 1000) / median(verifyMs));
    metrics.rawSha256PerSecond = Math.round((verifyN * 1000) / median(rawMs));
    metrics.verifyRatio = round(verifyRatio, 3);
    metrics.verifyCpuRatio = round(median(rawCpu) / median(verifyCpu), 3);
    metrics.ledgerVerifyPerSecondOneThread = Math.round((verifyN * 1000) / median(oneMs));
    metrics.verifyRatioOneThread = round(median(rawMs) / median(oneMs), 3);
    metrics.verifyCpuRatioOneThread = round(median(rawCpu) / median(oneCpu), 3);
    return verifyRatio;
  } finally {
    await store.close();
  }
}

export default async function run(options = benchOptions()) {
  const { quick, log } = options;
  const appendN = quick ? 300 : 2000;
  const verifyN = quick ? 10_000 : 100_000;
  const proofLeaves = quick ? 100_000 : 1_000_000;
  const metrics = {};
  const ratios = [];

  // ---- appends: DuckDB
  const duck = async () => {
    const store = await openDuck(join(tempDir("fabra-bench-tlog-").path, "fabra.duckdb"));
    return { store, close: () => store.close() };
  };
  for (const inFlight of [1, 16]) {
    const r = await appendRatio(duck, appendN, inFlight, log, `duckdb x${inFlight}`);
    metrics[`duckdbPlainAppendsPerSecond_x${inFlight}`] = r.plain;
    metrics[`duckdbTreeAppendsPerSecond_x${inFlight}`] = r.tree;
    metrics[`duckdbRatio_x${inFlight}`] = round(r.ratio, 3);
    ratios.push(r.ratio);
  }
  // ---- appends: Postgres
  const schemas = [];
  const pgStore = async () => {
    const schema = uniqueName();
    schemas.push(schema);
    const target = { url: POSTGRES_URL, schema, poolSize: 16, service: "stores.offline" };
    const db = await PgDatabase.open(target);
    await applyMigrations(db);
    await db.close();
    const store = await openPg(target);
    return { store, close: () => store.close() };
  };
  try {
    for (const inFlight of [1, 16]) {
      const r = await appendRatio(pgStore, appendN, inFlight, log, `postgres x${inFlight}`);
      metrics[`postgresPlainAppendsPerSecond_x${inFlight}`] = r.plain;
      metrics[`postgresTreeAppendsPerSecond_x${inFlight}`] = r.tree;
      metrics[`postgresRatio_x${inFlight}`] = round(r.ratio, 3);
      ratios.push(r.ratio);
    }
  } finally {
    for (const s of schemas) await dropSchema(POSTGRES_URL, s);
  }

  // ---- ledger verify vs raw sha256 (DuckDB)
  const verifyRatio = await verifyPass(verifyN, log, metrics);

  // ---- an inclusion proof from a 1,000,000-leaf tree (DuckDB)
  log(`ledger: filling a ${proofLeaves}-leaf node table`);
  const proofPath = join(tempDir("fabra-bench-tlog-proof-").path, "fabra.duckdb");
  (await openDuck(proofPath)).close(); // the tables, as fabra creates them
  {
    const { DuckDBInstance } = await import("@duckdb/node-api");
    const instance = await DuckDBInstance.create(proofPath);
    const c = await instance.connect();
    // every complete subtree of a tree of `proofLeaves` leaves; hash = sha256 of its key (a stand-in)
    for (let l = 0; 2 ** l <= proofLeaves; l++)
      await c.run(
        `INSERT INTO fabra_tlog_nodes SELECT '${l}/' || CAST(i AS VARCHAR), sha256('${l}/' || CAST(i AS VARCHAR)) FROM range(0, ${Math.floor(proofLeaves / 2 ** l)}) t(i)`,
      );
    await c.run(
      `INSERT INTO fabra_tlog_leaves SELECT i, 'ctx_' || CAST(i AS VARCHAR) FROM range(0, ${proofLeaves}) t(i)`,
    );
    // the tiles, as schema version 7's upgrade fills them from the stored nodes
    await c.run(tileBackfillSql({ nodes: "fabra_tlog_nodes", tiles: "fabra_tlog_tiles" }));
    c.closeSync();
    instance.closeSync();
  }
  const proofStore = await openDuck(proofPath);
  let proofMs;
  try {
    // fabra's proof path (TransparencyLog.inclusion: the leaf index, then the audit path through the tiles)
    const tlog = new TransparencyLog(async () => proofStore, { origin: "bench", keyFile: null });
    const times = [];
    for (let i = 0; i < 50; i++) {
      const leaf = Math.floor((i * 7919 * 104729) % proofLeaves);
      const t = performance.now();
      const { hashes } = await tlog.inclusion(`ctx_${leaf}`, proofLeaves);
      times.push(performance.now() - t);
      if (hashes.length < 19 && proofLeaves === 1_000_000) throw new Error("short proof");
    }
    proofMs = median(times.slice(5));
    metrics.proofLeaves = proofLeaves;
    metrics.inclusionProofMs = round(proofMs, 3);
  } finally {
    await proofStore.close();
  }

  const appendRatioMin = Math.min(...ratios);
  const pass = appendRatioMin >= APPEND_TARGET && verifyRatio >= VERIFY_TARGET && proofMs < PROOF_TARGET_MS;
  return {
    name: "ledger",
    description:
      "appends/s with the transparency log maintained vs plain (DuckDB, Postgres; 1 and 16 in flight), ledger verify vs raw sha256, inclusion proof time",
    metrics,
    ratio: round(appendRatioMin, 3),
    target: `append >= ${APPEND_TARGET} (min of 4), verify >= ${VERIFY_TARGET}, proof < ${PROOF_TARGET_MS} ms`,
    pass,
  };
}

runIfMain(import.meta.url, run);
