// `fabra context prove <id> [-o proof.json]`: an offline inclusion proof (TLOG-001 §Proof file) that the record is
// in the transparency log under a fresh signed checkpoint; `context verify --file --proof --key` checks it.
import type { Command } from "commander";
import { withLedger } from "../../app/project.js";
import { checkOutputPath, writeFileAtomic } from "../../util/fs-atomic.js";
import { projectOptions } from "../options.js";
import { ok } from "../render/format.js";

export function registerContextProve(context: Command): void {
  context
    .command("prove <id>")
    .description("Write an offline inclusion proof of a record under a signed checkpoint of the transparency log")
    .option("-o, --output <file>", "write the proof JSON to this file instead of stdout")
    .option("--outcome <outcome_id>", "prove this outcome entry of the record instead (the proof carries the entry)")
    .action(async (id: string, flags: { output?: string; outcome?: string }, cmd: Command) => {
      if (flags.output !== undefined) await checkOutputPath(flags.output);
      await withLedger(projectOptions(cmd), async (ledger, config) => {
        const log = ledger.transparencyLog(config.ledger);
        const proof = flags.outcome !== undefined ? await log.proveOutcome(id, flags.outcome) : await log.prove(id);
        const text = `${JSON.stringify(proof, null, 2)}\n`;
        if (flags.output === undefined) return process.stdout.write(text);
        await writeFileAtomic(flags.output, text);
        process.stderr.write(
          `${ok(`Proof of ${proof.outcome_id ?? proof.context_id} (leaf ${proof.leaf_index} of ${proof.tree_size}) written to ${flags.output}`)}\n`,
        );
      });
    });
}
