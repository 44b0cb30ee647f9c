// Record files from anywhere (an export, another implementation): size-checked before anything is read (memory
// stays bounded: parsing and verifying a record costs many times its size), read, parsed strictly and verified.
import { readFile, stat } from "node:fs/promises";
import { FabraError } from "../../errors.js";
import { readRecordText } from "../../record/verify.js";
import type { ContextRecord } from "../../record/types.js";
import { verifyRecord, type VerifyOptions, type VerifyResult } from "../../record/verify.js";
import { isZip, readPack } from "./pack.js";

/** The largest record file read when the ledger is not told otherwise (64 MiB, config evidence.maxRecordBytes). */
export const DEFAULT_MAX_RECORD_BYTES = 64 * 1024 * 1024;

/**
 * Reads a record file — a record's JSON, or a pack (`fabra context pack`, a zip holding one) — and verifies it; a
 * file over `maxBytes` is refused before it is read. `proofText`: the inclusion proof a pack carries, if any.
 */
export async function readRecordFile(
  path: string,
  opts: VerifyOptions = {},
  maxBytes = DEFAULT_MAX_RECORD_BYTES,
): Promise<{ record: ContextRecord; result: VerifyResult; proofText: string | null }> {
  await checkRecordFileSize(path, maxBytes);
  const bytes = await readFileBytes(path);
  const pack = isZip(bytes) ? readPack(bytes, path, maxBytes) : null;
  const record = readRecordText(pack ? pack.recordText : bytes.toString("utf8"), path);
  return { record, result: verifyRecord(record, opts), proofText: pack?.proofText ?? null };
}

/** PAYLOAD_TOO_LARGE for a file over `maxBytes` (a missing or unreadable file is left to the read to report). */
export async function checkRecordFileSize(path: string, maxBytes: number): Promise<void> {
  const size = await stat(path).then(
    (s) => (s.isFile() ? s.size : 0),
    () => 0,
  );
  if (size > maxBytes) throw recordTooLarge(path, size, maxBytes, "it was not read");
}

/** PAYLOAD_TOO_LARGE for a record of `bytes` over `maxBytes`: what it was, and what did not happen. */
export function recordTooLarge(what: string, bytes: number, maxBytes: number, consequence: string): FabraError {
  return new FabraError(
    "PAYLOAD_TOO_LARGE",
    `${what} is ${formatMiB(bytes)}, over the record size limit of ${formatMiB(maxBytes)}; ${consequence}`,
    {
      hint: "Reading and verifying a record takes many times its size in memory, so fabra refuses records over the limit (evidence.maxRecordBytes in fabra.config.ts). Check it is a single Context Record, not a concatenation or a data dump.",
      details: { what, bytes, limit: maxBytes },
    },
  );
}

function formatMiB(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB (${bytes} bytes)`;
}

export async function readTextFile(path: string): Promise<string> {
  return (await readFileBytes(path)).toString("utf8");
}

async function readFileBytes(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new FabraError("FILE_NOT_FOUND", `No such file: ${path}`, { hint: "Check the path." });
    if (code === "EISDIR")
      throw new FabraError("FILE_UNREADABLE", `${path} is a directory, not a file`, {
        hint: "Pass a record JSON file.",
      });
    throw new FabraError("FILE_UNREADABLE", `Cannot read ${path}: ${(err as Error).message}`, {
      hint: "Check the file's permissions.",
    });
  }
}
