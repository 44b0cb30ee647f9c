// The effective config as it may be shown (`fabra doctor`): every setting after env overrides and defaults,
// with passwords in every URL masked (stores and the embedder's baseUrl) and no secret at all (keys, API keys).
import { maskUrl } from "../util/mask-url.js";
import type { ResolvedConfig } from "./resolve.js";

export function printableConfig(config: ResolvedConfig): Record<string, unknown> {
  const { offline, online, vector } = config.stores;
  return {
    project: config.project ?? null,
    configPath: config.configPath,
    environment: config.environment,
    definitions: config.definitions,
    stores: {
      offline: offline.type === "postgres" ? { ...offline, url: maskUrl(offline.url) } : offline,
      online: online.type === "redis" ? { ...online, url: maskUrl(online.url) } : online,
      vector: vector.type === "pgvector" ? { ...vector, url: maskUrl(vector.url) } : vector,
    },
    embedder: printableEmbedder(config.embedder),
    chunking: config.chunking,
    evidence: config.evidence,
    signing: { mode: config.signing.mode },
    codeVersion: config.codeVersion ?? null,
    server: { port: config.server.port, host: config.server.host, bodyLimit: config.server.bodyLimit },
  };
}

function printableEmbedder(embedder: ResolvedConfig["embedder"]): Record<string, unknown> {
  if (embedder.type !== "openai") return embedder;
  const { apiKey: _secret, ...shown } = embedder;
  return shown.baseUrl ? { ...shown, baseUrl: maskUrl(shown.baseUrl) } : shown;
}
