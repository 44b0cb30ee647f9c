// `fabra demo`: zero-config, end to end in a temp dir — init, index docs, assemble twice, show and verify a record
// (its content printed once, there), then commands to explore that work where they are printed.
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import chalk from "chalk";
import type { Command } from "commander";
import { readDocuments } from "../../engine/retrieval/documents.js";
import { withFabra } from "../../app/project.js";
import { currentEnv } from "../../config/env.js";
import { FABRA_PACKAGE_ROOT, fabraInstalledFor, initProject } from "../../app/init.js";
import { print } from "../options.js";
import { shellWord } from "../shell-word.js";
import { renderAssembly } from "../render/assembly-view.js";
import { dim, heading, ok } from "../render/format.js";
import { renderRecord } from "../render/record-view.js";
import { plural } from "../../util/plural.js";

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description("Run fabra end to end in a temp project: init, index docs, assemble, show and verify a record")
    .option("--dir <dir>", "where to create the demo project (default: a new temp dir)")
    .action(async (flags: { dir?: string }) => {
      const dir = flags.dir ?? (await mkdtemp(join(tmpdir(), "fabra-demo-")));
      const step = (n: number, text: string) => print(`\n${chalk.bold.cyan(`[${n}/5]`)} ${chalk.bold(text)}`);

      step(1, "Create a project from the rag template");
      await initProject({ dir, template: "rag" });
      print(
        ok(`project in ${dir} (local mode: embedded DuckDB at .fabra/fabra.duckdb, in-memory cache and vector index)`),
      );

      // The demo's ledger is the project's own file, whatever FABRA_DUCKDB_PATH says.
      const env = currentEnv({ FABRA_DUCKDB_PATH: join(dir, ".fabra", "fabra.duckdb") });
      const second = await withFabra({ cwd: dir, env }, async (fabra) => {
        step(2, "Index the sample docs into support_docs");
        const docs = await readDocuments(["docs"], dir);
        const indexed = await fabra.index.add("support_docs", docs);
        print(ok(`${plural(indexed.documents, "document")} → ${plural(indexed.chunks, "chunk")}`));

        step(3, 'Assemble supportContext for u_1: "How do I reset my password?"');
        const first = await fabra.assemble("supportContext", { userId: "u_1", query: "How do I reset my password?" });
        print(renderAssembly(first, { content: false }));

        step(
          4,
          'Assemble again for u_1: "What happens when I exceed the API rate limit?" (features now come from the cache)',
        );
        const second = await fabra.assemble("supportContext", {
          userId: "u_1",
          query: "What happens when I exceed the API rate limit?",
        });
        print(renderAssembly(second, { content: false }));

        step(5, `Read record ${second.id} back from the ledger, verify it, and show its content`);
        // Verified as `context verify` would: with the demo project's signing mode and FABRA_SIGNING_KEY.
        const { record, verification } = await fabra.ledger.getVerified(second.id);
        print(renderRecord(record, verification));
        if (!verification.ok) process.exitCode = 1;
        return second;
      });

      // The wall time of the whole command: performance.now() counts from the process's start.
      const seconds = (performance.now() / 1000).toFixed(1);
      print(`\n${heading("Done")}${dim(` in ${seconds}s. Explore the records (from here, or cd into the project):`)}`);
      // `npx fabra` only where it finds fabra installed: elsewhere npx would fetch another package from the registry.
      const fabraCommand = fabraInstalledFor(process.cwd())
        ? "npx fabra"
        : `node ${shellWord(join(FABRA_PACKAGE_ROOT, "bin", "fabra.js"))}`;
      const config = shellWord(join(dir, "fabra.config.ts"));
      print(`  ${fabraCommand} -c ${config} context list`);
      print(`  ${fabraCommand} -c ${config} context show ${second.id}`);
      print(`  ${fabraCommand} -c ${config} context verify --all`);
    });
}
