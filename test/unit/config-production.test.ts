// Resolving the production store settings: defaults, env overrides, schema inheritance, and masked URLs.
import { describe, expect, it } from "vitest";
import { printableConfig } from "../../src/config/printable.js";
import { resolveConfig } from "../../src/config/resolve.js";
import { FabraError } from "../../src/errors.js";
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
