// Record files from anywhere (an export, another implementation): read, parsed strictly and verified.
import { readFile } from "node:fs/promises";
import { FabraError } from "../../errors.js";
import { readRecordText } from "../../record/verify.js";
import type { ContextRecord } from "../../record/types.js";
import { verifyRecord, type VerifyOptions, type VerifyResult } from "../../record/verify.js";

/** Reads a record file and verifies it. */
export async function readRecordFile(
  path: string,
  opts: VerifyOptions = {},
): Promise<{ record: ContextRecord; result: VerifyResult }> {
  const text = await readTextFile(path);
  const record = readRecordText(text, path);
  return { record, result: verifyRecord(record, opts) };
}

export async function readTextFile(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
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
