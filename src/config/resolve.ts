// Effective settings: the validated config file, then environment variables on top (they win), with paths made
// absolute and defaults filled in. Everything the runtime and the stores read comes from here.
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import type { z } from "zod";
import type { EmbedderConfig } from "../engine/embedder.js";
import { FabraError } from "../errors.js";
import type { Environment } from "../record/types.js";
import type { SignatureMode } from "../record/sign.js";
import type { LoadedConfig } from "./load.js";
import { configSchema, type ParsedConfig } from "./schema.js";

export type OfflineConfig = { type: "duckdb"; path: string } | { type: "postgres"; url: string; poolSize: number; schema: string };
export type OnlineConfig = { type: "memory" } | { type: "redis"; url: string; keyPrefix: string; timeoutMs: number };
export type VectorConfig = { type: "memory" } | { type: "pgvector"; url: string; schema: string };

export interface ResolvedConfig {
  project: string | undefined;
  configPath: string | null;
  rootDir: string;
  environment: Environment;
  /** Absolute paths of the definition modules. */
  definitions: string[];
  stores: { offline: OfflineConfig; online: OnlineConfig; vector: VectorConfig };
  embedder: EmbedderConfig;
  chunking: { chunkTokens: number; overlapTokens: number };
  evidence: { mode: "required" | "best_effort"; includeContent: boolean };
  signing: { mode: SignatureMode };
  codeVersion: string | undefined;
  server: { port: number; host: string; bodyLimit: number };
}

export const DEFAULT_DUCKDB_PATH = join(homedir(), ".fabra", "fabra.duckdb");

export function resolveConfig(loaded: LoadedConfig, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  const parsed = configSchema.safeParse(loaded.config ?? {}, { reportInput: true });
  if (!parsed.success) throw configError(parsed.error, loaded.configPath);
  const c: ParsedConfig = parsed.data;
  const root = loaded.rootDir;
  const fromRoot = (p: string) => (p === ":memory:" || isAbsolute(p) ? p : resolve(root, p));

  const environment = envChoice(env, "FABRA_ENV", ["development", "staging", "production"] as const) ?? c.environment ?? "development";
  const evidenceMode =
    envChoice(env, "FABRA_EVIDENCE_MODE", ["required", "best_effort"] as const) ?? c.evidence.mode ?? (environment === "production" ? "required" : "best_effort");
  const includeContentEnv = env.FABRA_RECORD_INCLUDE_CONTENT;
  const includeContent =
    includeContentEnv === undefined || includeContentEnv === "" ? (c.evidence.includeContent ?? true) : !["0", "false", "no", "off"].includes(includeContentEnv.toLowerCase());

  const offlineConf = c.stores.offline ?? { type: "duckdb" as const };
  const offline: OfflineConfig =
    offlineConf.type === "duckdb"
      ? { type: "duckdb", path: env.FABRA_DUCKDB_PATH ? fromRoot(env.FABRA_DUCKDB_PATH) : offlineConf.path ? fromRoot(offlineConf.path) : DEFAULT_DUCKDB_PATH }
      : {
          type: "postgres",
          url: required(env.FABRA_POSTGRES_URL || offlineConf.url, "stores.offline.url", "FABRA_POSTGRES_URL", "postgres://user@127.0.0.1:5432/db"),
          poolSize: offlineConf.poolSize ?? 10,
          schema: offlineConf.schema ?? "public",
        };

  const onlineConf = c.stores.online ?? { type: "memory" as const };
  const online: OnlineConfig =
    onlineConf.type === "memory"
      ? { type: "memory" }
      : {
          type: "redis",
          url: required(env.FABRA_REDIS_URL || onlineConf.url, "stores.online.url", "FABRA_REDIS_URL", "redis://127.0.0.1:6379"),
          keyPrefix: onlineConf.keyPrefix ?? "fabra:",
          timeoutMs: onlineConf.timeoutMs ?? 1000,
        };

  const vectorConf = c.stores.vector ?? { type: "memory" as const };
  const vector: VectorConfig =
    vectorConf.type === "memory"
      ? { type: "memory" }
      : {
          type: "pgvector",
          url: required(
            vectorConf.url || env.FABRA_POSTGRES_URL || (offline.type === "postgres" ? offline.url : undefined),
            "stores.vector.url",
            "FABRA_POSTGRES_URL",
            "postgres://user@127.0.0.1:5432/db",
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
    embedder: c.embedder,
    chunking: c.chunking,
    evidence: { mode: evidenceMode, includeContent },
    signing: { mode: envChoice(env, "FABRA_SIGNATURE_MODE", ["off", "optional", "required"] as const) ?? c.signing.mode ?? "optional" },
    codeVersion: c.codeVersion,
    server: { port: c.server.port ?? 8000, host: c.server.host ?? "127.0.0.1", bodyLimit: c.server.bodyLimit ?? 1024 * 1024 },
  };
}

function envChoice<T extends string>(env: NodeJS.ProcessEnv, name: string, allowed: readonly T[]): T | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  const value = raw.toLowerCase();
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new FabraError("INVALID_CONFIG", `${name}=${JSON.stringify(raw)} is not one of ${allowed.join(", ")}`, {
    hint: `Set ${name} to ${allowed.join(" or ")}, or unset it.`,
  });
}

function required(value: string | undefined, key: string, envName: string, example: string): string {
  if (value) return value;
  throw new FabraError("INVALID_CONFIG", `${key} is not set (and neither is ${envName})`, {
    hint: `Set ${envName}=${example} or give ${key} in fabra.config.ts.`,
  });
}

/** One line per problem: the key, what was wrong, what was there. */
function configError(error: z.ZodError, configPath: string | null): FabraError {
  const problems = error.issues.map((issue) => {
    const key = issue.path.length > 0 ? issue.path.join(".") : "(top level)";
    const input = "input" in issue && issue.input !== undefined ? ` (got ${JSON.stringify(issue.input)})` : "";
    return `${key}: ${issue.message}${input}`;
  });
  return new FabraError("INVALID_CONFIG", `Invalid fabra config${configPath ? ` in ${configPath}` : ""}: ${problems.join("; ")}`, {
    hint: "See fabra.config.example.ts in the fabra package for every key and its form.",
    details: { problems },
  });
}
