// The config schema (zod): what fabra.config.ts may say. Every message names the key and the expected form;
// resolve.ts turns a parsed config plus the environment into the effective settings.
import { z } from "zod";

const pgIdentifier = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, "must be a plain Postgres identifier (letters, digits, _; at most 63)");

const duckdbOffline = z.strictObject({
  type: z.literal("duckdb"),
  /** Default ~/.fabra/fabra.duckdb; relative paths are from the config file; `:memory:` allowed. */
  path: z.string().min(1).optional(),
});
const postgresOffline = z.strictObject({
  type: z.literal("postgres"),
  /** Default FABRA_POSTGRES_URL. */
  url: z.string().min(1).optional(),
  /** Connection pool size (default 10). */
  poolSize: z.number().int().min(1).max(1000).optional(),
  /** How long one statement may run (server statement_timeout and a client-side timer) before it fails (default 10000 ms). */
  statementTimeoutMs: z.number().int().min(100).max(3_600_000).optional(),
  /** The Postgres schema fabra's tables live in (default "public"; created by `fabra migrate`). */
  schema: pgIdentifier.optional(),
});
const memoryOnline = z.strictObject({ type: z.literal("memory") });
const redisOnline = z.strictObject({
  type: z.literal("redis"),
  /** Default FABRA_REDIS_URL. */
  url: z.string().min(1).optional(),
  /** Prefix of every key fabra writes (default "fabra:"). */
  keyPrefix: z.string().optional(),
  /** How long a connect or a command may take before it counts as failed (default 1000 ms). */
  timeoutMs: z.number().int().min(10).max(60_000).optional(),
});
const memoryVector = z.strictObject({
  type: z.literal("memory"),
  /**
   * The approximate (HNSW) index for large indexes: built by `fabra index add` for indexes of at least `minChunks`
   * chunks (default 50,000), saved beside the DuckDB file; `false` for exact search always.
   */
  ann: z.union([z.literal(false), z.strictObject({ minChunks: z.number().int().min(1).optional() })]).optional(),
});
const pgvectorVector = z.strictObject({
  type: z.literal("pgvector"),
  /** Default: the postgres offline store's URL, else FABRA_POSTGRES_URL. */
  url: z.string().min(1).optional(),
  /** Default: the postgres offline store's schema, else "public". */
  schema: pgIdentifier.optional(),
});

const lexicalEmbedder = z.strictObject({
  type: z.literal("lexical"),
  dimensions: z.number().int().min(16).max(8192).optional(),
});
const openaiEmbedder = z.strictObject({
  type: z.literal("openai"),
  model: z.string().min(1),
  dimensions: z.number().int().min(1).max(8192),
  /** Any OpenAI-compatible endpoint (default https://api.openai.com/v1). */
  baseUrl: z.string().url().optional(),
  /** The environment variable holding the key (default OPENAI_API_KEY). */
  apiKeyEnv: z.string().min(1).optional(),
  batchSize: z.number().int().min(1).max(2048).optional(),
});
/** The embedder setting; its type is the one `EmbedderConfig` (the embedder reads it from here). */
export const embedderSchema = z.discriminatedUnion("type", [lexicalEmbedder, openaiEmbedder]);
export type EmbedderConfig = z.infer<typeof embedderSchema>;
/** The embedder setting as resolved: an OpenAI key is read by config from the variable `apiKeyEnv` names, never from the file. */
export type ResolvedEmbedderConfig =
  | Exclude<EmbedderConfig, { type: "openai" }>
  | (Extract<EmbedderConfig, { type: "openai" }> & { apiKey?: string | undefined });

export const configSchema = z.strictObject({
  /** A name for the project (shown by `fabra doctor`). */
  project: z.string().optional(),
  /** Stamped into every record as given (any name: development, staging, production, test, ci, ...); FABRA_ENV wins. */
  environment: z.string().min(1).optional(),
  /** Modules (TypeScript or JavaScript) exporting entities, features, retrievers and contexts. */
  definitions: z.array(z.string().min(1)).default([]),
  stores: z
    .strictObject({
      offline: z.discriminatedUnion("type", [duckdbOffline, postgresOffline]).optional(),
      online: z.discriminatedUnion("type", [memoryOnline, redisOnline]).optional(),
      vector: z.discriminatedUnion("type", [memoryVector, pgvectorVector]).optional(),
    })
    .default({}),
  embedder: embedderSchema.default({ type: "lexical" }),
  chunking: z
    .strictObject({
      chunkTokens: z.number().int().min(8).default(256),
      overlapTokens: z.number().int().min(0).default(32),
    })
    .default({ chunkTokens: 256, overlapTokens: 32 }),
  evidence: z
    .strictObject({
      /** `required`: no record, no context. Default: required in production, best_effort elsewhere. */
      mode: z.enum(["required", "best_effort"]).optional(),
      /** false: records keep only hashes of content. */
      includeContent: z.boolean().optional(),
      /**
       * The largest record fabra reads from a file or accepts over the ledger route (default 64 MiB): parsing and
       * verifying a record takes many times its size in memory, so a larger one is refused before it is read.
       */
      maxRecordBytes: z.number().int().min(1024).optional(),
    })
    .default({}),
  signing: z
    .strictObject({
      mode: z.enum(["off", "optional", "required"]).optional(),
      /**
       * With a signing key configured, unsigned records fail verification; those filed before this context id or
       * datetime pass (records from before signing was turned on). FABRA_ACCEPT_UNSIGNED_BEFORE wins.
       */
      acceptUnsignedBefore: z.string().min(1).optional(),
    })
    .default({}),
  /** OpenTelemetry spans (when @opentelemetry/api is installed and a tracer provider is registered) and JSON logs. */
  telemetry: z
    .strictObject({
      /** Put prompt and document text on spans (off by default: spans carry ids, hashes and counts). */
      captureContent: z.boolean().default(false),
      /** One JSON line per assembly on stderr (`{"event":"fabra.context","context_id":...}`). */
      jsonLogs: z.boolean().default(false),
    })
    .default({ captureContent: false, jsonLogs: false }),
  /** The transparency log (TLOG-001): the checkpoint signer key file and the log's origin line. */
  ledger: z
    .strictObject({
      /** Signer key file (`fabra ledger keygen`), relative to the project; FABRA_LEDGER_KEY_FILE wins. */
      keyFile: z.string().min(1).optional(),
      /** The checkpoint origin (names the log); FABRA_LEDGER_ORIGIN wins. Default: fabra/<project>/<environment>. */
      origin: z.string().min(1).optional(),
    })
    .default({}),
  /** Stamped as lineage.code_version; default: the git SHA of the project, when there is one. */
  codeVersion: z.string().optional(),
  server: z
    .strictObject({
      port: z.number().int().min(0).max(65535).optional(),
      host: z.string().optional(),
      /** Largest request body in bytes (default 1 MiB). */
      bodyLimit: z.number().int().min(1024).optional(),
    })
    .default({}),
});

/** What fabra.config.ts exports (inputs: defaults may be left out). */
export type FabraConfig = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;

/** Types a config file: `export default defineConfig({ ... })`. */
export function defineConfig(config: FabraConfig): FabraConfig {
  return config;
}
