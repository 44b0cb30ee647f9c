// Production mode end to end through the built CLI: a project on Postgres (ledger + feature history, a fresh schema),
// Redis (cache, its own key prefix) and pgvector (exact-scan fallback here): migrate → index add → context run →
// verify → materialize (entities from SQL) → features list/get --as-of → training-data → doctor. Every step is
// checked in the databases themselves, not only in the CLI's output.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIGRATIONS } from "../../src/stores/postgres/migrations/index.js";
import { sandbox } from "../helpers/cli.js";
import {
  deleteKeys,
  dropSchema,
  POSTGRES_URL,
  postgresUp,
  REDIS_URL,
  redisUp,
  uniqueName,
} from "../helpers/services.js";
const up = (await postgresUp()) && (await redisUp());

const FEATURES_TS = `
import { readFileSync } from "node:fs";
import { context, entity, feature, retriever } from "fabra";

export const user = entity("user");

// Materialized for the customers a SQL query lists (run against the Postgres offline store: fabra's schema first).
export const tier = feature({ entity: user, refresh: "1h", ttl: "2h", materialize: true, entities: { sql: "SELECT id FROM customers ORDER BY id" } }, (id: string) => {
  const tiers = JSON.parse(readFileSync(new URL("./tiers.json", import.meta.url), "utf8"));
  return tiers[id] ?? "free";
});

// Computed on read: cached in Redis, kept in history.
export const ratio = feature({ entity: user, ttl: "1h" }, (id: string) => ({ id, score: 2.5, exact: 1180591620717411303424n }));

export const searchDocs = retriever({ index: "docs", topK: 2 });

export const supportContext = context({ maxTokens: 400, model: "gpt-4o-mini" }, async ({ userId, query }: { userId: string; query: string }) => {
  const [t, r] = await Promise.all([tier.get(userId), ratio.get(userId)]);
  const docs = await searchDocs(query);
  return [
    { content: "You are a support assistant.", priority: 0, required: true },
    { content: \`Customer \${userId}: \${t} tier, score \${(r as { score: number }).score}.\`, priority: 1, required: true },
    ...docs.map((d, i) => ({ content: d.content, priority: 2 + i, source: d })),
    { content: \`Question: \${query}\`, priority: 99, required: true },
  ];
});
`;

describe.skipIf(!up)("production mode end to end (Postgres + Redis + pgvector fallback)", () => {
  const schema = uniqueName();
  const prefix = `${uniqueName()}:`;
  const { dir, run } = sandbox("fabra-prod-", {}, { inProcess: true });
  const tiers = (t: Record<string, string>) => writeFileSync(join(dir, "tiers.json"), JSON.stringify(t));
  const ident = (table: string) => `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(table)}`;
  let client: pg.Client;
  let redis: Redis;
  const sql = async <T = Record<string, unknown>>(text: string, params: unknown[] = []) =>
    (await client.query(text, params)).rows as T[];
  let contextId = "";
  let materializedAt = "";

  beforeAll(async () => {
    writeFileSync(
      join(dir, "fabra.config.ts"),
      `export default {
        definitions: ["./features.ts"],
        stores: {
          offline: { type: "postgres", url: ${JSON.stringify(POSTGRES_URL)}, schema: ${JSON.stringify(schema)}, poolSize: 4 },
          online: { type: "redis", url: ${JSON.stringify(REDIS_URL)}, keyPrefix: ${JSON.stringify(prefix)} },
          vector: { type: "pgvector" },
        },
        embedder: { type: "lexical" },
        chunking: { chunkTokens: 60, overlapTokens: 10 },
      };\n`,
    );
    writeFileSync(join(dir, "features.ts"), FEATURES_TS);
    tiers({ u1: "gold", u2: "silver", u3: "free" });
    mkdirSync(join(dir, "docs"));
    writeFileSync(
      join(dir, "docs", "password.md"),
      "# Password reset\n\nTo reset your password, open Settings, choose Security and click Reset password. A link is emailed to you.\n",
    );
    writeFileSync(
      join(dir, "docs", "billing.md"),
      "# Billing\n\nInvoices are issued on the first day of each month. Change the card under Billing settings.\n",
    );
    client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    redis = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    await client?.end();
    redis?.disconnect();
    await dropSchema(POSTGRES_URL, schema);
    await deleteKeys(REDIS_URL, prefix);
  });

  it("migrate creates the ledger, vector and feature-history tables; the user's table goes next to them", async () => {
    const migrated = await run(["migrate"]);
    expect(migrated.exitCode, migrated.stderr).toBe(0);
    expect(migrated.stdout).toContain("✓ applied 001 context record ledger");
    expect(migrated.stdout).toContain("✓ applied 003 feature history and materialization runs");
    expect(migrated.stdout).toMatch(
      /! pgvector is not installed on this Postgres server; vector search uses an exact scan/,
    );
    await sql(`CREATE TABLE ${ident("customers")} (id text PRIMARY KEY)`);
    await sql(`INSERT INTO ${ident("customers")} VALUES ('u3'), ('u1'), ('u2')`);
  });

  it("index add stores chunks in Postgres; context run records into the Postgres ledger, caches in Redis, keeps history", async () => {
    const indexed = await run(["index", "add", "docs", "--index", "docs"]);
    expect(indexed.exitCode, indexed.stderr).toBe(0);
    expect(indexed.stdout).toMatch(/Indexed 2 documents as \d+ chunks into "docs"/);
    expect(
      Number(
        (
          await sql<{ n: string }>(
            `SELECT count(DISTINCT document_id) AS n FROM ${ident("fabra_chunks")} WHERE index_name = 'docs'`,
          )
        )[0]?.n,
      ),
    ).toBe(2);

    const first = await run([
      "context",
      "run",
      "supportContext",
      "--input",
      "userId=u1",
      "--input",
      "query=how do I reset my password",
      "--json",
    ]);
    expect(first.exitCode, first.stderr).toBe(0);
    const out = JSON.parse(first.stdout) as { context_id: string; content: string };
    contextId = out.context_id;
    expect(out.content).toContain("Customer u1: gold tier, score 2.5.");
    expect(out.content).toContain("Reset password");

    const [row] = await sql<{ canonical_text: string; context_function: string }>(
      `SELECT canonical_text, context_function FROM ${ident("fabra_context_records")} WHERE context_id = $1`,
      [contextId],
    );
    expect(row?.context_function).toBe("supportContext");
    const record = JSON.parse(row?.canonical_text ?? "{}") as {
      features: { name: string; source: string; value: unknown }[];
      retrieved_items: { chunk_id: string }[];
    };
    expect(record.features.map((f) => [f.name, f.source]).sort()).toEqual([
      ["ratio", "compute"],
      ["tier", "compute"],
    ]);
    expect(row?.canonical_text).toContain('"exact":1180591620717411303424');
    expect(row?.canonical_text).toContain('"score":2.5');
    expect(record.retrieved_items.length).toBeGreaterThan(0);

    // Computed values are in Redis (kind-preserving, with their TTL) and in Postgres history (as read values).
    const cached = await redis.get(`${prefix}feat:ratio:u1`);
    expect(cached).toMatch(/\|\{"exact":1180591620717411303424,"id":"u1","score":2\.5\}$/);
    expect(await redis.pttl(`${prefix}feat:ratio:u1`)).toBeGreaterThan(3_500_000);
    const history = await sql<{ feature: string; value_json: string; run_id: string }>(
      `SELECT feature, value_json, run_id FROM ${ident("fabra_feature_values")} ORDER BY feature`,
    );
    expect(history.map((h) => [h.feature, h.value_json, h.run_id.startsWith("read:")])).toEqual([
      ["ratio", '{"exact":1180591620717411303424,"id":"u1","score":2.5}', true],
      ["tier", '"gold"', true],
    ]);

    // A second run reads both features from Redis.
    const second = await run([
      "context",
      "run",
      "supportContext",
      "--input",
      "userId=u1",
      "--input",
      "query=billing invoices",
      "--json",
    ]);
    expect(second.exitCode, second.stderr).toBe(0);
    const secondId = (JSON.parse(second.stdout) as { context_id: string }).context_id;
    const [again] = await sql<{ canonical_text: string }>(
      `SELECT canonical_text FROM ${ident("fabra_context_records")} WHERE context_id = $1`,
      [secondId],
    );
    expect(
      (JSON.parse(again?.canonical_text ?? "{}") as { features: { source: string }[] }).features.map((f) => f.source),
    ).toEqual(["cache", "cache"]);
  }, 60_000);

  it("verify checks the records in the Postgres ledger", async () => {
    const one = await run(["context", "verify", contextId]);
    expect(one.exitCode, one.stderr).toBe(0);
    const all = await run(["context", "verify", "--all"]);
    expect(all.exitCode, all.stderr).toBe(0);
    expect(all.stdout).toMatch(/2 records verified/);
  });

  it("materialize takes entities from SQL, writes history and Redis as one run; features list and get --as-of read it back", async () => {
    tiers({ u1: "platinum", u2: "silver", u3: "free" });
    const materialized = await run(["materialize", "--json"]);
    expect(materialized.exitCode, materialized.stderr).toBe(0);
    const result = JSON.parse(materialized.stdout) as {
      features: { feature: string; status: string; total: number; written: number; run_id: string }[];
    };
    expect(result.features).toMatchObject([{ feature: "tier", status: "succeeded", total: 3, written: 3 }]);
    const runId = result.features[0]?.run_id ?? "";
    const rows = await sql<{ entity_id: string; value_json: string }>(
      `SELECT entity_id, value_json FROM ${ident("fabra_feature_values")} WHERE run_id = $1 ORDER BY entity_id`,
      [runId],
    );
    expect(rows).toEqual([
      { entity_id: "u1", value_json: '"platinum"' },
      { entity_id: "u2", value_json: '"silver"' },
      { entity_id: "u3", value_json: '"free"' },
    ]);
    const runs = await sql<{ status: string; entities_written: string; trigger: string }>(
      `SELECT status, entities_written, trigger FROM ${ident("fabra_materialize_runs")}`,
    );
    expect(runs).toEqual([{ status: "succeeded", entities_written: "3", trigger: "manual" }]);
    expect(await redis.get(`${prefix}feat:tier:u1`)).toMatch(/\|"platinum"$/);
    materializedAt = new Date().toISOString();

    const list = await run(["features", "list", "--json"]);
    expect(list.exitCode, list.stderr).toBe(0);
    const features = JSON.parse(list.stdout) as { name: string; last_run: { run_id: string; status: string } | null }[];
    expect(features.map((f) => [f.name, f.last_run?.run_id ?? null, f.last_run?.status ?? null])).toEqual([
      ["ratio", null, null],
      ["tier", runId, "succeeded"],
    ]);
    const now = await run(["features", "get", "tier", "u1", "--json"]);
    expect(JSON.parse(now.stdout)).toMatchObject({ value: "platinum", served_from: "cache" });
    const before = await run(["features", "get", "tier", "u1", "--as-of", "2000-01-01T00:00:00Z"]);
    expect(before.exitCode).toBe(2);
    expect(before.stderr).toMatch(/No value of tier for u1 at or before 2000-01-01T00:00:00Z/);
    const [readAt] = await sql<{ at: string }>(
      `SELECT to_char(computed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at FROM ${ident("fabra_feature_values")} WHERE feature = 'tier' AND run_id LIKE 'read:%'`,
    );
    const asOf = await run(["features", "get", "tier", "u1", "--as-of", readAt?.at ?? "", "--json"]);
    expect(asOf.exitCode, asOf.stderr).toBe(0);
    expect(JSON.parse(asOf.stdout)).toMatchObject({ value: "gold", served_from: "history" });
  }, 60_000);

  it("training-data joins point-in-time from Postgres history (the events file read by fabra)", async () => {
    writeFileSync(
      join(dir, "events.csv"),
      `user,at,label\nu1,2000-01-01T00:00:00Z,0\nu1,${materializedAt},1\nu2,2999-01-01,1\nu9,2999-01-01,0\n`,
    );
    const csv = await run([
      "training-data",
      "--events",
      "events.csv",
      "--features",
      "tier,ratio",
      "--entity-column",
      "user",
      "--timestamp-column",
      "at",
    ]);
    expect(csv.exitCode, csv.stderr).toBe(0);
    const at = materializedAt.replace(/\.(\d{3})Z$/, (_, ms: string) => (ms === "000" ? "Z" : `.${ms}000Z`));
    expect(csv.stdout).toBe(
      [
        "user,at,label,tier,ratio",
        "u1,2000-01-01T00:00:00Z,0,,",
        `u1,${at},1,platinum,"{""exact"":1180591620717411303424,""id"":""u1"",""score"":2.5}"`,
        "u2,2999-01-01T00:00:00Z,1,silver,",
        "u9,2999-01-01T00:00:00Z,0,,",
      ].join("\n"),
    );
  }, 60_000);

  it("doctor checks the history tables and leaves no rows behind", async () => {
    const count = async () =>
      (
        await sql<{ v: string; r: string }>(
          `SELECT (SELECT count(*) FROM ${ident("fabra_feature_values")}) AS v, (SELECT count(*) FROM ${ident("fabra_materialize_runs")}) AS r`,
        )
      )[0];
    const before = await count();
    const doctor = await run(["doctor"]);
    expect(doctor.exitCode, doctor.stdout).toBe(0);
    const latest = Math.max(...MIGRATIONS.map((m) => m.version));
    expect(doctor.stdout).toMatch(new RegExp(`✓ migrations: schema "fabra_test_\\w+" at migration ${latest}\\b`));
    expect(doctor.stdout).toContain("✓ ledger writable");
    expect(doctor.stdout).toContain("✓ feature history writable");
    expect(await count()).toEqual(before);
  });
});
