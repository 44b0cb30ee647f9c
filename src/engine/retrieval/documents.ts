// Reading documents for `fabra index add`: files and directories (recursively) of text-like files, HTML as its text,
// and what a directory held that is not a text document (skipped, and said so).
import { readdir, readFile, stat } from "node:fs/promises";
import { extname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { DocumentInput } from "./search.js";
import { FabraError } from "../../errors.js";

const TEXT_EXTENSIONS = new Set([".md", ".mdx", ".txt", ".rst", ".html", ".htm", ".json", ".csv", ".adoc"]);
/** The extensions a directory's files are indexed by, for messages. */
export const TEXT_EXTENSIONS_SHOWN = [...TEXT_EXTENSIONS].join(" ");

/** The documents read, and the files found in directories that were skipped (not a text extension), as shown. */
export interface DocumentSet {
  documents: DocumentInput[];
  skipped: string[];
}

/** Documents from paths: see readDocumentSet (this drops the list of skipped files). */
export async function readDocuments(paths: string[], cwd: string, rootDir: string = cwd): Promise<DocumentInput[]> {
  return (await readDocumentSet(paths, cwd, rootDir)).documents;
}

/** The files `paths` name (directories walked), each with its document id, and what the directories held that was skipped. */
export interface DocumentFiles {
  files: { file: string; id: string }[];
  skipped: string[];
}

/**
 * Documents from paths (resolved against `cwd`). Ids are paths relative to the project root `rootDir`, so the same
 * file has the same id from whichever directory it is indexed (and re-indexing replaces its chunks); a file outside
 * the project has its absolute path as id. Source URLs are file:// URLs. HTML files are indexed as their text (tags,
 * scripts, styles and comments removed). A file that is not UTF-8 text is refused, whether named or found in a
 * directory; files in a directory without a text extension are skipped and listed in `skipped`.
 */
export async function readDocumentSet(paths: string[], cwd: string, rootDir: string = cwd): Promise<DocumentSet> {
  const { files, skipped } = await listDocumentFiles(paths, cwd, rootDir);
  const documents = await Promise.all(files.map((f) => readDocumentFile(f, cwd)));
  return { documents, skipped };
}

/** The files of readDocumentSet, not read yet (so reading can overlap the rest of indexing: see streamDocuments). */
export async function listDocumentFiles(paths: string[], cwd: string, rootDir: string = cwd): Promise<DocumentFiles> {
  const files: string[] = [];
  const skipped: string[] = [];
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
    if (info.isDirectory()) files.push(...(await walk(full, skipped)));
    else files.push(full);
  }
  if (files.length === 0) {
    throw new FabraError("INVALID_ARGUMENT", `No text documents found in ${paths.join(", ")}`, {
      hint: `fabra indexes ${[...TEXT_EXTENSIONS].join(" ")} files.`,
    });
  }
  const unique = [...new Set(files)];
  return {
    files: unique.map((file) => ({ file, id: documentId(file, rootDir) })),
    skipped: skipped.map((f) => relative(cwd, f) || f),
  };
}

/** One file as a document (see readDocumentSet). */
export async function readDocumentFile(f: { file: string; id: string }, cwd: string): Promise<DocumentInput> {
  const text = await readText(f.file, relative(cwd, f.file) || f.file);
  return {
    id: f.id,
    content: HTML_EXTENSIONS.has(extname(f.file).toLowerCase()) ? htmlText(text) : text,
    sourceUrl: pathToFileURL(f.file).href,
  };
}

/** The files read in order, up to `ahead` of them in flight at once (reading overlaps chunking and embedding). */
export async function* streamDocuments(
  files: { file: string; id: string }[],
  cwd: string,
  ahead = 16,
): AsyncGenerator<DocumentInput> {
  const pending: Promise<DocumentInput>[] = [];
  let next = 0;
  const fill = () => {
    while (pending.length < ahead && next < files.length) {
      const read = readDocumentFile(files[next++] as { file: string; id: string }, cwd);
      read.catch(() => undefined); // awaited in order below; a failure is thrown there
      pending.push(read);
    }
  };
  fill();
  while (pending.length > 0) {
    const doc = await (pending.shift() as Promise<DocumentInput>);
    fill();
    yield doc;
  }
}

/** Whether a document's source (a file:// URL) is a file that no longer exists; false for any other source. */
export async function sourceFileGone(sourceUrl: string | null): Promise<boolean> {
  if (sourceUrl === null || !sourceUrl.startsWith("file:")) return false;
  try {
    await stat(fileURLToPath(sourceUrl));
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ENOENT" || (err as NodeJS.ErrnoException).code === "ENOTDIR";
  }
}

/** A file's document id: its path from the project root, or its absolute path when it is outside the project. */
export function documentId(file: string, rootDir: string): string {
  const inProject = relative(rootDir, file);
  const id = inProject.startsWith("..") || isAbsolute(inProject) ? file : inProject;
  return id.split("\\").join("/");
}

const HTML_EXTENSIONS = new Set([".html", ".htm"]);
const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " " };

/** The text of an HTML document: no scripts, styles, comments or tags; entities decoded; blank runs collapsed. */
export function htmlText(html: string): string {
  const text = html
    .replace(/<!--[\s\S]*?-->/g, "")
    .replace(/<(script|style|noscript|template)\b[\s\S]*?<\/\1\s*>/gi, "")
    .replace(/<\/?(p|div|br|li|ul|ol|h[1-6]|tr|table|section|article|header|footer|pre|blockquote)\b[^>]*>/gi, "\n")
    .replace(/<[^>]*>/g, "")
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
      if (name[0] === "#") {
        const code = name[1] === "x" || name[1] === "X" ? Number.parseInt(name.slice(2), 16) : Number(name.slice(1));
        return Number.isInteger(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
      }
      return ENTITIES[name.toLowerCase()] ?? whole;
    });
  return text
    .split("\n")
    .map((line) => line.replace(/[ \t\f\v\r]+/g, " ").trim())
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
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

async function walk(dir: string, skipped: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(full, skipped)));
    else if (TEXT_EXTENSIONS.has(extname(entry.name).toLowerCase())) out.push(full);
    else skipped.push(full);
  }
  return out.sort();
}
