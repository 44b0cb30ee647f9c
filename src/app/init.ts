// `fabra init`: renders a template from templates/ into a project directory, plus a .gitignore for fabra's local
// files. Never overwrites without `force`.
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, stat } from "node:fs/promises";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { FabraError } from "../errors.js";
import { writeFileAtomic } from "../util/fs-atomic.js";

export const TEMPLATES = ["basic", "rag"] as const;
export type TemplateName = (typeof TEMPLATES)[number];

const TEMPLATES_DIR = fileURLToPath(new URL("../../templates/", import.meta.url));
/** The root of this fabra package (where `npm install <path>` installs it from). */
export const FABRA_PACKAGE_ROOT = fileURLToPath(new URL("../..", import.meta.url)).replace(/[\\/]$/, "");

/** True when `npx fabra` in `dir` finds fabra: installed in `dir` or a parent, or `dir` is inside fabra's own clone. */
export function fabraInstalledFor(dir: string): boolean {
  for (let p = resolve(dir); ; p = dirname(p)) {
    if (existsSync(join(p, "node_modules", "fabra", "package.json"))) return true;
    if (p === FABRA_PACKAGE_ROOT) return true;
    if (dirname(p) === p) return false;
  }
}

/**
 * What a fabra project should not commit: the local stores and the server state file (it holds a token).
 * `*.duckdb.journal-*`: the ledger's journal beside the DuckDB file (stores/duckdb/journal.ts); `*.duckdb.ann/`: the
 * HNSW graphs saved beside it (stores/memory/ann.ts).
 */
export const GITIGNORE_LINES = [
  ".fabra/",
  "*.duckdb",
  "*.duckdb.wal",
  "*.duckdb.journal-*",
  "*.duckdb.ann/",
  "*.server.json",
  "node_modules/",
];

/**
 * The package.json and tsconfig.json a fresh project gets when it has none: an ES module package (fabra is ESM
 * only), and a tsconfig under which `npx tsc` checks the definitions as fabra loads them (`.ts` imports, no emit).
 */
export function projectFiles(name: string): Record<string, string> {
  const pkg = { name: name.toLowerCase(), private: true, type: "module", scripts: { typecheck: "tsc --noEmit" } };
  const tsconfig = {
    compilerOptions: {
      target: "ES2022",
      module: "NodeNext",
      moduleResolution: "NodeNext",
      strict: true,
      noEmit: true,
      allowImportingTsExtensions: true,
      skipLibCheck: true,
    },
    include: ["**/*.ts"],
    exclude: ["node_modules"],
  };
  return {
    "package.json": `${JSON.stringify(pkg, null, 2)}\n`,
    "tsconfig.json": `${JSON.stringify(tsconfig, null, 2)}\n`,
  };
}

export interface InitOptions {
  dir: string;
  template?: string;
  force?: boolean;
  name?: string;
}

export interface InitResult {
  dir: string;
  template: TemplateName;
  /** Files written, relative to `dir` (.gitignore included when it was written or extended). */
  files: string[];
}

export async function initProject(opts: InitOptions): Promise<InitResult> {
  const template = (opts.template ?? "rag") as TemplateName;
  if (!TEMPLATES.includes(template)) {
    throw new FabraError("INVALID_ARGUMENT", `Unknown template "${opts.template}"`, {
      hint: `Use --template ${TEMPLATES.join(" or --template ")}.`,
    });
  }
  const dir = resolve(opts.dir);
  await checkProjectDir(dir);
  const source = join(TEMPLATES_DIR, template);
  const files = await listFiles(source);
  const name = opts.name ?? (basename(dir).replace(/[^A-Za-z0-9_-]/g, "-") || "fabra-project");

  // Check every target first, so a refused init writes nothing at all.
  const clashes = files.filter((f) => existsSync(join(dir, f)));
  if (clashes.length > 0 && !opts.force) {
    throw new FabraError("FILE_EXISTS", `${dir} already has ${clashes.join(", ")}`, {
      hint: "Nothing was written. Use --force to overwrite those files, or init into an empty directory.",
    });
  }
  await createProjectDir(dir);
  for (const file of files) {
    const text = await readFile(join(source, file), "utf8");
    await writeFileAtomic(join(dir, file), text.replaceAll("{{name}}", name), { createDirs: true });
  }
  for (const [file, text] of Object.entries(projectFiles(name))) {
    if (existsSync(join(dir, file))) continue; // the user's own: kept as it is
    await writeFileAtomic(join(dir, file), text);
    files.push(file);
  }
  // An existing .gitignore is the user's: only the lines it lacks are added.
  const gitignore = join(dir, ".gitignore");
  const existing = existsSync(gitignore) ? await readFile(gitignore, "utf8") : null;
  const missing = GITIGNORE_LINES.filter((line) => !(existing ?? "").split(/\r?\n/).some((l) => l.trim() === line));
  if (missing.length > 0) {
    const prefix = existing === null || existing === "" ? "" : existing.endsWith("\n") ? "\n" : "\n\n";
    const block = `# fabra: local stores (with their journal and HNSW graphs), and the server state file (it holds a token)\n${missing.join("\n")}\n`;
    await writeFileAtomic(gitignore, (existing ?? "") + prefix + block);
    files.push(".gitignore");
  }
  return { dir, template, files };
}

/** The project directory must be a directory, or creatable: refuse a file, or a path that runs through one. */
async function checkProjectDir(dir: string): Promise<void> {
  for (let p = dir; ; p = dirname(p)) {
    let info;
    try {
      info = await stat(p);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code === "ENOENT" || code === "ENOTDIR") && dirname(p) !== p) continue;
      throw new FabraError("FILE_UNWRITABLE", `Cannot create the project in ${dir}: ${(err as Error).message}`, {
        hint: "Choose another directory for the project.",
      });
    }
    if (info.isDirectory()) return;
    throw new FabraError(
      "FILE_EXISTS",
      p === dir
        ? `${dir} exists and is not a directory`
        : `Cannot create the project in ${dir}: ${p} is a file, not a directory`,
      { hint: "Choose another directory for the project." },
    );
  }
}

/**
 * Creates `dir` and its missing parents one level at a time. Not `mkdir({ recursive: true })`: where a directory
 * cannot hold new entries (e.g. /proc/self) Node's recursive mkdir retries forever.
 */
async function createProjectDir(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let p = dir; !existsSync(p) && dirname(p) !== p; p = dirname(p)) missing.unshift(p);
  for (const p of missing) {
    try {
      await mkdir(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") continue;
      throw new FabraError(
        "FILE_UNWRITABLE",
        `Cannot create the project in ${dir}: ${dirname(p)} cannot hold a new directory (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
        { hint: "Choose a directory you can write to, e.g. one under your home directory." },
      );
    }
  }
}

async function listFiles(root: string, dir = root): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(root, full)));
    else out.push(relative(root, full));
  }
  return out.sort();
}
