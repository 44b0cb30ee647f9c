// `fabra context export <id> [-o file]`: the record's canonical JSON, to stdout or atomically to a file. Only a
// record that verifies is exported (`show --format json` prints the stored text as it is).
import type { Command } from "commander";
import { checkOutputPath, writeFileAtomic } from "../../util/fs-atomic.js";
import { withLedger } from "../../app/project.js";
import { print, projectOptions } from "../options.js";
import { ok } from "../render/format.js";

export function registerContextExport(context: Command): void {
  context
    .command("export <id>")
    .description("Write a record's canonical JSON (verifiable anywhere, e.g. by the Python implementation)")
    .option("-o, --output <file>", "write to this file instead of stdout")
    .action(async (id: string, flags: { output?: string }, cmd: Command) => {
      if (flags.output !== undefined) await checkOutputPath(flags.output); // a directory or a missing one: say so before any work
      await withLedger(projectOptions(cmd), async (ledger) => {
        const row = await ledger.export(id);
        if (flags.output === undefined) return print(row.canonicalText);
        await writeFileAtomic(flags.output, row.canonicalText + "\n");
        process.stderr.write(ok(`Exported ${row.contextId} to ${flags.output}`) + "\n");
      });
    });
}
