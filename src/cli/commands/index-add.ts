// `fabra index add|list|documents|remove|drop`: chunk, embed and store documents in a vector index, and keep it
// clean (remove documents, prune those whose files are gone, drop an index). While a `fabra serve` holds the local
// DuckDB file, each goes through that server's /v1/indexes routes with the state file's token (src/remote/).
import { resolve } from "node:path";
import type { Command } from "commander";
import {
  documentId,
  listDocumentFiles,
  readDocumentFile,
  streamDocuments,
  TEXT_EXTENSIONS_SHOWN,
} from "../../engine/retrieval/documents.js";
import { requireIndexName } from "../../engine/retrieval/hygiene.js";
import type { DocumentInput } from "../../engine/retrieval/search.js";
import { withFabraOrServer } from "../../app/project.js";
import type { FabraHttpClient } from "../../remote/client.js";
import { outputFormat, print, projectOptions } from "../options.js";
import { ok, warn } from "../render/format.js";
import { createProgress } from "../render/progress.js";
import { plural } from "../../util/plural.js";

/** What one request of `index add` through a server carries at most (the route accepts up to 32 MB). */
const REMOTE_BATCH_BYTES = 8 * 1024 * 1024;

interface AddSummary {
  documents: number;
  chunks: number;
  skipped: number;
  pruned: { documents: string[]; chunks: number } | null;
}

export function registerIndexCommands(program: Command): void {
  const index = program.command("index").description("Manage vector indexes of documents");
  index
    .command("add <paths...>")
    .description(
      "Chunk, embed and index files or directories (re-indexing a file replaces its chunks; an unchanged file is skipped). A document's id is its path from the project root (its absolute path outside the project); HTML is indexed as its text",
    )
    .requiredOption("--index <name>", "the index to add to")
    .option("--prune", "also remove the index's documents whose files no longer exist")
    .action(async (paths: string[], flags: { index: string; prune?: boolean }, cmd: Command) => {
      const name = requireIndexName(flags.index);
      const options = projectOptions(cmd);
      const started = Date.now();
      const summary = await withFabraOrServer<AddSummary>(
        options,
        async (fabra, config) => {
          const { files, skipped } = await listDocumentFiles(paths, options.cwd, config.rootDir);
          warnSkipped(skipped);
          const progress = createProgress("indexing", files.length, { rate: true, unit: "docs" });
          let graph: ReturnType<typeof createProgress> | undefined;
          const result = await fabra.index.add(
            name,
            streamDocuments(files, options.cwd),
            (done, _total, chunks, p) =>
              progress.update(done, `${plural(chunks, "chunk")}${p.skipped > 0 ? `, ${p.skipped} unchanged` : ""}`),
            {
              total: files.length,
              onOptimize: (done, total) => {
                graph ??= createProgress("building the HNSW graph", total, { rate: true, unit: "chunks" });
                graph.update(done);
              },
            },
          );
          progress.done();
          graph?.done();
          if (result.optimized) process.stderr.write(`${ok(result.optimized)}\n`);
          const pruned = flags.prune ? await fabra.index.prune(name, new Set(files.map((f) => f.id))) : null;
          if (!fabra.stores.vector.capabilities.persistent) {
            process.stderr.write(
              warn(
                `the vector store keeps chunks in this process only, so they are gone when this command ends. ` +
                  `Use stores.vector: { type: "pgvector" } with a postgres offline store, or the local duckdb offline store.`,
              ) + "\n",
            );
          }
          return { ...result, pruned };
        },
        async (client, config) => {
          const { files, skipped } = await listDocumentFiles(paths, options.cwd, config.rootDir);
          warnSkipped(skipped);
          const result = await addThroughServer(client, name, files, options.cwd);
          const pruned = flags.prune
            ? await client.pruneDocuments(
                name,
                files.map((f) => f.id),
              )
            : null;
          return { ...result, pruned };
        },
      );
      const seconds = (Date.now() - started) / 1000;
      const rate = seconds > 0 && summary.chunks > 0 ? `, ${Math.round(summary.chunks / seconds)} chunks/s` : "";
      const unchanged = summary.skipped > 0 ? `; ${plural(summary.skipped, "unchanged document")} skipped` : "";
      print(
        ok(
          `Indexed ${plural(summary.documents - summary.skipped, "document")} as ${plural(summary.chunks, "chunk")} into "${name}"${unchanged} (${seconds.toFixed(1)} s${rate})`,
        ),
      );
      if (summary.pruned) {
        const p = summary.pruned;
        print(
          p.documents.length === 0
            ? ok("Pruned nothing: every indexed file is still there")
            : ok(
                `Pruned ${plural(p.documents.length, "document")} (${plural(p.chunks, "chunk")}) whose files are gone: ${shortList(p.documents)}`,
              ),
        );
      }
    });
  index
    .command("list")
    .description("List indexes with their chunk counts and dimensions")
    .option("--format <format>", "text | json")
    .option("--json", "the same as --format json")
    .action(async (flags: { format?: string; json?: boolean }, cmd: Command) => {
      const format = outputFormat(flags, ["text", "json"] as const, "text");
      const indexes = await withFabraOrServer(
        projectOptions(cmd),
        (fabra) => fabra.stores.vector.listIndexes(),
        (client) => client.listIndexes(),
      );
      if (format === "json") return print(JSON.stringify(indexes, null, 2));
      if (indexes.length === 0)
        return print("No indexes yet. Add documents with: fabra index add <path> --index <name>");
      for (const i of indexes) print(`${i.name}  ${plural(i.chunks, "chunk")}  ${i.dimensions} dims`);
    });
  index
    .command("documents")
    .description("List the documents of an index (id, chunks, source)")
    .requiredOption("--index <name>", "the index")
    .option("--format <format>", "text | json")
    .option("--json", "the same as --format json")
    .action(async (flags: { index: string; format?: string; json?: boolean }, cmd: Command) => {
      const name = requireIndexName(flags.index);
      const format = outputFormat(flags, ["text", "json"] as const, "text");
      const docs = await withFabraOrServer(
        projectOptions(cmd),
        (fabra) => fabra.index.documents(name),
        (client) => client.listDocuments(name),
      );
      if (format === "json") return print(JSON.stringify(docs, null, 2));
      if (docs.length === 0) return print(`The index "${name}" holds no documents.`);
      for (const d of docs)
        print(`${d.documentId}  ${plural(d.chunks, "chunk")}${d.sourceUrl ? `  ${d.sourceUrl}` : ""}`);
    });
  index
    .command("remove <documents...>")
    .description(
      "Remove documents from an index, so they stop reaching prompts: by document id or by file path (the file may be gone); all must be in the index, or nothing is removed",
    )
    .requiredOption("--index <name>", "the index to remove from")
    .action(async (documents: string[], flags: { index: string }, cmd: Command) => {
      const name = requireIndexName(flags.index);
      const options = projectOptions(cmd);
      const removed = await withFabraOrServer(
        options,
        async (fabra, config) => {
          const held = new Set((await fabra.index.documents(name)).map((d) => d.documentId));
          return fabra.index.remove(name, documentIds(documents, held, options.cwd, config.rootDir));
        },
        async (client, config) => {
          const held = new Set((await client.listDocuments(name)).map((d) => d.documentId));
          return client.removeDocuments(name, documentIds(documents, held, options.cwd, config.rootDir));
        },
      );
      print(
        ok(
          `Removed ${plural(removed.documents.length, "document")} (${plural(removed.chunks, "chunk")}) from "${name}": ${shortList(removed.documents)}`,
        ),
      );
    });
  index
    .command("drop <name>")
    .description("Drop an index and all its chunks")
    .action(async (indexName: string, _flags: unknown, cmd: Command) => {
      const name = requireIndexName(indexName);
      const dropped = await withFabraOrServer(
        projectOptions(cmd),
        (fabra) => fabra.index.drop(name),
        (client) => client.dropIndex(name),
      );
      print(ok(`Dropped the index "${name}" (${plural(dropped.chunks, "chunk")})`));
    });
}

/**
 * Each argument as a document id: itself when the index holds that id, else the id of the file it names (a path
 * from here, as `index add` named it; the file may be gone). Ids the index does not hold are refused later, naming them.
 */
function documentIds(args: string[], held: ReadonlySet<string>, cwd: string, rootDir: string): string[] {
  return args.map((arg) => {
    const plain = arg.split("\\").join("/");
    if (held.has(plain)) return plain;
    return documentId(resolve(cwd, arg), rootDir);
  });
}

/** Sends documents to the server in batches below REMOTE_BATCH_BYTES, read as they go, with progress. */
async function addThroughServer(
  client: FabraHttpClient,
  index: string,
  files: { file: string; id: string }[],
  cwd: string,
): Promise<{ documents: number; chunks: number; skipped: number }> {
  const progress = createProgress("indexing (through the server)", files.length, { rate: true, unit: "docs" });
  const total = { documents: 0, chunks: 0, skipped: 0 };
  let batch: DocumentInput[] = [];
  let bytes = 0;
  const send = async () => {
    if (batch.length === 0) return;
    const result = await client.addDocuments(index, batch);
    total.documents += result.documents;
    total.chunks += result.chunks;
    total.skipped += result.skipped;
    batch = [];
    bytes = 0;
    progress.update(total.documents, plural(total.chunks, "chunk"));
  };
  for (const f of files) {
    const doc = await readDocumentFile(f, cwd);
    const size = Buffer.byteLength(doc.content) + f.id.length + 256;
    if (bytes + size > REMOTE_BATCH_BYTES) await send();
    batch.push(doc);
    bytes += size;
  }
  await send();
  progress.done();
  return total;
}

function warnSkipped(skipped: string[]): void {
  if (skipped.length === 0) return;
  process.stderr.write(
    `${warn(`skipped ${plural(skipped.length, "file")} that ${skipped.length === 1 ? "is" : "are"} not a text document (${TEXT_EXTENSIONS_SHOWN}): ${shortList(skipped)}`)}\n`,
  );
}

function shortList(items: string[]): string {
  return items.slice(0, 10).join(", ") + (items.length > 10 ? `, and ${items.length - 10} more` : "");
}
