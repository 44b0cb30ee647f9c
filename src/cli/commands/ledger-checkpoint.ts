// `fabra ledger checkpoint [-o FILE] [--format json]`: integrates pending records, then prints (or writes) the
// current signed tree head: a C2SP tlog-checkpoint in a signed note.
import type { Command } from "commander";
import { withLedger } from "../../app/project.js";
import { checkOutputPath, writeFileAtomic } from "../../util/fs-atomic.js";
import { parseFormat, print, projectOptions } from "../options.js";
import { ok } from "../render/format.js";

export function registerLedgerCheckpoint(ledger: Command): void {
  ledger
    .command("checkpoint")
    .description("Integrate pending records and print the signed tree head (a C2SP checkpoint)")
    .option("-o, --output <file>", "write the signed checkpoint (note text) to this file")
    .option("--format <format>", "text | json", "text")
    .action(async (flags: { output?: string; format?: string }, cmd: Command) => {
      const format = parseFormat(flags.format, ["text", "json"] as const, "text");
      if (flags.output !== undefined) await checkOutputPath(flags.output);
      await withLedger(projectOptions(cmd), async (l, config) => {
        const { note, checkpoint } = await l.transparencyLog(config.ledger).checkpoint();
        if (flags.output !== undefined) {
          await writeFileAtomic(flags.output, note);
          process.stderr.write(`${ok(`Checkpoint of ${checkpoint.size} records written to ${flags.output}`)}\n`);
        }
        if (format === "json")
          print(
            JSON.stringify(
              {
                checkpoint: note,
                tree_size: checkpoint.size,
                root_hash: Buffer.from(checkpoint.rootHash).toString("base64"),
              },
              null,
              2,
            ),
          );
        else if (flags.output === undefined) process.stdout.write(note);
      });
    });
}
