// Command-line arguments of the transparency-log commands: a file's text, and a verifier key given as text or as
// a file holding it.
import { readFile } from "node:fs/promises";
import { FabraError } from "../../errors.js";
import { verifierFromText } from "../../engine/ledger/log.js";
import type { NoteVerifier } from "../../tlog/note.js";

export async function readTextArgument(path: string, flag: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch {
    throw new FabraError("FILE_NOT_FOUND", `${flag} ${path}: cannot read the file`, {
      hint: "Check the path; checkpoints are written by `fabra ledger checkpoint -o FILE`.",
    });
  }
}

/** `--key`: the verifier key text (`<name>+<8 hex>+<base64>`), or else the path of a file holding it. */
export async function verifierKeyArgument(value: string): Promise<NoteVerifier> {
  if (/^[^+\s]+\+[0-9a-f]{8}\+\S+$/.test(value)) return verifierFromText(value, "--key");
  return verifierFromText((await readTextArgument(value, "--key")).trim(), `--key ${value}`);
}
