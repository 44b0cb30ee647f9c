// "materialize": values written per second (history + online cache) by `materialize` for a cheap feature over
// 100,000 entities, on a DuckDB file. Baseline in the same run: the same rows appended with the DuckDB appender
// straight into an identical table (same primary key, same 1,000-row transactions) plus a Map as the cache.
// Run alone: node bench/materialize.bench.js [--quick]      (needs `npm run build` first)
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBTimestampValue } from "@duckdb/node-api";
import { createFabra, entity, feature } from "../dist/index.js";
import { median, runIfMain } from "./lib.js";

export default async function run(options = {}) {
  const log = options.log ?? ((m) => process.stderr.write(`${m}\n`));
  const quick = options.quick === true;
  const entities = quick ? 10_000 : 100_000;
  const batchSize = 1000;
  const ids = Array.from({ length: entities }, (_, i) => `user_${i}`);
  const dir = mkdtempSync(join(tmpdir(), "fabra-bench-mat-"));
  const user = entity("user");
  const score = feature({ entity: user, materialize: true, entities: ids, ttl: "1h" }, (id) => id.length * 1.5);
  const fabra = await createFabra({
    definitions: { user, score },
    stores: { offline: { type: "duckdb", path: join(dir, "mat.duckdb") } },
    warn: log,
  });
  try {
    const db = fabra.stores.offline.db;
    await db.run(`CREATE TABLE raw_values (feature VARCHAR NOT NULL, entity_id VARCHAR NOT NULL, value_json VARCHAR NOT NULL,
                  computed_at TIMESTAMP NOT NULL, run_id VARCHAR NOT NULL, PRIMARY KEY (feature, entity_id, run_id))`);

    const raw = async (round) => {
      const cache = new Map();
      const runId = `raw_${round}`;
      for (let i = 0; i < entities; i += batchSize) {
        await db.exclusive(async (c) => {
          await c.run("BEGIN TRANSACTION");
          const appender = await c.createAppender("raw_values");
          const now = BigInt(Date.now()) * 1000n;
          for (const id of ids.slice(i, i + batchSize)) {
            const valueJson = String(id.length * 1.5);
            appender.appendVarchar("score");
            appender.appendVarchar(id);
            appender.appendVarchar(valueJson);
            appender.appendTimestamp(new DuckDBTimestampValue(now));
            appender.appendVarchar(runId);
            appender.endRow();
            cache.set(`score\u0000${id}`, { valueJson, expiresAt: Date.now() + 3_600_000 });
          }
          appender.closeSync();
          await c.run("COMMIT");
        });
      }
      if (cache.size !== entities) throw new Error("raw: cache incomplete");
    };
    const mine = async () => {
      const [result] = await fabra.materialize({ batchSize, concurrency: 8 });
      if (result?.status !== "succeeded" || result.written !== entities)
        throw new Error(`materialize: ${JSON.stringify(result)}`);
    };

    const rounds = quick ? 2 : 3;
    const fabraMs = [];
    const rawMs = [];
    for (let r = 0; r < rounds; r++) {
      log(`materialize: round ${r + 1}/${rounds}`);
      for (const [fn, into] of r % 2 === 0
        ? [
            [mine, fabraMs],
            [() => raw(r), rawMs],
          ]
        : [
            [() => raw(r), rawMs],
            [mine, fabraMs],
          ]) {
        globalThis.gc?.();
        const start = performance.now();
        await fn();
        into.push(performance.now() - start);
      }
    }
    const rows = await db.query(
      "SELECT count(*) AS n, count(DISTINCT run_id) AS runs FROM fabra_feature_values WHERE feature = 'score'",
    );
    if (Number(rows[0].n) !== entities * rounds || Number(rows[0].runs) !== rounds)
      throw new Error(`history has ${rows[0].n} rows in ${rows[0].runs} runs`);
    const cached = await fabra.stores.online.get({ feature: "score", entityId: ids[entities - 1] });
    if (!cached) throw new Error("the online cache is missing values");

    const fabraRate = (entities * 1000) / median(fabraMs);
    const rawRate = (entities * 1000) / median(rawMs);
    const ratio = fabraRate / rawRate;
    return {
      name: "materialize",
      description: `materialize a cheap feature over ${entities.toLocaleString()} entities (history on a DuckDB file + memory cache), vs raw appender writes of the same rows`,
      metrics: {
        entities,
        batchSize,
        fabraRowsPerSecond: Math.round(fabraRate),
        rawRowsPerSecond: Math.round(rawRate),
        fabraMedianMs: Math.round(median(fabraMs)),
        rawMedianMs: Math.round(median(rawMs)),
        rounds,
      },
      ratio: Math.round(ratio * 1000) / 1000,
      target: ">= 0.5",
      pass: ratio >= 0.5,
    };
  } finally {
    await fabra.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

runIfMain(import.meta.url, run);
