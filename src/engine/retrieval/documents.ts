// Reading documents for `fabra index add`: files and directories (recursively) of text-like files.
import { readdir, readFile, stat } from "node:fs/promises";
import { extname, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { DocumentInput } from "./search.js";
import { FabraError } from "../../errors.js";

const TEXT_EXTENSIONS = new Set([".md", ".mdx", ".txt", ".rst", ".html", ".htm", ".json", ".csv", ".adoc"]);

/**
 * Documents from paths (resolved against `cwd`). Ids are paths relative to the project root `rootDir`, so the same
 * file has the same id from whichever directory it is indexed (and re-indexing replaces its chunks); source URLs
 * are file:// URLs. A file that is not UTF-8 text is refused, whether named or found in a directory.
 */
export async function readDocuments(paths: string[], cwd: string, rootDir: string = cwd): Promise<DocumentInput[]> {
  const files: string[] = [];
  for (const p of paths) {
    const full = resolve(cwd, p);
    let info;
    try {
      info = await stat(full);
    } catch {
      throw new FabraError("FILE_NOT_FOUND", `No such file or directory: ${p}`, {
        hint: "Check the path; directories are read recursively.",
      });
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
      id: relative(rootDir, file).split("\\").join("/"),
      content: await readText(file, relative(cwd, file) || file),
      sourceUrl: pathToFileURL(file).href,
    })),
  );
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The file as text; binary content (invalid UTF-8, or NUL bytes) is refused naming the file. */
async function readText(file: string, shown: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new FabraError("FILE_UNREADABLE", `Cannot read ${shown}: ${(err as Error).message}`, {
      hint: "Check the file's permissions.",
      cause: err,
    });
  }
  let text: string | null;
  try {
    text = utf8.decode(bytes);
  } catch {
    text = null;
  }
  if (text === null || text.includes("\u0000")) {
    throw new FabraError("INVALID_ARGUMENT", `${shown} is not a text file (its bytes are not UTF-8 text)`, {
      hint: `Index text documents (${[...TEXT_EXTENSIONS].join(" ")} and other UTF-8 text); convert other formats to text first.`,
    });
  }
  return text.startsWith("\uFEFF") ? text.slice(1) : text;
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
