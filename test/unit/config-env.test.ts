// Environment variables over the config file: precedence as the README states it, paths typed in a shell resolved
// from the current directory, yes/no variables checked like the others, service URLs checked at resolve time
// (a config error naming the key, never echoing the value), and every URL masked in the printable config.
import { describe, expect, it } from "vitest";
import { printableConfig } from "../../src/config/printable.js";
import { debugEnabled, resolveConfig } from "../../src/config/resolve.js";
import { FabraError } from "../../src/errors.js";

const resolve = (config: Record<string, unknown>, env: NodeJS.ProcessEnv = {}, cwd = "/work/shell") =>
  resolveConfig({ config, configPath: "/proj/fabra.config.ts", rootDir: "/proj" }, env, cwd);

function errorOf(fn: () => unknown): FabraError {
  try {
    fn();
  } catch (err) {
    if (err instanceof FabraError) return err;
    throw err;
  }
  throw new Error("expected an error");
}

describe("environment over the config file", () => {
  it("FABRA_POSTGRES_URL wins over stores.vector.url too; without it the file's vector URL, then the offline one", () => {
    const stores = {
      offline: { type: "postgres", url: "postgres://file-offline/a" },
      vector: { type: "pgvector", url: "postgres://file-vector/b" },
    };
    const withEnv = resolve({ stores }, { FABRA_POSTGRES_URL: "postgres://env/c" });
    expect(withEnv.stores.offline).toMatchObject({ url: "postgres://env/c" });
    expect(withEnv.stores.vector).toMatchObject({ url: "postgres://env/c" });
    expect(resolve({ stores }).stores.vector).toMatchObject({ url: "postgres://file-vector/b" });
    expect(resolve({ stores: { offline: stores.offline, vector: { type: "pgvector" } } }).stores.vector).toMatchObject({
      url: "postgres://file-offline/a",
    });
  });

  it("a relative FABRA_DUCKDB_PATH is from the current directory; a relative stores.offline.path from the config file's", () => {
    const stores = { offline: { type: "duckdb", path: "data/file.duckdb" } };
    expect(resolve({ stores }, { FABRA_DUCKDB_PATH: "tmp/x.duckdb" }).stores.offline).toEqual({
      type: "duckdb",
      path: "/work/shell/tmp/x.duckdb",
    });
    expect(resolve({ stores }, { FABRA_DUCKDB_PATH: "/abs/y.duckdb" }).stores.offline).toEqual({
      type: "duckdb",
      path: "/abs/y.duckdb",
    });
    expect(resolve({ stores }, { FABRA_DUCKDB_PATH: ":memory:" }).stores.offline).toEqual({
      type: "duckdb",
      path: ":memory:",
    });
    expect(resolve({ stores }).stores.offline).toEqual({ type: "duckdb", path: "/proj/data/file.duckdb" });
  });

  it("FABRA_RECORD_INCLUDE_CONTENT takes yes/no words and refuses anything else by name", () => {
    for (const [word, value] of [
      ["0", false],
      ["no", false],
      ["OFF", false],
      ["false", false],
      ["1", true],
      ["yes", true],
      ["on", true],
      ["TRUE", true],
    ] as const) {
      expect(
        resolve({ evidence: { includeContent: !value } }, { FABRA_RECORD_INCLUDE_CONTENT: word }).evidence
          .includeContent,
      ).toBe(value);
    }
    expect(
      resolve({ evidence: { includeContent: false } }, { FABRA_RECORD_INCLUDE_CONTENT: "" }).evidence.includeContent,
    ).toBe(false);
    const err = errorOf(() => resolve({}, { FABRA_RECORD_INCLUDE_CONTENT: "maybe" }));
    expect(err.code).toBe("INVALID_CONFIG");
    expect(err.message).toMatch(/^FABRA_RECORD_INCLUDE_CONTENT="maybe" is not one of/);
    expect(err.hint).toMatch(/1 or 0/);
  });

  it("FABRA_DEBUG=0 (or false/no/off/empty) is off; 1 or any other word is on", () => {
    for (const off of [undefined, "", "0", "false", "no", "off", " OFF "])
      expect(debugEnabled({ FABRA_DEBUG: off })).toBe(false);
    for (const on of ["1", "true", "yes", "verbose"]) expect(debugEnabled({ FABRA_DEBUG: on })).toBe(true);
  });
});

describe("service URLs", () => {
  it("an unparsable or wrong-scheme URL in the file is INVALID_CONFIG naming the key, without echoing the value", () => {
    const online = errorOf(() => resolve({ stores: { online: { type: "redis", url: "notaurl-secret" } } }));
    expect(online.code).toBe("INVALID_CONFIG");
    expect(online.message).toBe("stores.online.url is not a redis:// URL");
    expect(online.hint).toContain("redis://127.0.0.1:6379");

    const offline = errorOf(() => resolve({ stores: { offline: { type: "postgres", url: "mysql://u:pw@h/d" } } }));
    expect(offline.message).toBe("stores.offline.url is not a postgres:// URL (it starts with mysql:)");
    expect(offline.message).not.toContain("pw");

    const vector = errorOf(() => resolve({ stores: { vector: { type: "pgvector", url: "db.example.com:5432" } } }));
    expect(vector.message).toMatch(/^stores\.vector\.url is not a postgres:\/\/ URL/);
  });

  it("a bad URL from the environment names the variable", () => {
    const err = errorOf(() =>
      resolve(
        { stores: { online: { type: "redis", url: "redis://fine:6379" } } },
        { FABRA_REDIS_URL: "localhost:6379" },
      ),
    );
    expect(err.message).toMatch(/^FABRA_REDIS_URL is not a redis:\/\/ URL/);
    expect(err.hint).toContain("in FABRA_REDIS_URL");
  });

  it("accepts the schemes the drivers take", () => {
    const c = resolve({
      stores: {
        offline: { type: "postgres", url: "postgresql://u@h/d" },
        online: { type: "redis", url: "rediss://:pw@h:6380/1" },
        vector: { type: "pgvector" },
      },
    });
    expect(c.stores.online).toMatchObject({ url: "rediss://:pw@h:6380/1" });
    expect(c.stores.vector).toMatchObject({ url: "postgresql://u@h/d" });
  });

  it("the printable config masks credentials in embedder.baseUrl as in the store URLs", () => {
    const c = resolve({
      embedder: {
        type: "openai",
        model: "m",
        dimensions: 8,
        baseUrl: "https://user:hunter2@llm.internal/v1?api_key=sk-123",
      },
    });
    const shown = JSON.stringify(printableConfig(c));
    expect(shown).not.toMatch(/hunter2|sk-123/);
    expect(shown).toContain("https://user:***@llm.internal/v1?api_key=***");
  });
});
