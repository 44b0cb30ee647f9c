// Effective settings: the validated config file, then environment variables on top (they win), with paths made
// absolute and defaults filled in. Everything the runtime and the stores read comes from here. Relative paths in
// the file are from its directory; a relative FABRA_DUCKDB_PATH is from the current directory, like any path
// typed in a shell.
import { homedir } from "node:os";
import { basename, isAbsolute, join, resolve } from "node:path";
import type { z } from "zod";
import { FabraError } from "../errors.js";
import type { Environment } from "../record/types.js";
import { apiKeysFromEnv } from "./env.js";
import { didYouMean } from "../util/suggest.js";

/** The largest record read from a file or accepted over the ledger route, unless evidence.maxRecordBytes says. */
export const DEFAULT_MAX_RECORD_BYTES = 64 * 1024 * 1024;
import type { LoadedConfig } from "./load.js";
import { configSchema, type ParsedConfig, type ResolvedEmbedderConfig } from "./schema.js";
import { parseSignatureMode, signingKeySources, type SigningConfig } from "./signing.js";

export type OfflineConfig =
  | { type: "duckdb"; path: string }
  | { type: "postgres"; url: string; poolSize: number; schema: string; statementTimeoutMs?: number };
export type OnlineConfig = { type: "memory" } | { type: "redis"; url: string; keyPrefix: string; timeoutMs: number };
export type VectorConfig =
  /** annMinChunks: chunks from which an index gets an HNSW graph (default 50,000); null: exact search always. */
  { type: "memory"; annMinChunks?: number | null } | { type: "pgvector"; url: string; schema: string };

export interface ResolvedConfig {
  project: string | undefined;
  configPath: string | null;
  rootDir: string;
  environment: Environment;
  /** Absolute paths of the definition modules. */
  definitions: string[];
  stores: { offline: OfflineConfig; online: OnlineConfig; vector: VectorConfig };
  embedder: ResolvedEmbedderConfig;
  chunking: { chunkTokens: number; overlapTokens: number };
  evidence: { mode: "required" | "best_effort"; includeContent: boolean; maxRecordBytes: number };
  telemetry: { captureContent: boolean; jsonLogs: boolean };
  /** The mode, and the key from the environment (parsed where records are signed or verified: config/signing.ts). */
  signing: SigningConfig;
  /** The transparency log: signer key file (absolute, or null when none is set) and origin line. */
  ledger: { keyFile: string | null; origin: string };
  codeVersion: string | undefined;
  /** apiKeys: FABRA_API_KEYS / FABRA_API_KEY. */
  server: { port: number; host: string; bodyLimit: number; apiKeys: string[] };
  /** Settings given but not used by this config (a FABRA_*_URL set for a store the config does not select). */
  warnings: ConfigWarning[];
}

/** A setting that is set but has no effect: shown loudly by the CLI, and a failed `fabra doctor` check. */
export interface ConfigWarning {
  variable: string;
  message: string;
  fix: string;
}

export const DEFAULT_DUCKDB_PATH = join(homedir(), ".fabra", "fabra.duckdb");

export function resolveConfig(
  loaded: LoadedConfig,
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
  options: { storesUnused?: boolean } = {},
): ResolvedConfig {
  const parsed = configSchema.safeParse(loaded.config ?? {}, { reportInput: true });
  if (!parsed.success) throw configError(parsed.error, loaded.configPath);
  const c: ParsedConfig = parsed.data;
  const root = loaded.rootDir;
  const fromRoot = (p: string) => (p === ":memory:" || isAbsolute(p) ? p : resolve(root, p));
  const fromCwd = (p: string) => (p === ":memory:" || isAbsolute(p) ? p : resolve(cwd, p));

  // Stamped as given, as the Python implementation does (`test`, `ci`, `prod` occur); only `production` means more.
  const environment = env.FABRA_ENV || c.environment || "development";
  const evidenceMode =
    envChoice(env, "FABRA_EVIDENCE_MODE", ["required", "best_effort"] as const) ??
    c.evidence.mode ??
    (environment === "production" ? "required" : "best_effort");
  const includeContent = envBoolean(env, "FABRA_RECORD_INCLUDE_CONTENT") ?? c.evidence.includeContent ?? true;

  // Without a stores section in the file, production selects Postgres and Redis from the environment (as the original does),
  // and refuses to start without them; elsewhere the local defaults (DuckDB, memory).
  const { offline: fileOffline, online: fileOnline, vector: fileVector } = c.stores;
  // storesUnused: the command reads records from a server (--url), so no store is opened and none is required.
  const storesFromEnvironment =
    options.storesUnused !== true &&
    environment === "production" &&
    fileOffline === undefined &&
    fileOnline === undefined &&
    fileVector === undefined;
  const offlineConf: StoreSetting<"offline"> =
    c.stores.offline ?? (storesFromEnvironment ? productionStore(env, "offline") : { type: "duckdb" as const });
  const offline: OfflineConfig =
    offlineConf.type === "duckdb"
      ? {
          type: "duckdb",
          path: env.FABRA_DUCKDB_PATH
            ? fromCwd(env.FABRA_DUCKDB_PATH)
            : offlineConf.path
              ? fromRoot(offlineConf.path)
              : DEFAULT_DUCKDB_PATH,
        }
      : {
          type: "postgres",
          url: serviceUrl(env, "FABRA_POSTGRES_URL", offlineConf.url, "stores.offline.url", POSTGRES),
          poolSize: offlineConf.poolSize ?? 10,
          schema: offlineConf.schema ?? (env.FABRA_POSTGRES_SCHEMA?.trim() || "public"),
          ...(offlineConf.statementTimeoutMs !== undefined
            ? { statementTimeoutMs: offlineConf.statementTimeoutMs }
            : {}),
        };

  const onlineConf: StoreSetting<"online"> =
    c.stores.online ?? (storesFromEnvironment ? productionStore(env, "online") : { type: "memory" as const });
  const online: OnlineConfig =
    onlineConf.type === "memory"
      ? { type: "memory" }
      : {
          type: "redis",
          url: serviceUrl(env, "FABRA_REDIS_URL", onlineConf.url, "stores.online.url", REDIS),
          keyPrefix: onlineConf.keyPrefix ?? (env.FABRA_REDIS_KEY_PREFIX || "fabra:"),
          timeoutMs: onlineConf.timeoutMs ?? 1000,
        };

  // pgvector beside a Postgres ledger selected by production defaults (the exact-scan fallback without the extension).
  const vectorConf =
    c.stores.vector ?? (storesFromEnvironment ? { type: "pgvector" as const } : { type: "memory" as const });
  const vector: VectorConfig =
    vectorConf.type === "memory"
      ? vectorConf.ann === false
        ? { type: "memory", annMinChunks: null }
        : vectorConf.ann?.minChunks !== undefined
          ? { type: "memory", annMinChunks: vectorConf.ann.minChunks }
          : { type: "memory" }
      : {
          type: "pgvector",
          // FABRA_POSTGRES_URL wins over the file here too; without either, the offline store's URL.
          url: serviceUrl(
            env,
            "FABRA_POSTGRES_URL",
            vectorConf.url || (offline.type === "postgres" ? offline.url : undefined),
            "stores.vector.url",
            POSTGRES,
          ),
          schema: vectorConf.schema ?? (offline.type === "postgres" ? offline.schema : "public"),
        };

  return {
    project: c.project,
    configPath: loaded.configPath,
    rootDir: root,
    environment,
    definitions: c.definitions.map(fromRoot),
    stores: { offline, online, vector },
    embedder:
      c.embedder.type === "openai"
        ? { ...c.embedder, apiKey: env[c.embedder.apiKeyEnv ?? "OPENAI_API_KEY"] || undefined }
        : c.embedder,
    chunking: c.chunking,
    evidence: {
      mode: evidenceMode,
      includeContent,
      maxRecordBytes: c.evidence.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES,
    },
    telemetry: c.telemetry,
    signing: {
      mode: parseSignatureMode(env.FABRA_SIGNATURE_MODE) ?? c.signing.mode ?? "optional",
      ...signingKeySources(env),
      acceptUnsignedBefore: env.FABRA_ACCEPT_UNSIGNED_BEFORE?.trim() || c.signing.acceptUnsignedBefore || null,
    },
    ledger: {
      keyFile: (env.FABRA_LEDGER_KEY_FILE || undefined) ?? (c.ledger.keyFile ? fromRoot(c.ledger.keyFile) : null),
      origin: env.FABRA_LEDGER_ORIGIN || c.ledger.origin || `fabra/${c.project ?? basename(root)}/${environment}`,
    },
    codeVersion: c.codeVersion,
    server: {
      port: c.server.port ?? 8000,
      host: c.server.host ?? "127.0.0.1",
      bodyLimit: c.server.bodyLimit ?? 1024 * 1024,
      apiKeys: apiKeysFromEnv(env),
    },
    warnings: options.storesUnused === true ? [] : unusedSettings(env, { offline, online, vector }),
  };
}

type StoreSetting<K extends "offline" | "online" | "vector"> = NonNullable<ParsedConfig["stores"][K]>;

const PRODUCTION_STORES = {
  offline: { variable: "FABRA_POSTGRES_URL", type: "postgres", example: "postgres://user@db:5432/fabra" },
  online: { variable: "FABRA_REDIS_URL", type: "redis", example: "redis://cache:6379" },
} as const;

/** The store production selects from the environment; its variable unset is an error naming it. */
function productionStore<K extends keyof typeof PRODUCTION_STORES>(
  env: NodeJS.ProcessEnv,
  kind: K,
): { type: (typeof PRODUCTION_STORES)[K]["type"] } {
  const { variable, type, example } = PRODUCTION_STORES[kind];
  if (!env[variable]) {
    throw new FabraError(
      "INVALID_CONFIG",
      `FABRA_ENV=production needs ${variable} (stores.${kind} is not configured, and production does not fall back to ${kind === "offline" ? "a local DuckDB file" : "an in-memory cache"})`,
      {
        hint: `Set ${variable}=${example}, or configure stores.${kind} in fabra.config.ts.`,
        details: { variable },
      },
    );
  }
  return { type };
}

/** FABRA_* store settings that are set while the resolved stores do not use them. */
function unusedSettings(env: NodeJS.ProcessEnv, stores: ResolvedConfig["stores"]): ConfigWarning[] {
  const warnings: ConfigWarning[] = [];
  const unused = (variable: string, used: boolean, what: string) => {
    if (!env[variable] || used) return;
    warnings.push({
      variable,
      message: `${variable} is set but not used: ${what}`,
      fix: `Unset ${variable}, or select that store (FABRA_ENV=production without a stores section, or stores.* in fabra.config.ts).`,
    });
  };
  const postgres = stores.offline.type === "postgres" || stores.vector.type === "pgvector";
  unused("FABRA_POSTGRES_URL", postgres, `the stores are ${storeNames(stores)}, none of them Postgres`);
  unused("FABRA_REDIS_URL", stores.online.type === "redis", `the online store is ${stores.online.type}`);
  unused("FABRA_DUCKDB_PATH", stores.offline.type === "duckdb", `the offline store is ${stores.offline.type}`);
  return warnings;
}

const storeNames = (stores: ResolvedConfig["stores"]) =>
  `offline ${stores.offline.type}, online ${stores.online.type}, vector ${stores.vector.type}`;

function envChoice<T extends string>(env: NodeJS.ProcessEnv, name: string, allowed: readonly T[]): T | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  const value = raw.toLowerCase();
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new FabraError("INVALID_CONFIG", `${name}=${JSON.stringify(raw)} is not one of ${allowed.join(", ")}`, {
    hint: `Set ${name} to ${allowed.join(" or ")}, or unset it.`,
  });
}

const TRUE_WORDS = ["1", "true", "yes", "on"];
const FALSE_WORDS = ["0", "false", "no", "off"];

/** A yes/no environment variable: undefined when unset or empty; any other word is an INVALID_CONFIG error. */
export function envBoolean(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  const value = raw.trim().toLowerCase();
  if (TRUE_WORDS.includes(value)) return true;
  if (FALSE_WORDS.includes(value)) return false;
  throw new FabraError(
    "INVALID_CONFIG",
    `${name}=${JSON.stringify(raw)} is not one of ${[...TRUE_WORDS, ...FALSE_WORDS].join(", ")}`,
    {
      hint: `Set ${name} to 1 or 0 (true/false, yes/no, on/off), or unset it.`,
    },
  );
}

/** FABRA_DEBUG as the CLI's error reporter reads it: never throws; 0/false/no/off (or unset) is off. */
export function debugEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  const raw = env.FABRA_DEBUG?.trim().toLowerCase();
  return raw !== undefined && raw !== "" && !FALSE_WORDS.includes(raw);
}

interface ServiceKind {
  name: string;
  protocols: string[];
  example: string;
}
const POSTGRES: ServiceKind = {
  name: "postgres://",
  protocols: ["postgres:", "postgresql:"],
  example: "postgres://user@127.0.0.1:5432/db",
};
const REDIS: ServiceKind = { name: "redis://", protocols: ["redis:", "rediss:"], example: "redis://127.0.0.1:6379" };

/** A service URL: the environment variable, else the file's value; checked to be a URL of the right kind. */
function serviceUrl(
  env: NodeJS.ProcessEnv,
  envName: string,
  fileValue: string | undefined,
  key: string,
  kind: ServiceKind,
): string {
  const fromEnv = env[envName] || undefined;
  const value = fromEnv ?? fileValue;
  if (!value) {
    throw new FabraError("INVALID_CONFIG", `${key} is not set (and neither is ${envName})`, {
      hint: `Set ${envName}=${kind.example} or give ${key} in fabra.config.ts.`,
    });
  }
  const where = fromEnv === undefined ? key : envName;
  let protocol: string | null = null;
  try {
    protocol = new URL(value).protocol;
  } catch {
    // reported below, without echoing the value (it may hold a password)
  }
  if (protocol === null || !kind.protocols.includes(protocol)) {
    throw new FabraError(
      "INVALID_CONFIG",
      `${where} is not a ${kind.name} URL${protocol === null ? "" : ` (it starts with ${protocol})`}`,
      {
        hint: `Use e.g. ${kind.example}${fromEnv === undefined ? ` for ${key} in fabra.config.ts` : ` in ${envName}`}.`,
      },
    );
  }
  return value;
}

/** One line per problem: the key, what was wrong, what was there (and, for an unknown key, the one meant). */
function configError(error: z.ZodError, configPath: string | null): FabraError {
  const problems = error.issues.map((issue) => {
    const key = issue.path.length > 0 ? issue.path.join(".") : "(top level)";
    const input = "input" in issue && issue.input !== undefined ? ` (got ${JSON.stringify(issue.input)})` : "";
    const guesses =
      issue.code === "unrecognized_keys"
        ? issue.keys.map((k) => didYouMean(k, keysAt(issue.path))).filter((g) => g !== undefined)
        : [];
    return `${key}: ${issue.message}${guesses.length > 0 ? ` (${guesses.join(" ")})` : ""}${input}`;
  });
  return new FabraError(
    "INVALID_CONFIG",
    `Invalid fabra config${configPath ? ` in ${configPath}` : ""}: ${problems.join("; ")}`,
    {
      hint: "See fabra.config.example.ts in the fabra package for every key and its form.",
      details: { problems },
    },
  );
}

type SchemaDef = { shape?: Record<string, unknown>; innerType?: unknown; options?: unknown[] };
const defOf = (schema: unknown): SchemaDef => (schema as { _zod: { def: SchemaDef } })._zod.def;

/** The object schemas a value may match, through optional, default and union wrappers. */
function objectBranches(schema: unknown): unknown[] {
  const def = defOf(schema);
  if (def.innerType !== undefined) return objectBranches(def.innerType);
  if (def.options !== undefined) return def.options.flatMap(objectBranches);
  return def.shape !== undefined ? [schema] : [];
}

/** The keys the config schema allows at `path` (any branch of a union). */
function keysAt(path: readonly PropertyKey[]): string[] {
  let schemas: unknown[] = [configSchema];
  for (const key of path) {
    schemas = schemas.flatMap(objectBranches).flatMap((s) => {
      const child = defOf(s).shape?.[String(key)];
      return child === undefined ? [] : [child];
    });
  }
  return [...new Set(schemas.flatMap(objectBranches).flatMap((s) => Object.keys(defOf(s).shape ?? {})))];
}
