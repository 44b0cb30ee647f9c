// The effective config as it may be shown (`fabra doctor`): every setting after env overrides and defaults,
// with passwords in every URL masked (any `url` or `...Url` setting of the stores and the embedder) and no secret at all
// (keys, API keys).
import { maskUrl } from "../util/mask-url.js";
import type { ResolvedConfig } from "./resolve.js";

/** A copy of a settings object with every URL-valued key (`url`, `baseUrl`, ...) masked, whatever its backend. */
function maskUrls<T extends object>(settings: T): T {
  return Object.fromEntries(
    Object.entries(settings).map(([key, value]) => [
      key,
      /^url$|Url$/.test(key) && typeof value === "string" ? maskUrl(value) : value,
    ]),
  ) as T;
}

export function printableConfig(config: ResolvedConfig): Record<string, unknown> {
  const { offline, online, vector } = config.stores;
  return {
    project: config.project ?? null,
    configPath: config.configPath,
    environment: config.environment,
    definitions: config.definitions,
    stores: {
      offline: maskUrls(offline),
      online: maskUrls(online),
      vector: maskUrls(vector),
    },
    embedder: printableEmbedder(config.embedder),
    chunking: config.chunking,
    evidence: config.evidence,
    // Key ids only, never a key.
    signing: {
      mode: config.signing.mode,
      keyId: config.signing.key?.id ?? null,
      verificationKeyIds: config.signing.keys.map((k) => k.id),
      acceptUnsignedBefore: config.signing.acceptUnsignedBefore,
    },
    codeVersion: config.codeVersion ?? null,
    server: { port: config.server.port, host: config.server.host, bodyLimit: config.server.bodyLimit },
  };
}

function printableEmbedder(embedder: ResolvedConfig["embedder"]): Record<string, unknown> {
  if (embedder.type !== "openai") return embedder;
  const { apiKey: _secret, ...shown } = embedder;
  return maskUrls(shown);
}
