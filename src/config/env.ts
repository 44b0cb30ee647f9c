// The process environment, read under src/config/ only: resolveConfig takes it as a whole; these are the few
// settings read before (or without) a project: NO_COLOR, FABRA_API_KEYS, the server the CLI reads records from
// (FABRA_URL), an environment with overrides on top.
import { FabraError } from "../errors.js";

export function currentEnv(overrides: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...overrides };
}

/** NO_COLOR (https://no-color.org): set and not empty. */
export function noColorRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.NO_COLOR !== undefined && env.NO_COLOR !== "";
}

/**
 * The server's API keys: FABRA_API_KEYS (comma-separated) and FABRA_API_KEY (the original's single key), deduplicated.
 * Printable ASCII only: Node reads header bytes as latin-1 while clients send a non-ASCII key as UTF-8 (curl) or
 * latin-1 (fetch), so such a key would work for some clients and never for others.
 */
export function apiKeysFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  const keys: string[] = [];
  for (const name of ["FABRA_API_KEYS", "FABRA_API_KEY"] as const) {
    const raw = env[name] ?? "";
    const listed = name === "FABRA_API_KEYS" ? raw.split(",") : [raw];
    listed.forEach((k, i) => {
      const key = k.trim();
      if (key === "") return;
      if (!PRINTABLE_ASCII.test(key)) {
        // Never the key itself in the message: it is a secret.
        const which = name === "FABRA_API_KEYS" ? `key ${i + 1} of FABRA_API_KEYS` : "FABRA_API_KEY";
        throw new FabraError("INVALID_CONFIG", `${which} has a character outside printable ASCII`, {
          hint: "HTTP clients send non-ASCII header bytes inconsistently; use letters, digits and punctuation (e.g. `openssl rand -hex 32`).",
        });
      }
      keys.push(key);
    });
  }
  return [...new Set(keys)];
}
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

/**
 * The fabra server the CLI reads records from: `--url` (given here as `flag`), else FABRA_URL; with FABRA_API_KEY
 * (the first of FABRA_API_KEYS when that is all there is). Undefined when neither names one. Must be http(s).
 */
export function remoteServerSetting(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): { url: string; apiKey: string | undefined } | undefined {
  const fromFlag = flag?.trim() || undefined;
  const raw = fromFlag ?? (env.FABRA_URL?.trim() || undefined);
  if (raw === undefined) return undefined;
  const where = fromFlag === undefined ? "FABRA_URL" : "--url";
  let url: URL | null = null;
  try {
    url = new URL(raw);
  } catch {
    // reported below
  }
  if (url === null || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new FabraError(
      "INVALID_ARGUMENT",
      `${where} ${JSON.stringify(raw)} is not an http(s) URL of a fabra server`,
      {
        hint: `Give the server's base URL, e.g. ${where === "--url" ? "--url " : "FABRA_URL="}https://fabra.internal:8000`,
      },
    );
  }
  if (url.username !== "" || url.password !== "") {
    throw new FabraError("INVALID_ARGUMENT", `${where} must not carry credentials`, {
      hint: "Put the API key in FABRA_API_KEY instead (sent as X-API-Key).",
    });
  }
  return { url: raw.replace(/\/+$/, ""), apiKey: env.FABRA_API_KEY?.trim() || apiKeysFromEnv(env)[0] };
}
