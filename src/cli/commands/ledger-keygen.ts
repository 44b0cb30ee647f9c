// `fabra ledger keygen [-o FILE] [--name NAME]`: a new Ed25519 checkpoint signer key, written as signed-note signer
// key text to a new file with mode 0600 (never over an existing one); prints the verifier key.
import type { Command } from "commander";
import { resolveProject } from "../../app/project.js";
import { FabraError } from "../../errors.js";
import { generateNoteKeys } from "../../tlog/note.js";
import { checkOutputPath, writeFileAtomic } from "../../util/fs-atomic.js";
import { parseFormat, print, projectOptions } from "../options.js";
import { ok } from "../render/format.js";
import { existsSync } from "node:fs";
import { resolve } from "node:path";

export function registerLedgerKeygen(ledger: Command): void {
  ledger
    .command("keygen")
    .description("Write a checkpoint signer key file (mode 0600) and print its verifier key")
    .option("-o, --output <file>", "the signer key file to create", "ledger.key")
    .option("--name <name>", "the key name (default: the log's origin, ledger.origin)")
    .option("--format <format>", "text | json", "text")
    .action(async (flags: { output: string; name?: string; format?: string }, cmd: Command) => {
      const format = parseFormat(flags.format, ["text", "json"] as const, "text");
      await checkOutputPath(flags.output);
      if (existsSync(flags.output))
        throw new FabraError("FILE_EXISTS", `${flags.output} already exists; a signer key is never overwritten`, {
          hint: "Choose another path with -o, or remove the old key first (checkpoints it signed then no longer verify with a new key).",
        });
      const name = flags.name ?? (await resolveProject(projectOptions(cmd))).ledger.origin;
      let keys: { signerKey: string; verifierKey: string };
      try {
        keys = generateNoteKeys(name);
      } catch (err) {
        throw new FabraError("INVALID_ARGUMENT", `--name ${JSON.stringify(name)}: ${(err as Error).message}`, {
          hint: "Use a name like example.com/fabra-ledger (no spaces, no '+').",
        });
      }
      await writeFileAtomic(flags.output, `${keys.signerKey}\n`, { mode: 0o600 });
      const keyFile = resolve(flags.output);
      if (format === "json")
        return print(JSON.stringify({ verifier_key: keys.verifierKey, key_file: keyFile }, null, 2));
      process.stderr.write(
        `${ok(`Wrote the signer key to ${keyFile} (mode 0600)`)}\nSet ledger.keyFile or FABRA_LEDGER_KEY_FILE to it; give auditors the verifier key:\n`,
      );
      print(keys.verifierKey);
    });
}
