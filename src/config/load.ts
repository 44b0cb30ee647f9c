// Finding and loading config and user modules: cosmiconfig searches from the current directory up for
// fabra.config.ts|mts|js|mjs|json, .fabrarc(.json) or package.json#fabra; jiti loads TypeScript at run time.
// `import ... from "fabra"` in user modules resolves to this very package, installed or not.
import { existsSync, mkdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir, userInfo } from "node:os";
import { dirname, join, resolve } from "node:path";
import { cosmiconfig, type Loader } from "cosmiconfig";
import type { Jiti } from "jiti";
import { FabraError } from "../errors.js";

export interface LoadedConfig {
  /** The raw config object (validated by resolveConfig). */
  config: unknown;
  /** The file it came from; null when no file was found (defaults apply). */
  configPath: string | null;
  /** Relative paths in the config are from here: the config file's directory, else the cwd. */
  rootDir: string;
}

let jiti: Promise<Jiti> | null = null;

/**
 * The loader of user modules, made on first use (a JSON config needs none). jiti is required as CommonJS: imported
 * as ESM, node would first scan its 190 kB bundle for export names on every start. `import ... from "fabra"` (and
 * "fabra/record") in a user module gets this very package's module, already loaded, never a copy jiti evaluates
 * again: so a definition's classes and errors are the ones the CLI checks against, and nothing of fabra is
 * transpiled (from source, under the tests, that was ~100 modules before the first config loaded).
 */
function userModuleLoader(): Promise<Jiti> {
  jiti ??= (async () => {
    const [fabra, fabraRecord] = await Promise.all([import("../index.js"), import("../record/index.js")]);
    const { createJiti } = createRequire(import.meta.url)("jiti") as typeof import("jiti");
    return createJiti(import.meta.url, {
      virtualModules: { fabra, "fabra/record": fabraRecord },
      interopDefault: true,
      moduleCache: true,
      fsCache: transpileCacheDir(),
    });
  })();
  return jiti;
}

/**
 * Where jiti keeps the transpiled user modules, so a second `fabra context run` does not transpile them again.
 * Never stale: an entry is used only when it ends with the hash of the source it was made from (and jiti's
 * version), so a changed file is transpiled afresh. A private directory per OS user: one that another user owns or
 * can write to is not used (its entries would be code run as this user); then modules are transpiled every time.
 * FABRA_TRANSPILE_CACHE=<dir> puts it elsewhere, FABRA_TRANSPILE_CACHE=off turns it off.
 */
function transpileCacheDir(): string | false {
  const setting = process.env.FABRA_TRANSPILE_CACHE?.trim();
  if (setting === "0" || setting === "off" || setting === "false") return false;
  const uid = process.getuid?.();
  const dir = setting ? resolve(setting) : join(tmpdir(), `fabra-jiti-${uid ?? userInfo().username}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stat = statSync(dir);
    if (uid !== undefined && (stat.uid !== uid || (stat.mode & 0o022) !== 0)) return false;
    return dir;
  } catch {
    return false;
  }
}

const SEARCH_PLACES = [
  "fabra.config.ts",
  "fabra.config.mts",
  "fabra.config.js",
  "fabra.config.mjs",
  "fabra.config.cjs",
  "fabra.config.json",
  ".fabrarc",
  ".fabrarc.json",
  "package.json",
];

const loadModule: Loader = async (filepath) => {
  try {
    const mod = await importUserModule(filepath);
    return "default" in mod ? mod.default : mod;
  } catch (err) {
    // The same loader as definition modules; the error is about the config here.
    if (err instanceof FabraError && err.code === "INVALID_DEFINITION") {
      throw new FabraError("INVALID_CONFIG", err.message, {
        hint: "Fix the error in the config file.",
        cause: err.cause,
      });
    }
    throw err;
  }
};

export async function loadConfig(opts: { cwd: string; configPath?: string | undefined }): Promise<LoadedConfig> {
  const explorer = cosmiconfig("fabra", {
    searchPlaces: SEARCH_PLACES,
    searchStrategy: "global",
    loaders: { ".ts": loadModule, ".mts": loadModule, ".js": loadModule, ".mjs": loadModule, ".cjs": loadModule },
  });
  try {
    if (opts.configPath !== undefined) {
      const path = resolve(opts.cwd, opts.configPath);
      if (!existsSync(path)) {
        throw new FabraError("FILE_NOT_FOUND", `Config file ${opts.configPath} does not exist`, {
          hint: "Check --config, or run `fabra init` to create one.",
        });
      }
      const found = await explorer.load(path);
      return { config: found?.config ?? {}, configPath: path, rootDir: dirname(path) };
    }
    const found = await explorer.search(opts.cwd);
    if (!found || found.isEmpty)
      return { config: {}, configPath: found?.filepath ?? null, rootDir: found ? dirname(found.filepath) : opts.cwd };
    return { config: found.config, configPath: found.filepath, rootDir: dirname(found.filepath) };
  } catch (err) {
    if (err instanceof FabraError) throw err;
    throw new FabraError("INVALID_CONFIG", `Could not read the fabra config: ${(err as Error).message}`, {
      hint: "Fix the syntax error in the config file (the message names the file and position).",
      cause: err,
    });
  }
}

/** Imports a user module (TS or JS) and returns its exports; errors name the file and the line. */
export async function importUserModule(path: string): Promise<Record<string, unknown>> {
  const full = resolve(path);
  if (!existsSync(full)) {
    throw new FabraError("FILE_NOT_FOUND", `Definitions module ${path} does not exist`, {
      hint: "Check the `definitions` list in fabra.config.ts (paths are relative to the config file).",
    });
  }
  try {
    return (await (await userModuleLoader()).import(full)) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof FabraError) throw err;
    const where = userFrame(err, full);
    throw new FabraError(
      "INVALID_DEFINITION",
      `Loading ${path} failed${where ? ` at ${where}` : ""}: ${firstLine(err)}`,
      {
        hint: "Fix the error in that module; run with FABRA_DEBUG=1 for the full stack.",
        cause: err,
      },
    );
  }
}

function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split("\n")[0] ?? message;
}

/** The first stack frame (file:line:column) inside the user's module, if any. */
function userFrame(err: unknown, file: string): string | null {
  const stack = err instanceof Error ? (err.stack ?? "") : "";
  const escaped = file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const m = new RegExp(`(?:file://)?(${escaped}):(\\d+)(?::(\\d+))?`).exec(stack);
  if (m) return `${m[1]}:${m[2]}${m[3] ? `:${m[3]}` : ""}`;
  const loc = (err as { loc?: { line?: number; column?: number } } | null)?.loc;
  return loc?.line ? `${file}:${loc.line}:${loc.column ?? 0}` : null;
}
