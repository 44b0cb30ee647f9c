// Resolving the production store settings: defaults, env overrides, schema inheritance, and masked URLs.
import { describe, expect, it } from "vitest";
import { printableConfig } from "../../src/config/printable.js";
import { resolveConfig } from "../../src/config/resolve.js";
import type { FabraError } from "../../src/errors.js";
import { maskUrl } from "../../src/util/mask-url.js";

const resolve = (stores: unknown, env: NodeJS.ProcessEnv = {}) =>
  resolveConfig({ config: { stores }, configPath: null, rootDir: "/tmp" }, env);

describe("production store config", () => {
  it("fills defaults and lets pgvector inherit the offline URL and schema", () => {
    const c = resolve({
      offline: { type: "postgres", url: "postgres://a@db/x", schema: "fabra" },
      online: { type: "redis", url: "redis://c:6379" },
      vector: { type: "pgvector" },
    });
    expect(c.stores.offline).toEqual({ type: "postgres", url: "postgres://a@db/x", poolSize: 10, schema: "fabra" });
    expect(c.stores.online).toEqual({ type: "redis", url: "redis://c:6379", keyPrefix: "fabra:", timeoutMs: 1000 });
    expect(c.stores.vector).toEqual({ type: "pgvector", url: "postgres://a@db/x", schema: "fabra" });
  });

  it("takes URLs from FABRA_POSTGRES_URL / FABRA_REDIS_URL, which win over the file", () => {
    const c = resolve(
      { offline: { type: "postgres", url: "postgres://file/x" }, online: { type: "redis" } },
      { FABRA_POSTGRES_URL: "postgres://env/y", FABRA_REDIS_URL: "redis://env:6379" },
    );
    expect(c.stores.offline.type === "postgres" && c.stores.offline.url).toBe("postgres://env/y");
    expect(c.stores.online.type === "redis" && c.stores.online.url).toBe("redis://env:6379");
  });

  it("names the missing URL and the variable to set", () => {
    const err = (() => {
      try {
        resolve({ online: { type: "redis" } });
      } catch (e) {
        return e;
      }
    })() as FabraError;
    expect(err.code).toBe("INVALID_CONFIG");
    expect(err.message).toContain("stores.online.url");
    expect(err.hint).toContain("FABRA_REDIS_URL");
  });

  it("refuses a schema that is not a plain identifier, naming the key", () => {
    expect(() => resolve({ offline: { type: "postgres", url: "postgres://a@b/c", schema: 'x"; drop' } })).toThrow(
      /stores\.offline\.schema/,
    );
  });

  it("masks passwords wherever a URL is shown", () => {
    expect(maskUrl("postgres://u:p%40ss@h:5432/d?sslmode=require")).toBe("postgres://u:***@h:5432/d?sslmode=require");
    expect(maskUrl("redis://:secret@h:6379/0")).toBe("redis://:***@h:6379/0");
    expect(maskUrl("postgres://h/d?password=secret")).toBe("postgres://h/d?password=***");
    expect(maskUrl("not a url with secret")).toBe("(unparsable URL)");
    const shown = JSON.stringify(
      printableConfig(
        resolve({
          offline: { type: "postgres", url: "postgres://u:pw1@h/d" },
          online: { type: "redis", url: "redis://:pw2@h" },
          vector: { type: "pgvector" },
        }),
      ),
    );
    expect(shown).not.toMatch(/pw1|pw2/);
    expect(shown).toContain("postgres://u:***@h/d");
  });
});

describe("a Python-style production environment (variables only, no config file)", () => {
  const fromEnv = (env: NodeJS.ProcessEnv) => resolveConfig({ config: null, configPath: null, rootDir: "/tmp" }, env);
  const failure = (env: NodeJS.ProcessEnv) => {
    try {
      fromEnv(env);
    } catch (e) {
      return e as FabraError;
    }
    throw new Error("expected the config to be refused");
  };

  it("selects Postgres (ledger, history, pgvector) and Redis from FABRA_POSTGRES_URL / FABRA_REDIS_URL", () => {
    const c = fromEnv({
      FABRA_ENV: "production",
      FABRA_POSTGRES_URL: "postgres://u@db:5432/app",
      FABRA_REDIS_URL: "redis://cache:6379",
    });
    expect(c.stores.offline).toEqual({
      type: "postgres",
      url: "postgres://u@db:5432/app",
      poolSize: 10,
      schema: "public",
    });
    expect(c.stores.online).toEqual({ type: "redis", url: "redis://cache:6379", keyPrefix: "fabra:", timeoutMs: 1000 });
    expect(c.stores.vector).toEqual({ type: "pgvector", url: "postgres://u@db:5432/app", schema: "public" });
    expect(c.warnings).toEqual([]);
  });

  it("takes the schema and key prefix from FABRA_POSTGRES_SCHEMA / FABRA_REDIS_KEY_PREFIX", () => {
    const c = fromEnv({
      FABRA_ENV: "production",
      FABRA_POSTGRES_URL: "postgres://u@db/app",
      FABRA_REDIS_URL: "redis://cache",
      FABRA_POSTGRES_SCHEMA: "fabra_prod",
      FABRA_REDIS_KEY_PREFIX: "app:",
    });
    expect(c.stores.offline.type === "postgres" && c.stores.offline.schema).toBe("fabra_prod");
    expect(c.stores.vector.type === "pgvector" && c.stores.vector.schema).toBe("fabra_prod");
    expect(c.stores.online.type === "redis" && c.stores.online.keyPrefix).toBe("app:");
  });

  it("refuses production without FABRA_POSTGRES_URL or FABRA_REDIS_URL, naming the variable", () => {
    const noPostgres = failure({ FABRA_ENV: "production", FABRA_REDIS_URL: "redis://cache" });
    expect(noPostgres.code).toBe("INVALID_CONFIG");
    expect(noPostgres.message).toContain("FABRA_ENV=production needs FABRA_POSTGRES_URL");
    expect(noPostgres.hint).toContain("Set FABRA_POSTGRES_URL=");
    const noRedis = failure({ FABRA_ENV: "production", FABRA_POSTGRES_URL: "postgres://u@db/app" });
    expect(noRedis.message).toContain("FABRA_ENV=production needs FABRA_REDIS_URL");
    expect(
      failure({ FABRA_ENV: "production", FABRA_POSTGRES_URL: "mysql://x", FABRA_REDIS_URL: "redis://c" }).message,
    ).toContain("FABRA_POSTGRES_URL is not a postgres:// URL");
  });

  it("keeps the local defaults outside production, and warns about the URLs it does not use", () => {
    const c = fromEnv({ FABRA_POSTGRES_URL: "postgres://u@db/app", FABRA_REDIS_URL: "redis://cache" });
    expect(c.stores.offline.type).toBe("duckdb");
    expect(c.stores.online.type).toBe("memory");
    expect(c.warnings.map((w) => w.variable)).toEqual(["FABRA_POSTGRES_URL", "FABRA_REDIS_URL"]);
    expect(c.warnings[0]?.message).toMatch(/FABRA_POSTGRES_URL is set but not used: .*offline duckdb/);
  });

  it("a config file's stores win in production; the variables they leave unused are warnings", () => {
    const c = resolveConfig(
      {
        config: { stores: { offline: { type: "duckdb", path: ":memory:" }, online: { type: "memory" } } },
        configPath: "/tmp/fabra.config.json",
        rootDir: "/tmp",
      },
      { FABRA_ENV: "production", FABRA_POSTGRES_URL: "postgres://u@db/app", FABRA_REDIS_URL: "redis://cache" },
    );
    expect(c.stores.offline.type).toBe("duckdb");
    expect(c.warnings.map((w) => w.variable)).toEqual(["FABRA_POSTGRES_URL", "FABRA_REDIS_URL"]);
    const pg = resolve(
      { offline: { type: "postgres", url: "postgres://a@b/c" } },
      { FABRA_DUCKDB_PATH: "/tmp/x.duckdb" },
    );
    expect(pg.warnings.map((w) => w.variable)).toEqual(["FABRA_DUCKDB_PATH"]);
  });

  it("reading records from a server (--url) needs no store variables, even in production", () => {
    const c = resolveConfig(
      { config: null, configPath: null, rootDir: "/tmp" },
      { FABRA_ENV: "production", FABRA_REDIS_URL: "redis://cache" },
      "/tmp",
      { storesUnused: true },
    );
    expect(c.environment).toBe("production");
    expect(c.warnings).toEqual([]);
  });
});
