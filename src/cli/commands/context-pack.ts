// `fabra context pack <id> [--baseline ID] [-o file.zip]`: one zip for a ticket — the record, its inclusion proof
// and checkpoint, summary.md, and with a baseline a diff.patch (engine/ledger/pack.ts). `context verify --file`
// takes the pack back.
import type { Command } from "commander";
import { withLedger } from "../../app/project.js";
import { buildPack } from "../../engine/ledger/pack.js";
import { normalizeContextId } from "../../record/id.js";
import { checkOutputPath, writeFileAtomic } from "../../util/fs-atomic.js";
import { projectOptions } from "../options.js";
import { ok } from "../render/format.js";

export function registerContextPack(context: Command): void {
  context
    .command("pack <id>")
    .description(
      "Bundle a record for a ticket: the record, its inclusion proof and checkpoint, summary.md (and diff.patch with --baseline)",
    )
    .option("--baseline <id>", "a good record to compare with: adds diff.patch (baseline → this record)")
    .option("-o, --output <file>", "where to write the zip (default: <context id>.zip)")
    .action(async (id: string, flags: { baseline?: string; output?: string }, cmd: Command) => {
      const output = flags.output ?? `${normalizeContextId(id)}.zip`;
      await checkOutputPath(output);
      await withLedger(projectOptions(cmd), async (ledger, config) => {
        const bytes = await buildPack(ledger, id, { baseline: flags.baseline, log: config.ledger });
        await writeFileAtomic(output, bytes);
        process.stderr.write(`${ok(`Packed ${normalizeContextId(id)} into ${output}`)}\n`);
      });
    });
}
