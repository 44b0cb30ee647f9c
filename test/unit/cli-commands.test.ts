// The CLI's lazy command table: every help line it prints for a command not loaded is the line the command's own
// module would print, and a command line loads the command it names (and only that one) for real.
import { Command, Help } from "commander";
import { describe, expect, it } from "vitest";
import { CONTEXT_COMMANDS } from "../../src/cli/commands/context.js";
import { LEDGER_COMMANDS } from "../../src/cli/commands/ledger.js";
import { commandName, type LazyCommand } from "../../src/cli/lazy-commands.js";
import { buildProgram, COMMANDS } from "../../src/cli/program.js";

/** The command `entry` registers, loaded for real under a fresh parent. */
async function loadReal(entry: LazyCommand): Promise<Command> {
  const parent = new Command("parent");
  await (await entry.load())(parent, []);
  const real = parent.commands.find((c) => c.name() === commandName(entry));
  if (!real) throw new Error(`${entry.term}: loading it registered no command ${commandName(entry)}`);
  return real;
}

describe.each([
  ["fabra", COMMANDS],
  ["fabra context", CONTEXT_COMMANDS],
  ["fabra ledger", LEDGER_COMMANDS],
])("the lazy table of %s", (_parent, table) => {
  it.each(table.map((entry) => [entry.term, entry] as const))(
    "%s: matches the command's own definition",
    async (_term, entry) => {
      const real = await loadReal(entry);
      expect(new Help().subcommandTerm(real)).toBe(entry.term);
      expect(real.description()).toBe(entry.description);
    },
  );
});

/** The loaded (not stub) commands: a stub has no options, every real command here has at least one or sub-commands. */
const loaded = (cmd: Command) =>
  cmd.commands.filter((c) => c.options.length > 0 || c.commands.length > 0).map((c) => c.name());

describe("buildProgram", () => {
  it("loads no command for --version or --help, but lists them all", async () => {
    for (const args of [["--version"], ["--help"], []]) {
      const program = await buildProgram(["node", "fabra", ...args]);
      expect(loaded(program)).toEqual([]);
      expect(program.commands.map((c) => c.name())).toEqual(COMMANDS.map(commandName));
      expect(program.helpInformation()).toContain("materialize [options] [features...]");
    }
  });

  it("loads only the command the line names, behind global options and through help", async () => {
    const cases: [string[], string[], string[]][] = [
      [["context", "verify", "ctx_1"], ["context"], ["verify"]],
      [["-c", "context", "context", "show", "x"], ["context"], ["show"]],
      [["--config=cfg.ts", "help", "context", "run"], ["context"], ["run"]],
      [["context", "help", "diff"], ["context"], ["diff"]],
      [["context", "-c", "list", "list"], ["context"], ["list"]],
      [["context", "--config", "cfg.ts", "export", "x"], ["context"], ["export"]],
      [["--url", "context", "context", "list"], ["context"], ["list"]],
      [["context", "--url=http://h:8000", "show", "x"], ["context"], ["show"]],
      [["context", "--url", "verify", "diff", "a", "b"], ["context"], ["diff"]],
      [["doctor", "--format", "json"], ["doctor"], []],
      [["contxt", "verify"], [], []],
    ];
    for (const [args, top, sub] of cases) {
      const program = await buildProgram(["node", "fabra", ...args]);
      expect(loaded(program), args.join(" ")).toEqual(top);
      const context = program.commands.find((c) => c.name() === "context") as Command;
      expect(loaded(context), args.join(" ")).toEqual(sub);
    }
  });
});
