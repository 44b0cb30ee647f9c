// `fabra init`: renders a template from templates/ into a project directory. Never overwrites without `force`.
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, stat } from "node:fs/promises";
import { basename, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { FabraError } from "./errors.js";
import { writeFileAtomic } from "./fs-atomic.js";

export const TEMPLATES = ["basic", "rag"] as const;
export type TemplateName = (typeof TEMPLATES)[number];

const TEMPLATES_DIR = fileURLToPath(new URL("../templates/", import.meta.url));

export interface InitOptions {
  dir: string;
  template?: string;
  force?: boolean;
  name?: string;
}

export interface InitResult {
  dir: string;
  template: TemplateName;
  files: string[];
}

export async function initProject(opts: InitOptions): Promise<InitResult> {
  const template = (opts.template ?? "rag") as TemplateName;
  if (!TEMPLATES.includes(template)) {
    throw new FabraError("INVALID_ARGUMENT", `Unknown template "${opts.template}"`, { hint: `Use --template ${TEMPLATES.join(" or --template ")}.` });
  }
  const dir = resolve(opts.dir);
  if (existsSync(dir) && !(await stat(dir)).isDirectory()) {
    throw new FabraError("FILE_EXISTS", `${dir} exists and is not a directory`, { hint: "Choose another directory for the project." });
  }
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
  await mkdir(dir, { recursive: true });
  for (const file of files) {
    const text = await readFile(join(source, file), "utf8");
    await writeFileAtomic(join(dir, file), text.replaceAll("{{name}}", name));
  }
  return { dir, template, files };
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
