// "serve-context" (issue 12): `POST /v1/context/:name` under autocannon with every record durable in the ledger, at 16
// and 64 connections, against a bare hono route (same Node adapter, a JSON body parsed and a response of the same
// size) in the same run. DuckDB (a file, as `fabra serve` holds it, with the transparency-log sequencer running) and
// Postgres (when reachable). Targets: DuckDB req/s >= 0.2 × the bare route's with p99 <= 5 × its p99; Postgres >= 0.15.
// Every round checks that the 2xx context responses equal the records added to the ledger (the bench fails if not).
//
// Then the commit path alone, in this process, against its floors measured in the same run: an fdatasync'd append
// of the same bytes to a plain file, and a raw single-row INSERT (prepared, autocommit) into an identical table;
// sequential (a lone append costs one commit) and 16 / 64 in flight (group commit: one commit for what is waiting).
//
// The servers run in a child process (this file, forked) and autocannon in this one, as a client would. Bare and
// context rounds alternate; each figure is the median round's.
// Run alone: npm run build && node bench/serve-context.bench.js [--quick]
import { closeSync, fdatasyncSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  answerParent,
  benchOptions,
  cannon,
  forkServeChild,
  listenBare,
  median,
  percentile,
  round,
  runIfMain,
  startBenchServer,
  tempDir,
} from "./lib.js";
import { dropSchema, POSTGRES_URL, uniqueName } from "./prod-services.js";

const DUCKDB_TARGET = 0.2;
const POSTGRES_TARGET = 0.15;
const P99_FACTOR = 5;
const SELF = fileURLToPath(import.meta.url);
const FIXTURES = join(import.meta.dirname, "..", "test", "fixtures", "crs-001");
const BODY = JSON.stringify({ userId: "u_1", query: "how do I reset my password" });

// ------------------------------------------------------------------ the servers (child process)

async function serveChild(dir, pgSchema) {
  const { Hono } = await import("hono");
  const { logSequencerService } = await import("../dist/server/services.js");
  const app = (offline) => startBenchServer({ offline, services: (fabra) => [logSequencerService(fabra)] });
  const servers = { duckdb: await app({ type: "duckdb", path: join(dir, "fabra.duckdb") }) };
  if (pgSchema) servers.postgres = await app({ type: "postgres", url: POSTGRES_URL, schema: pgSchema });

  // The bare route parses the same body and answers with a response of the same size as the context route's.
  const sample = await (
    await fetch(`${servers.duckdb.server.url}/v1/context/chat`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: BODY,
    })
  ).text();
  const payload = JSON.parse(sample);
  const bareApp = new Hono();
  bareApp.post("/bare/:name", async (c) => {
    const body = await c.req.json();
    return c.json({ ...payload, context_function: c.req.param("name"), inputs: body });
  });
  const bare = await listenBare(bareApp);

  answerParent({
    records: async ({ backend }) => {
      const s = servers[backend];
      return { records: await s.fabra.stores.records.count(), commits: commitStats(s.fabra.stores.records) };
    },
    exit: async () => {
      bare.close();
      await Promise.all(Object.values(servers).map((s) => s.server.close()));
    },
  });
  process.send({
    urls: Object.fromEntries(Object.entries(servers).map(([k, s]) => [k, s.server.url])),
    bare: bare.url,
    responseBytes: sample.length,
  });
}

/** The group commit's counters of a (possibly instrumented) record store, when it has them. */
function commitStats(store) {
  const stats = store.commitStats;
  return stats ? { ...stats } : null;
}

// ------------------------------------------------------------------ the load (this process)

/**
 * One autocannon run of `amount` requests (or for `duration` seconds): with a fixed amount every request sent is
 * answered before it ends, so the responses can be counted against the ledger (a timed run abandons the requests in
 * flight when it stops, which the server still answers and records).
 */
async function load(ask, url, { duration, amount, connections }) {
  const { result, seconds, cpu_us_per_req } = await cannon(ask, {
    url,
    method: "POST",
    body: BODY,
    headers: { "content-type": "application/json" },
    ...(amount ? { amount } : { duration }),
    connections,
  });
  return {
    ok: result["2xx"],
    req_per_s: Math.round(result.requests.total / Math.max(0.01, seconds)),
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    cpu_us_per_req,
  };
}

/** A context round: the 2xx responses must be exactly the records the ledger gained. */
async function contextRound(ask, urls, backend, opts) {
  if (!opts.amount) throw new Error("a context round sends a fixed amount of requests (see load)");
  const before = await ask({ type: "records", backend });
  const r = await load(ask, `${urls[backend]}/v1/context/chat`, opts);
  const after = await ask({ type: "records", backend });
  const added = after.records - before.records;
  if (added !== r.ok)
    throw new Error(`${backend}: ${r.ok} 2xx context responses but ${added} new records in the ledger`);
  const commits = after.commits && before.commits ? after.commits.commits - before.commits.commits : null;
  return { ...r, records_added: added, rows_per_commit: commits ? round(added / commits, 2) : null };
}

// ------------------------------------------------------------------ the commit path against its floors

async function mintRows(count, contentChars) {
  const { recordToRow } = await import("../dist/engine/ledger/rows.js");
  const { fromEpochMicros } = await import("../dist/record/datetime.js");
  const { newContextId } = await import("../dist/record/id.js");
  const { sealRecord } = await import("../dist/record/seal.js");
  const { readRecordText } = await import("../dist/record/verify.js");
  const base = readRecordText(readFileSync(join(FIXTURES, "plain.json"), "utf8"));
  const filler = "The customer asked how to reset a password; the assistant explains the sign-in page. ";
  const content = filler.repeat(Math.ceil(contentChars / filler.length)).slice(0, contentChars);
  const start = BigInt(Date.now()) * 1000n - BigInt(count) * 1000n;
  return Array.from({ length: count }, (_, i) => {
    const { record, canonicalText } = sealRecord({
      ...base,
      context_id: newContextId(),
      created_at: fromEpochMicros(start + BigInt(i) * 1000n),
      content,
      inputs: { ...base.inputs, n: i },
      integrity: { ...base.integrity, record_hash: "", content_hash: "" },
    });
    return recordToRow(record, canonicalText);
  });
}

/**
 * Each of `ways` ({ name: [fn, rows] }) one call at a time, interleaved call by call (who goes first rotates), so all
 * see the same machine: p50/p99 ms per call. Then each with `inFlight` callers, back to back: records/s.
 */
async function measure(ways, inFlight, seqCount) {
  const names = Object.keys(ways);
  const times = Object.fromEntries(names.map((k) => [k, []]));
  for (let i = 0; i < seqCount; i++) {
    for (let j = 0; j < names.length; j++) {
      const name = names[(i + j) % names.length];
      const [fn, rows] = ways[name];
      const t = performance.now();
      await fn(rows[i]);
      times[name].push(performance.now() - t);
    }
  }
  const out = Object.fromEntries(
    names.map((k) => [k, { p50: percentile(times[k], 50), p99: percentile(times[k], 99), rates: {} }]),
  );
  let offset = seqCount;
  for (const n of inFlight) {
    const per = n * 8;
    for (const name of names) {
      const [fn, rows] = ways[name];
      if (rows.length < offset + per) continue;
      const batch = rows.slice(offset, offset + per);
      let next = 0;
      const t = performance.now();
      await Promise.all(
        Array.from({ length: n }, async () => {
          while (next < batch.length) await fn(batch[next++]);
        }),
      );
      out[name].rates[n] = Math.round((batch.length * 1000) / (performance.now() - t));
    }
    offset += per;
  }
  return out;
}

const RAW_COLUMNS =
  "context_id, created_at, context_function, environment, token_count, record_hash, previous_context_id, canonical_text, imported";
const rawParams = (r) => [
  r.contextId,
  r.createdAt,
  r.contextFunction,
  r.environment,
  r.tokenCount,
  r.recordHash,
  r.previousContextId,
  r.canonicalText,
  false,
];

async function commitPath(dir, pgSchema, { quick, log }) {
  const seq = quick ? 100 : 500;
  const inFlight = [16, 64];
  const perWay = seq + inFlight.reduce((sum, k) => sum + k * 8, 0);
  log(`commit path: minting ${perWay * 5} records of ~11 KB`);
  const all = await mintRows(perWay * 5, 10_500);
  const rowsOf = (i) => all.slice(i * perWay, (i + 1) * perWay);
  const bytes = Math.round(all.reduce((s, r) => s + Buffer.byteLength(r.canonicalText), 0) / all.length);
  const out = { record_bytes: bytes };

  // The floor: an fdatasync'd append of the same bytes to a plain file (callers in flight take turns on it).
  const fd = openSync(join(dir, "floor.log"), "a");
  const fileAppend = async (r) => {
    writeSync(fd, `${r.canonicalText}\n`);
    fdatasyncSync(fd);
  };

  // DuckDB: raw single-row INSERTs into an identical table in a file of its own, and fabra's record store.
  const { DuckDBInstance } = await import("@duckdb/node-api");
  const { open: openDuck } = await import("../dist/stores/duckdb/records.js");
  const duckStore = await openDuck(join(dir, "ledger.duckdb"));
  // The same DDL as the store's own table (its database handle is private to TypeScript, not to this script).
  const ddl = (
    await duckStore.db.query("SELECT sql FROM duckdb_tables() WHERE table_name = 'fabra_context_records'")
  )[0].sql;
  const indexes = await duckStore.db.query(
    "SELECT sql FROM duckdb_indexes() WHERE table_name = 'fabra_context_records' AND sql IS NOT NULL",
  );
  const rawDb = await DuckDBInstance.create(join(dir, "raw.duckdb"));
  const rawConn = await rawDb.connect();
  await rawConn.run(ddl);
  for (const { sql } of indexes) await rawConn.run(sql);
  const rawInsert = await rawConn.prepare(
    `INSERT INTO fabra_context_records (${RAW_COLUMNS}) VALUES ($1, $2::TIMESTAMP, $3, $4, $5, $6, $7, $8, $9)`,
  );
  let rawQueue = Promise.resolve();
  // One connection, one statement at a time (as a single DuckDB writer must): callers in flight queue for it.
  const duckRaw = (r) => {
    const run = rawQueue.then(async () => {
      rawInsert.bind(rawParams(r));
      await rawInsert.run();
    });
    rawQueue = run.catch(() => undefined);
    return run;
  };
  const ways = {
    fdatasync: [fileAppend, rowsOf(0)],
    duckdb_raw_insert: [duckRaw, rowsOf(1)],
    duckdb_append: [(r) => duckStore.append(r), rowsOf(2)],
  };
  let pgStore = null;
  let rawPool = null;
  if (pgSchema) {
    const pg = (await import("pg")).default;
    const { open: openPg } = await import("../dist/stores/postgres/records.js");
    pgStore = await openPg({ url: POSTGRES_URL, schema: pgSchema, poolSize: 10, service: "stores.offline" });
    rawPool = new pg.Pool({ connectionString: POSTGRES_URL, max: 10 });
    const rawTable = `${pg.escapeIdentifier(pgSchema)}.raw_ledger`;
    await rawPool.query(
      `CREATE TABLE ${rawTable} (LIKE ${pg.escapeIdentifier(pgSchema)}.fabra_context_records INCLUDING ALL)`,
    );
    const sql = `INSERT INTO ${rawTable} (${RAW_COLUMNS}) VALUES ($1, $2::timestamptz, $3, $4, $5, $6, $7, $8, $9)`;
    ways.postgres_raw_insert = [(r) => rawPool.query(sql, rawParams(r)), rowsOf(3)];
    ways.postgres_append = [(r) => pgStore.append(r), rowsOf(4)];
  }
  try {
    log(
      `commit path: ${Object.keys(ways).join(", ")}: ${seq} one at a time (interleaved), then ${inFlight.join(" and ")} in flight`,
    );
    const m = await measure(ways, inFlight, seq);
    out.fdatasync_append_p50_ms = round(m.fdatasync.p50);
    out.fdatasync_append_p99_ms = round(m.fdatasync.p99);
    for (const db of pgSchema ? ["duckdb", "postgres"] : ["duckdb"]) {
      const raw = m[`${db}_raw_insert`];
      const fabra = m[`${db}_append`];
      Object.assign(out, {
        [`${db}_raw_insert_p50_ms`]: round(raw.p50),
        [`${db}_append_p50_ms`]: round(fabra.p50),
        [`${db}_append_p99_ms`]: round(fabra.p99),
        [`${db}_append_vs_raw_insert_p50`]: round(fabra.p50 / raw.p50, 2),
        [`${db}_append_vs_fdatasync_p50`]: round(fabra.p50 / m.fdatasync.p50, 2),
      });
      for (const k of inFlight) {
        out[`${db}_raw_insert_${k}_in_flight_per_s`] = raw.rates[k];
        out[`${db}_append_${k}_in_flight_per_s`] = fabra.rates[k];
        out[`${db}_group_commit_gain_${k}_in_flight`] = round(fabra.rates[k] / raw.rates[k], 2);
      }
    }
    for (const k of inFlight) out[`fdatasync_append_${k}_in_flight_per_s`] = m.fdatasync.rates[k];
    out.duckdb_largest_commit_rows = duckStore.commitStats.largestBatch;
    if (pgStore) out.postgres_largest_commit_rows = pgStore.commitStats.largestBatch;
  } finally {
    closeSync(fd);
    rawConn.closeSync();
    rawDb.closeSync();
    await duckStore.close();
    await rawPool?.end();
    await pgStore?.close();
  }
  return out;
}

async function postgresSchema(log) {
  try {
    const { PgDatabase } = await import("../dist/stores/postgres/pool.js");
    const { applyMigrations } = await import("../dist/stores/postgres/migrate.js");
    const schema = uniqueName();
    const db = await PgDatabase.open({ url: POSTGRES_URL, schema, service: "stores.offline" });
    try {
      await applyMigrations(db);
    } finally {
      await db.close();
    }
    return schema;
  } catch (err) {
    log(`Postgres not reachable (${err.message}): its rounds are skipped`);
    return null;
  }
}

export default async function run(options = benchOptions()) {
  const { quick, log } = options;
  const duration = quick ? 2 : 5;
  const roundCount = quick ? 1 : 3;
  const connectionCounts = [16, 64];
  const dir = tempDir("fabra-bench-serve-context-");
  const pgSchema = await postgresSchema(log);
  let stop = async () => {};
  try {
    const served = await forkServeChild(SELF, [dir.path, pgSchema ?? ""]);
    const { started, ask } = served;
    stop = served.stop;
    const { urls, bare } = started;
    const backends = Object.keys(urls);
    const bareUrl = `${bare}/bare/chat`;
    // Warm the JIT of every route before measuring; the warm-up's rate sizes each run (about `duration` seconds).
    const rate = { bare: (await load(ask, bareUrl, { duration: 1, connections: 16 })).req_per_s };
    for (const b of backends) rate[b] = (await contextRound(ask, urls, b, { amount: 64, connections: 16 })).req_per_s;
    const sized = (what, connections) => ({
      amount: Math.max(connections * 4, Math.round(rate[what] * duration)),
      connections,
    });
    const measured = (what, result) => {
      rate[what] = result.req_per_s;
      return result;
    };

    const metrics = { response_bytes: started.responseBytes };
    const verdicts = [];
    let headline = Number.POSITIVE_INFINITY;
    for (const connections of connectionCounts) {
      const rounds = [];
      for (let i = 0; i < roundCount; i++) {
        const r = { bare: measured("bare", await load(ask, bareUrl, sized("bare", connections))) };
        for (const b of backends) r[b] = measured(b, await contextRound(ask, urls, b, sized(b, connections)));
        rounds.push(r);
      }
      const med = (pick) => median(rounds.map(pick));
      const bareRps = med((r) => r.bare.req_per_s);
      const bareP99 = med((r) => r.bare.p99_ms);
      metrics[`bare_${connections}c_req_per_s`] = bareRps;
      metrics[`bare_${connections}c_p99_ms`] = bareP99;
      for (const b of backends) {
        const ratio = round(med((r) => r[b].req_per_s / r.bare.req_per_s));
        const p99 = med((r) => r[b].p99_ms);
        const p99Factor = round(
          med((r) => r[b].p99_ms / Math.max(1, r.bare.p99_ms)),
          2,
        );
        Object.assign(metrics, {
          [`${b}_${connections}c_req_per_s`]: med((r) => r[b].req_per_s),
          [`${b}_${connections}c_ratio`]: ratio,
          [`${b}_${connections}c_p50_ms`]: med((r) => r[b].p50_ms),
          [`${b}_${connections}c_p99_ms`]: p99,
          [`${b}_${connections}c_p99_vs_bare`]: p99Factor,
          [`${b}_${connections}c_cpu_us_per_req`]: med((r) => r[b].cpu_us_per_req),
          [`${b}_${connections}c_rows_per_commit`]: med((r) => r[b].rows_per_commit ?? 0),
          [`${b}_${connections}c_records_checked`]: rounds.reduce((s, r) => s + r[b].records_added, 0),
        });
        if (b === "duckdb") {
          headline = Math.min(headline, ratio);
          verdicts.push(ratio >= DUCKDB_TARGET && p99Factor <= P99_FACTOR);
        } else verdicts.push(ratio >= POSTGRES_TARGET);
      }
    }
    await stop();

    Object.assign(metrics, await commitPath(dir.path, pgSchema, options));
    return {
      name: "serve-context",
      description:
        `POST /v1/context/:name with a durable record (DuckDB file${pgSchema ? "; Postgres" : ""}) vs a bare hono POST route, ` +
        `${connectionCounts.join(" and ")} connections, ${roundCount} alternating round(s) of ${duration}s, median; ` +
        "2xx responses = new ledger records checked every round; then the commit path vs fdatasync and raw INSERT floors",
      metrics,
      ratio: headline,
      target: `DuckDB >= ${DUCKDB_TARGET} (p99 <= ${P99_FACTOR}× bare) at 16 and 64 connections; Postgres >= ${POSTGRES_TARGET}`,
      pass: verdicts.every(Boolean),
    };
  } finally {
    await stop();
    if (pgSchema) await dropSchema(POSTGRES_URL, pgSchema).catch(() => undefined);
    dir.cleanup();
  }
}

if (process.argv.includes("--serve-child")) {
  const i = process.argv.indexOf("--serve-child");
  await serveChild(process.argv[i + 1], process.argv[i + 2] || null);
} else {
  runIfMain(import.meta.url, run);
}
