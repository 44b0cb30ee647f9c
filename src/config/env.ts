// The process environment, read under src/config/ only: resolveConfig takes it as a whole; these are the few
// settings read before (or without) a project: NO_COLOR, FABRA_API_KEYS, an environment with overrides on top.
export function currentEnv(overrides: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...overrides };
}

/** NO_COLOR (https://no-color.org): set and not empty. */
export function noColorRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.NO_COLOR !== undefined && env.NO_COLOR !== "";
}

/** The server's API keys: FABRA_API_KEYS (comma-separated) and FABRA_API_KEY (the original's single key), deduplicated. */
export function apiKeysFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  const keys = [...(env.FABRA_API_KEYS ?? "").split(","), env.FABRA_API_KEY ?? ""]
    .map((k) => k.trim())
    .filter((k) => k !== "");
  return [...new Set(keys)];
}
