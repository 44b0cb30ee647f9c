// `fabra ledger ...`: the transparency log over the ledger (spec/TLOG-001.md), one file per sub-command, each
// imported only when the command line selects it.
import type { Command } from "commander";
import { addLazyCommands, type LazyCommand } from "../lazy-commands.js";

export const LEDGER_COMMANDS: readonly LazyCommand[] = [
  {
    term: "keygen [options]",
    description: "Write a checkpoint signer key file (mode 0600) and print its verifier key",
    load: async () => (await import("./ledger-keygen.js")).registerLedgerKeygen,
  },
  {
    term: "checkpoint [options]",
    description: "Integrate pending records and print the signed tree head (a C2SP checkpoint)",
    load: async () => (await import("./ledger-checkpoint.js")).registerLedgerCheckpoint,
  },
  {
    term: "verify [options]",
    description:
      "Recompute the log from the stored records, verify every record, and prove it extends a trusted checkpoint",
    load: async () => (await import("./ledger-verify.js")).registerLedgerVerify,
  },
];

/** `fabra ledger`; `args` are the words after it, naming the sub-command to load. */
export async function registerLedgerCommands(program: Command, args: readonly string[] = []): Promise<void> {
  const ledger = program
    .command("ledger")
    .description("The transparency log over the ledger: signer keys, signed checkpoints, append-only verification");
  await addLazyCommands(ledger, LEDGER_COMMANDS, args);
}
