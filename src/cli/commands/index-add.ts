// `fabra index add <path...> --index NAME`: chunk, embed and store documents in a vector index.
import type { Command } from "commander";
import { readDocumentSet, TEXT_EXTENSIONS_SHOWN } from "../../engine/retrieval/documents.js";
import { FabraError } from "../../errors.js";
import { withFabra } from "../../app/project.js";
import { outputFormat, print, projectOptions } from "../options.js";
import { ok, warn } from "../render/format.js";
import { createProgress } from "../render/progress.js";
import { plural } from "../../util/plural.js";

export function registerIndexCommands(program: Command): void {
  const index = program.command("index").description("Manage vector indexes of documents");
  index
    .command("add <paths...>")
    .description(
      "Chunk, embed and index files or directories (re-indexing a file replaces its chunks). A document's id is its path from the project root (its absolute path outside the project); HTML is indexed as its text",
    )
    .requiredOption("--index <name>", "the index to add to")
    .action(async (paths: string[], flags: { index: string }, cmd: Command) => {
      if (!/^[A-Za-z0-9_.-]+$/.test(flags.index)) {
        throw new FabraError("INVALID_ARGUMENT", `Index name ${JSON.stringify(flags.index)} is not valid`, {
          hint: "Use letters, digits, _ . and -.",
        });
      }
      const options = projectOptions(cmd);
      await withFabra(options, async (fabra, config) => {
        const { documents, skipped } = await readDocumentSet(paths, options.cwd, config.rootDir);
        if (skipped.length > 0) {
          const shown =
            skipped.slice(0, 10).join(", ") + (skipped.length > 10 ? `, and ${skipped.length - 10} more` : "");
          process.stderr.write(
            `${warn(`skipped ${plural(skipped.length, "file")} that ${skipped.length === 1 ? "is" : "are"} not a text document (${TEXT_EXTENSIONS_SHOWN}): ${shown}`)}\n`,
          );
        }
        const progress = createProgress("indexing", documents.length);
        const result = await fabra.index.add(flags.index, documents, (done) => progress.update(done));
        progress.done();
        print(
          ok(
            `Indexed ${plural(result.documents, "document")} as ${plural(result.chunks, "chunk")} into "${flags.index}"`,
          ),
        );
        if (!fabra.stores.vector.capabilities.persistent) {
          process.stderr.write(
            warn(
              `the vector store keeps chunks in this process only, so they are gone when this command ends. ` +
                `Use stores.vector: { type: "pgvector" } with a postgres offline store, or the local duckdb offline store.`,
            ) + "\n",
          );
        }
      });
    });
  index
    .command("list")
    .description("List indexes with their chunk counts and dimensions")
    .option("--format <format>", "text | json")
    .option("--json", "the same as --format json")
    .action(async (flags: { format?: string; json?: boolean }, cmd: Command) => {
      const format = outputFormat(flags, ["text", "json"] as const, "text");
      await withFabra(projectOptions(cmd), async (fabra) => {
        const indexes = await fabra.stores.vector.listIndexes();
        if (format === "json") return print(JSON.stringify(indexes, null, 2));
        if (indexes.length === 0)
          return print("No indexes yet. Add documents with: fabra index add <path> --index <name>");
        for (const i of indexes) print(`${i.name}  ${plural(i.chunks, "chunk")}  ${i.dimensions} dims`);
      });
    });
}
