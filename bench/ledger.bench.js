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
import { inclusionRanges } from "../dist/tlog/merkle.js";
import { TransparencyLog } from "../dist/engine/ledger/log.js";
import { fromEpochMicros } from "../dist/record/datetime.js";
import { newContextId } from "../dist/record/id.js";
import { sealRecord } from "../dist/record/seal.js";
import { readRecordText } from "../dist/record/verify.js";
import { LOG_TABLES as DUCK_LOG } from "../dist/stores/duckdb/log.js";
import { open as openDuck } from "../dist/stores/duckdb/records.js";
import { applyMigrations } from "../dist/stores/postgres/migrate.js";
import { PgDatabase } from "../dist/stores/postgres/pool.js";
import { open as openPg } from "../dist/stores/postgres/records.js";
import { tileBackfillSql } from "../dist/stores/tlog-tiles.js";
import { benchOptions, median, percentile, round, runIfMain, tempDir } from "./lib.js";
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

/**
 * Plain vs tree-maintained appends on fresh stores of the same backend: `ROUNDS` back-to-back pairs, alternating
 * which goes first. The ratio is the median of the pairs' ratios (a pair shares the machine's load of the moment);
 * the spread of the pairs is reported beside it.
 */
async function appendRatio(openStore, n, inFlight, log, label) {
  const ROUNDS = 5;
  const plainMs = [];
  const treeMs = [];
  for (let round_ = 0; round_ < ROUNDS; round_++) {
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
  const pairs = plainMs.map((p, i) => p / treeMs[i]).sort((a, b) => a - b);
  const ratio = median(pairs);
  const perSecond = (ms) => Math.round((n * 1000) / median(ms));
  log(
    `${label}: plain ${perSecond(plainMs)}/s, with tree ${perSecond(treeMs)}/s; pair ratios ${pairs.map((r) => round(r, 2)).join(", ")}`,
  );
  return { plain: perSecond(plainMs), tree: perSecond(treeMs), ratio, spread: [pairs[0], pairs[pairs.length - 1]] };
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

/** The append ratios: DuckDB and Postgres, 1 and 16 in flight; fills `metrics`, returns the four ratios. */
async function appendPart(appendN, log, metrics) {
  const ratios = [];
  const duck = async () => {
    const store = await openDuck(join(tempDir("fabra-bench-tlog-").path, "fabra.duckdb"));
    return { store, close: () => store.close() };
  };
  for (const inFlight of [1, 16]) {
    const r = await appendRatio(duck, appendN, inFlight, log, `duckdb x${inFlight}`);
    metrics[`duckdbPlainAppendsPerSecond_x${inFlight}`] = r.plain;
    metrics[`duckdbTreeAppendsPerSecond_x${inFlight}`] = r.tree;
    metrics[`duckdbRatio_x${inFlight}`] = round(r.ratio, 3);
    metrics[`duckdbPairRatios_x${inFlight}`] = r.spread.map((x) => round(x, 2)).join("..");
    ratios.push(r.ratio);
  }
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
      metrics[`postgresPairRatios_x${inFlight}`] = r.spread.map((x) => round(x, 2)).join("..");
      ratios.push(r.ratio);
    }
  } finally {
    for (const s of schemas) await dropSchema(POSTGRES_URL, s);
  }
  return ratios;
}

/** `ledger verify` of `verifyN` records vs raw sha256 over the same bytes (DuckDB); returns the ratio. */
async function verifyPart(verifyN, log, metrics) {
  // ---- ledger verify vs raw sha256 (DuckDB)
  const verifyRatio = await verifyPass(verifyN, log, metrics);
  return verifyRatio;
}

/** SQL that fills the log tables of a `leaves`-leaf tree: every complete subtree (hash = sha256 of its key, a stand-in; level 0 in the leaf-hash table where the backend has one), the leaves, then the tiles as the schema upgrades build them. */
function proofFillSql(leaves, t, range) {
  const sql = [];
  if (t.leafHashes)
    sql.push(
      `INSERT INTO ${t.leafHashes} (leaf_index, hash) SELECT i, ${t.sha256(`'0/' || CAST(i AS VARCHAR)`)} FROM ${range(leaves)}`,
    );
  for (let l = t.leafHashes ? 1 : 0; 2 ** l <= leaves; l++)
    sql.push(
      `INSERT INTO ${t.nodes} (node_key, hash) SELECT '${l}/' || CAST(i AS VARCHAR), ${t.sha256(`'${l}/' || CAST(i AS VARCHAR)`)} FROM ${range(Math.floor(leaves / 2 ** l))}`,
    );
  sql.push(
    `INSERT INTO ${t.leaves} (leaf_index, context_id) SELECT i, 'ctx_' || CAST(i AS VARCHAR) FROM ${range(leaves)}`,
  );
  sql.push(tileBackfillSql(t));
  return sql;
}

/** p50/p99 of `TransparencyLog.inclusion` (the leaf's index, then the audit path through the tiles) over `runs` leaves. */
async function timeProofs(store, leaves, runs) {
  const tlog = new TransparencyLog(async () => store, { origin: "bench", keyFile: null });
  const times = [];
  for (let i = 0; i < runs + 10; i++) {
    const leaf = Math.floor((i * 7919 * 104729) % leaves);
    const t = performance.now();
    const { index, hashes } = await tlog.inclusion(`ctx_${leaf}`, leaves);
    times.push(performance.now() - t);
    if (index !== leaf || hashes.length !== inclusionRanges(leaf, leaves).length)
      throw new Error(`a wrong proof for leaf ${leaf}: index ${index}, ${hashes.length} hashes`);
  }
  const measured = times.slice(10); // the first few warm the caches and prepare the statements
  return { p50: percentile(measured, 50), p99: percentile(measured, 99) };
}

/** Inclusion proofs from a `leaves`-leaf tree, DuckDB and Postgres; returns the worse p50. */
async function proofPart(leaves, log, metrics) {
  metrics.proofLeaves = leaves;
  const runs = 500;
  log(`ledger: filling a ${leaves}-leaf DuckDB log`);
  const proofPath = join(tempDir("fabra-bench-tlog-proof-").path, "fabra.duckdb");
  await (await openDuck(proofPath)).close(); // the tables, as fabra creates them
  {
    const { DuckDBInstance } = await import("@duckdb/node-api");
    const instance = await DuckDBInstance.create(proofPath);
    const c = await instance.connect();
    const t = { ...DUCK_LOG, sha256: (x) => `sha256(${x})` };
    for (const sql of proofFillSql(leaves, t, (n) => `range(0, ${n}) t(i)`)) await c.run(sql);
    c.closeSync();
    instance.closeSync();
  }
  const duckStore = await openDuck(proofPath);
  try {
    const { p50, p99 } = await timeProofs(duckStore, leaves, runs);
    log(`duckdb proof: p50 ${round(p50, 3)} ms, p99 ${round(p99, 3)} ms`);
    metrics.duckdbProofP50Ms = round(p50, 3);
    metrics.duckdbProofP99Ms = round(p99, 3);
  } finally {
    await duckStore.close();
  }

  log(`ledger: filling a ${leaves}-leaf Postgres log`);
  const schema = uniqueName();
  const target = { url: POSTGRES_URL, schema, poolSize: 4, service: "stores.offline", statementTimeoutMs: 600_000 };
  try {
    const db = await PgDatabase.open(target);
    try {
      await applyMigrations(db);
      const t = {
        nodes: db.ident("fabra_tlog_nodes"),
        leaves: db.ident("fabra_tlog_leaves"),
        tiles: db.ident("fabra_tlog_tiles"),
        sha256: (x) => `encode(sha256(convert_to(${x}, 'UTF8')), 'hex')`,
      };
      for (const sql of proofFillSql(leaves, t, (n) => `generate_series(0, ${n - 1}) t(i)`))
        await db.query(sql, [], { timeoutMs: 600_000 });
      await db.query(`ANALYZE ${t.nodes}, ${t.leaves}, ${t.tiles}`);
    } finally {
      await db.close();
    }
    const pgStore = await openPg(target);
    try {
      const { p50, p99 } = await timeProofs(pgStore, leaves, runs);
      log(`postgres proof: p50 ${round(p50, 3)} ms, p99 ${round(p99, 3)} ms`);
      metrics.postgresProofP50Ms = round(p50, 3);
      metrics.postgresProofP99Ms = round(p99, 3);
    } finally {
      await pgStore.close();
    }
  } finally {
    await dropSchema(POSTGRES_URL, schema);
  }
  return Math.max(metrics.duckdbProofP50Ms, metrics.postgresProofP50Ms);
}

export default async function run(options = benchOptions()) {
  const { quick, log } = options;
  // LEDGER_BENCH_PARTS=append,verify,proof (default: all) runs only those parts, for a look at one of them.
  const parts = new Set((process.env.LEDGER_BENCH_PARTS ?? "append,verify,proof").split(","));
  const metrics = {};
  const ratios = parts.has("append") ? await appendPart(quick ? 300 : 2000, log, metrics) : [];
  const verifyRatio = parts.has("verify") ? await verifyPart(quick ? 10_000 : 100_000, log, metrics) : null;
  const proofMs = parts.has("proof") ? await proofPart(quick ? 100_000 : 1_000_000, log, metrics) : null;
  const appendRatioMin = ratios.length > 0 ? Math.min(...ratios) : Number.NaN;
  const pass =
    ratios.length > 0 &&
    appendRatioMin >= APPEND_TARGET &&
    verifyRatio !== null &&
    verifyRatio >= VERIFY_TARGET &&
    proofMs !== null &&
    proofMs < PROOF_TARGET_MS;
  return {
    name: "ledger",
    description:
      "appends/s with the transparency log maintained vs plain (DuckDB, Postgres; 1 and 16 in flight), ledger verify vs raw sha256, inclusion proof p50 (DuckDB, Postgres)",
    metrics,
    ratio: ratios.length > 0 ? round(appendRatioMin, 3) : 0,
    target: `append >= ${APPEND_TARGET} (min of 4), verify >= ${VERIFY_TARGET}, proof p50 < ${PROOF_TARGET_MS} ms (both)`,
    pass,
  };
}

runIfMain(import.meta.url, run);
