// Lazy sub-commands: each command's help line (name, arguments, description) is known up front and its module is
// imported only when the command line selects it, so `fabra --version` never loads what `fabra serve` needs.
import { type Command, Help } from "commander";
import { FabraError } from "../errors.js";

/** Adds a command's real definition (options, arguments, action) to `parent`; `args` are the words after its name. */
export type RegisterCommand = (parent: Command, args: readonly string[]) => void | Promise<void>;

export interface LazyCommand {
  /** The command as its help line shows it, e.g. "init [options] [dir]" (the first word is its name). */
  term: string;
  description: string;
  /** Imports the command's module and returns its register function. */
  load: () => Promise<RegisterCommand>;
}

/** The command's name: the first word of its help term. */
export function commandName(command: LazyCommand): string {
  return command.term.split(" ")[0] ?? command.term;
}

// The help line of a command not loaded: its term as declared (commander would otherwise print the bare name).
const stubTerms = new WeakMap<Command, string>();

/** Help settings for the root program (inherited by every command made with `.command()`), aware of stubs. */
export const lazyHelp: Partial<Help> = {
  subcommandTerm(cmd: Command): string {
    return stubTerms.get(cmd) ?? Help.prototype.subcommandTerm.call(this, cmd);
  },
};

/**
 * Registers `commands` on `parent`, in order: the one `args` select (`<name> ...` or `help <name> ...`) for real,
 * the others as stubs that carry just the help line (for the command list, "did you mean", `help`).
 * `args` are the command-line words after `parent`'s own name. The value of an option of `parent` or of a command
 * above it (`-c path`, which commander accepts after a sub-command's name too) is not taken for a command name.
 */
export async function addLazyCommands(
  parent: Command,
  commands: readonly LazyCommand[],
  args: readonly string[],
): Promise<void> {
  const words = operands(args, optionsWithValue(parent));
  const start = words[0]?.word === "help" ? 1 : 0;
  const selected = words[start];
  for (const command of commands) {
    if (selected !== undefined && commandName(command) === selected.word) {
      const register = await command.load();
      await register(parent, args.slice(selected.index + 1));
    } else {
      addStub(parent, command);
    }
  }
}

function addStub(parent: Command, command: LazyCommand): void {
  const stub = parent
    .command(commandName(command))
    .description(command.description)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      // Only reachable if the command line was read differently above than by commander.
      throw new FabraError("INTERNAL", `The command ${commandName(command)} was not loaded for this command line`, {
        hint: "Put global options such as --config before the command name, or report this command line as a bug.",
      });
    });
  stubTerms.set(stub, command.term);
}

/**
 * `help <command> <sub-command> ...` as `<command> <sub-command> ... --help` (commander's own help command reads
 * only the first name, so `fabra help context run` would print `context`'s help). `args` are the words after the
 * program's name; `valueFlags` the global options taking a value. Other command lines are returned as they are.
 */
export function helpAsFlag(args: readonly string[], valueFlags: readonly string[]): string[] {
  const words = operands(args, valueFlags);
  if (words[0]?.word !== "help" || words.length < 3) return [...args];
  return [...args.slice(0, words[0].index), ...args.slice(words[0].index + 1), "--help"];
}

/** The flags of the options of `cmd` and the commands above it that take a value. */
function optionsWithValue(cmd: Command): string[] {
  const flags: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) {
    for (const option of c.options)
      if (option.required || option.optional) flags.push(...[option.short, option.long].filter((f) => f !== undefined));
  }
  return flags;
}

/** The positional words of `args` (with their index), skipping options and the values of `optionsWithValue`. */
function operands(args: readonly string[], optionsWithValue: readonly string[]): { word: string; index: number }[] {
  const words: { word: string; index: number }[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === "--") break;
    if (optionsWithValue.includes(arg)) i++;
    else if (!arg.startsWith("-") || arg === "-") words.push({ word: arg, index: i });
  }
  return words;
}
