// Writing output files: checked up front (a directory, or a missing directory, is one clear error before any work),
// then written atomically (a temp file beside the target, fsync, rename: a crash leaves the old file or the new one).
import { randomBytes } from "node:crypto";
import { mkdir, open, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { FabraError } from "../errors.js";

export interface WriteOptions {
  /** Create missing parent directories (for files fabra lays out itself, like `init`); never for a user's -o path. */
  createDirs?: boolean;
  /** File mode of the new file (e.g. 0o600 for a key); default 0o666 less the umask. */
  mode?: number;
}

/** Fails with a clear FILE_UNWRITABLE error when `path` is a directory or its directory does not exist. */
export async function checkOutputPath(path: string, options: WriteOptions = {}): Promise<void> {
  const target = await statOrNull(path);
  if (target?.isDirectory()) {
    throw new FabraError("FILE_UNWRITABLE", `Cannot write ${path}: it is a directory`, {
      hint: `Give a file path, e.g. ${join(path, "out.json")}.`,
    });
  }
  if (options.createDirs) return;
  const dir = dirname(path);
  const parent = await statOrNull(dir);
  if (parent === null)
    throw new FabraError("FILE_UNWRITABLE", `Cannot write ${path}: the directory ${dir} does not exist`, {
      hint: "Create it first, or choose another path.",
    });
  if (!parent.isDirectory())
    throw new FabraError("FILE_UNWRITABLE", `Cannot write ${path}: ${dir} is not a directory`, {
      hint: "Choose another path.",
    });
}

export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: WriteOptions = {},
): Promise<void> {
  await checkOutputPath(path, options);
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    if (options.createDirs) await mkdir(dir, { recursive: true });
    const handle = await open(tmp, "wx", options.mode ?? 0o666);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new FabraError("FILE_UNWRITABLE", `Cannot write ${path}: ${fsReason(err)}`, {
      hint: "Check the directory exists and is writable.",
      cause: err,
    });
  }
}

/** Why a file operation failed, in words, without the paths Node puts in its messages (temp names included). */
export function fsReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  const reasons: Record<string, string> = {
    EACCES: "permission denied",
    EPERM: "operation not permitted",
    EROFS: "read-only file system",
    ENOSPC: "no space left on device",
    EDQUOT: "disk quota exceeded",
    EISDIR: "it is a directory",
    ENOTDIR: "a part of the path is not a directory",
    ENOENT: "the directory does not exist",
    EEXIST: "it already exists",
  };
  return (code && reasons[code]) ?? (err instanceof Error ? err.message : String(err));
}

async function statOrNull(path: string) {
  try {
    return await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    if (code === "ENOTDIR")
      throw new FabraError("FILE_UNWRITABLE", `Cannot write ${path}: a part of the path is a file, not a directory`, {
        hint: "Choose another path.",
      });
    throw new FabraError("FILE_UNWRITABLE", `Cannot write ${path}: ${fsReason(err)}`, {
      hint: "Check the directory exists and is writable.",
      cause: err,
    });
  }
}
