// Reading documents for `fabra index add`: files and directories (recursively) of text-like files.
import { readdir, readFile, stat } from "node:fs/promises";
import { extname, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { DocumentInput } from "./engine/retrieval.js";
import { FabraError } from "./errors.js";

const TEXT_EXTENSIONS = new Set([".md", ".mdx", ".txt", ".rst", ".html", ".htm", ".json", ".csv", ".adoc"]);

/** Documents from paths; ids are paths relative to `baseDir`, source URLs are file:// URLs. */
export async function readDocuments(paths: string[], baseDir: string): Promise<DocumentInput[]> {
  const files: string[] = [];
  for (const p of paths) {
    const full = resolve(baseDir, p);
    let info;
    try {
      info = await stat(full);
    } catch {
      throw new FabraError("FILE_NOT_FOUND", `No such file or directory: ${p}`, { hint: "Check the path; directories are read recursively." });
    }
    if (info.isDirectory()) files.push(...(await walk(full)));
    else files.push(full);
  }
  if (files.length === 0) {
    throw new FabraError("INVALID_ARGUMENT", `No text documents found in ${paths.join(", ")}`, {
      hint: `fabra indexes ${[...TEXT_EXTENSIONS].join(" ")} files.`,
    });
  }
  return Promise.all(
    files.map(async (file) => ({
      id: relative(baseDir, file).split("\\").join("/"),
      content: await readFile(file, "utf8"),
      sourceUrl: pathToFileURL(file).href,
    })),
  );
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(full)));
    else if (TEXT_EXTENSIONS.has(extname(entry.name).toLowerCase())) out.push(full);
  }
  return out.sort();
}
