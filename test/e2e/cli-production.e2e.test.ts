// `fabra migrate` and `fabra doctor` end to end on the built binary against the real Postgres and Redis, and the
// record commands on a Postgres ledger (import the spec vectors, verify them all).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { project as cliProject, sandbox, VECTORS } from "../helpers/cli.js";
import {
  deleteKeys,
  dropSchema,
  freePort,
  POSTGRES_URL,
  postgresUp,
  REDIS_URL,
  redisUp,
  uniqueName,
} from "../helpers/services.js";

const up = (await postgresUp()) && (await redisUp());

/** `fabra` in a project configured with `stores` (the shell's FABRA_* URLs never override it: the helper drops them). */
const project = (stores: Record<string, unknown>) =>
  cliProject("fabra-prod-e2e-", { "fabra.config.json": JSON.stringify({ stores }) }, {}, { inProcess: true }).run;

describe.skipIf(!up)("fabra migrate / doctor on Postgres and Redis", () => {
  const schema = uniqueName();
  const prefix = `${uniqueName()}:`;
  const run = project({
    offline: { type: "postgres", url: POSTGRES_URL, schema },
    online: { type: "redis", url: REDIS_URL, keyPrefix: prefix },
    vector: { type: "pgvector" },
  });
  afterAll(async () => {
    await dropSchema(POSTGRES_URL, schema);
    await deleteKeys(REDIS_URL, prefix);
  });

  it("doctor fails before migrate and says to run it; migrate applies, then is a no-op; doctor passes", async () => {
    const before = await run(["doctor"]);
    expect(before.exitCode).toBe(3);
    expect(before.stdout).toMatch(/✗ migrations: missing 1 \(context record ledger\)/);
    expect(before.stdout).toContain("fix: Run `fabra migrate`.");

    const list = await run(["context", "list"]);
    expect(list.exitCode).toBe(3);
    expect(list.stderr).toMatch(/stores\.offline: the Postgres schema "fabra_test_\w+" is missing migrations/);
    expect(list.stderr).toContain("Run `fabra migrate`");

    const first = await run(["migrate"]);
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toContain("✓ applied 001 context record ledger");
    expect(first.stdout).toContain("✓ applied 003 feature history and materialization runs");
    expect(first.stdout).toMatch(
      /! pgvector is not installed on this Postgres server; vector search uses an exact scan/,
    );
    const second = await run(["migrate"]);
    expect(second.stdout).toContain("✓ up to date");

    const after = await run(["doctor"]);
    expect(after.stdout).toContain("✓ ledger writable");
    expect(after.stdout).toContain("✓ feature history writable");
    expect(after.stdout).toMatch(/✓ stores\.online \(Redis\): Redis \d+\./);
    expect(after.stdout).toMatch(/! pgvector: not installed/);
    expect(after.exitCode).toBe(0);
    expect(after.stdout).toContain("All checks passed (1 warning)");
    const json = JSON.parse((await run(["doctor", "--format", "json"])).stdout) as {
      ok: boolean;
      config: { stores: { offline: { schema: string } } };
    };
    expect(json.ok).toBe(true);
    expect(json.config.stores.offline.schema).toBe(schema);
  });

  it("record commands work on the Postgres ledger: import the spec vectors, verify all, list", async () => {
    const files = ["plain", "features_unicode_numbers", "retrieval_drops_signed", "empty_content"].map((n) =>
      join(VECTORS, `${n}.json`),
    );
    const imported = await run(["context", "import", ...files]);
    expect(imported.exitCode).toBe(0);
    const verified = await run(["context", "verify", "--all"]);
    expect(verified.exitCode).toBe(0);
    expect(verified.stdout).toMatch(/4 records verified/);
    const listed = await run(["context", "list", "--format", "json"]);
    expect(JSON.parse(listed.stdout).items).toHaveLength(4);
  });
});

describe("fabra doctor with services unreachable", () => {
  it("prints ✗ with the masked URL and a fix for each, and exits non-zero", async () => {
    const [pgPort, redisPort] = [await freePort(), await freePort()];
    const run = project({
      offline: { type: "postgres", url: `postgres://fabra:t0psecret@127.0.0.1:${pgPort}/fabra` },
      online: { type: "redis", url: `redis://:t0psecret@127.0.0.1:${redisPort}` },
    });
    const result = await run(["doctor"]);
    expect(result.exitCode).toBe(3);
    expect(result.stdout).toContain(
      `✗ stores.offline (Postgres): stores.offline: Postgres at postgres://fabra:***@127.0.0.1:${pgPort}/fabra refused the connection`,
    );
    expect(result.stdout).toContain(
      `✗ stores.online (Redis): stores.online: Redis at redis://:***@127.0.0.1:${redisPort} refused the connection`,
    );
    expect(result.stdout.match(/fix: /g)?.length).toBeGreaterThanOrEqual(2);
    expect(result.stdout).not.toContain("t0psecret");
    // Postgres, Redis as the online store, and Redis as the event queue (Streams).
    expect(result.stdout).toContain("3 checks failed.");
    expect(result.stdout).toMatch(/✗ stores\.online \(Redis Streams\)/);
  });
});

describe.skipIf(!up)("a Python-style production environment: variables only, no config file", () => {
  const schema = uniqueName();
  const prefix = `${uniqueName()}:`;
  const production = {
    FABRA_ENV: "production",
    FABRA_POSTGRES_URL: POSTGRES_URL,
    FABRA_REDIS_URL: REDIS_URL,
    FABRA_POSTGRES_SCHEMA: schema,
    FABRA_REDIS_KEY_PREFIX: prefix,
  };
  const { run } = sandbox("fabra-prod-env-", production, { inProcess: true });
  afterAll(async () => {
    await dropSchema(POSTGRES_URL, schema);
    await deleteKeys(REDIS_URL, prefix);
  });

  it("runs on Postgres and Redis: migrate, doctor, import and verify on the Postgres ledger", async () => {
    const migrated = await run(["migrate"]);
    expect(migrated.exitCode, migrated.stderr).toBe(0);
    expect(migrated.stdout).toContain("✓ applied 001 context record ledger");
    const doctor = await run(["doctor", "--format", "json"]);
    const report = JSON.parse(doctor.stdout) as {
      ok: boolean;
      config: { environment: string; stores: Record<string, { type: string; schema?: string }> };
    };
    expect(report.ok).toBe(true);
    expect(report.config.environment).toBe("production");
    expect(report.config.stores.offline).toMatchObject({ type: "postgres", schema });
    expect(report.config.stores.online?.type).toBe("redis");
    expect(report.config.stores.vector?.type).toBe("pgvector");
    expect((await run(["context", "import", join(VECTORS, "plain.json")])).exitCode).toBe(0);
    const listed = JSON.parse((await run(["context", "list", "--format", "json"])).stdout) as { items: unknown[] };
    expect(listed.items).toHaveLength(1);
    expect((await run(["context", "verify", "--all"])).stdout).toMatch(/1 record verified/);

    // Named by its record hash, as the original's clients name records.
    const plain = JSON.parse(readFileSync(join(VECTORS, "plain.json"), "utf8")) as {
      context_id: string;
      integrity: { record_hash: string };
    };
    const hash = plain.integrity.record_hash;
    const shown = await run(["context", "show", hash.toUpperCase().replace("SHA256:", "sha256:")]);
    expect(shown.exitCode, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(plain.context_id);
    const verified = await run(["context", "verify", hash]);
    expect(verified.exitCode).toBe(0);
    expect(verified.stdout).toContain(plain.context_id);
    const exported = await run(["context", "export", hash]);
    expect(exported.exitCode).toBe(0);
    expect(exported.stdout).toBe((await run(["context", "export", plain.context_id])).stdout);
    expect(exported.stdout).toContain(hash);
    const missing = await run(["context", "show", `sha256:${"0".repeat(64)}`]);
    expect(missing.exitCode).not.toBe(0);
    expect(missing.stderr).toContain(`No context record with record_hash sha256:${"0".repeat(64)}`);
    const malformed = await run(["context", "show", "sha256:abc"]);
    expect(malformed.stderr).toContain('"sha256:abc" is not a record hash');
  });

  it("refuses production without FABRA_REDIS_URL, naming it", async () => {
    const result = await run(["context", "list"], { env: { FABRA_REDIS_URL: "" } });
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain("FABRA_ENV=production needs FABRA_REDIS_URL");
  });

  it("a FABRA_*_URL set but unused is a loud warning and a doctor ✗", async () => {
    const dev = { FABRA_ENV: "development", FABRA_DUCKDB_PATH: ":memory:" };
    const listed = await run(["context", "list"], { env: dev });
    expect(listed.stderr).toMatch(/warning: FABRA_POSTGRES_URL is set but not used/);
    expect(listed.stderr).toMatch(/warning: FABRA_REDIS_URL is set but not used/);
    const doctor = await run(["doctor"], { env: dev });
    expect(doctor.exitCode).not.toBe(0);
    expect(doctor.stdout).toMatch(/✗ config: FABRA_POSTGRES_URL is set but not used/);
    expect(doctor.stdout).toMatch(/✗ config: FABRA_REDIS_URL is set but not used/);
  });
});
