// `fabra context ...`: the record commands, one file each, each imported only when the command line selects it.
import type { Command } from "commander";
import { addLazyCommands, type LazyCommand } from "../lazy-commands.js";

/** Every `fabra context` sub-command, in the order `fabra context --help` lists them. */
export const CONTEXT_COMMANDS: readonly LazyCommand[] = [
  {
    term: "run [options] <function>",
    description: "Assemble a context with the given inputs, write its record, print the content",
    load: async () => (await import("./context-run.js")).registerContextRun,
  },
  {
    term: "show [options] <id>",
    description: "Show a context record: inputs, features, retrieved and dropped items, freshness, integrity",
    load: async () => (await import("./context-show.js")).registerContextShow,
  },
  {
    term: "verify [options] [id]",
    description:
      "Verify a record's hashes and signature (with the configured keys); exit 1 if altered, or unsigned while signing is on",
    load: async () => (await import("./context-verify.js")).registerContextVerify,
  },
  {
    term: "list [options]",
    description: "List context records, newest first",
    load: async () => (await import("./context-list.js")).registerContextList,
  },
  {
    term: "diff [options] <a> <b>",
    description: "Verify two records and show what differs: inputs, features, chunks, drops, content, tokens and cost",
    load: async () => (await import("./context-diff.js")).registerContextDiff,
  },
  {
    term: "replay [options] <id>",
    description:
      "Re-run a record's context function with its recorded inputs and show what changed (a new record links to it)",
    load: async () => (await import("./context-replay.js")).registerContextReplay,
  },
  {
    term: "explain [options] <id>",
    description:
      "Show what a record would have kept and dropped at another token budget (re-run on its own data; nothing written)",
    load: async () => (await import("./context-explain.js")).registerContextExplain,
  },
  {
    term: "pack [options] <id>",
    description:
      "Bundle a record for a ticket: the record, its inclusion proof and checkpoint, summary.md (and diff.patch with --baseline)",
    load: async () => (await import("./context-pack.js")).registerContextPack,
  },
  {
    term: "export [options] <id>",
    description: "Write a record's canonical JSON (verifiable anywhere, e.g. by the Python implementation)",
    load: async () => (await import("./context-export.js")).registerContextExport,
  },
  {
    term: "prove [options] <id>",
    description: "Write an offline inclusion proof of a record under a signed checkpoint of the transparency log",
    load: async () => (await import("./context-prove.js")).registerContextProve,
  },
  {
    term: "import <files...>",
    description:
      "Import record files into the ledger after verifying each one; they are marked imported (shown by show, verify and list --format json)",
    load: async () => (await import("./context-import.js")).registerContextImport,
  },
];

/** `fabra context`; `args` are the words after it, naming the sub-command to load. */
export async function registerContextCommands(program: Command, args: readonly string[] = []): Promise<void> {
  const context = program
    .command("context")
    .description("Inspect, verify, diff, replay, export and import Context Records");
  await addLazyCommands(context, CONTEXT_COMMANDS, args);
}
