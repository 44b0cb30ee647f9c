// The effective config as it may be shown (`fabra doctor`): every setting after env overrides and defaults,
// with passwords in service URLs masked.
import { maskUrl } from "../stores/shared/mask-url.js";
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
    embedder: config.embedder,
    chunking: config.chunking,
    evidence: config.evidence,
    signing: config.signing,
    codeVersion: config.codeVersion ?? null,
    server: config.server,
  };
}
