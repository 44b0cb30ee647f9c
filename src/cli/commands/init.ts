// `fabra init [dir]`: scaffold a working project from a template.
import type { Command } from "commander";
import { initProject, TEMPLATES } from "../../scaffold.js";
import { print } from "../options.js";
import { dim, ok } from "../render/format.js";

export function registerInit(program: Command): void {
  program
    .command("init [dir]")
    .description("Create a fabra project (config, features, retrievers, contexts, sample docs)")
    .option("-t, --template <name>", `template: ${TEMPLATES.join(" | ")}`, "rag")
    .option("--force", "overwrite files that already exist")
    .action(async (dir: string | undefined, flags: { template: string; force?: boolean }) => {
      const result = await initProject({ dir: dir ?? ".", template: flags.template, force: flags.force });
      print(ok(`Created a ${result.template} project in ${result.dir}`));
      for (const f of result.files) print(dim(`  ${f}`));
      print("");
      print(`Next: ${dir ? `cd ${dir} && ` : ""}${result.template === "rag" ? "fabra index add docs --index support_docs && " : ""}fabra context run ${result.template === "rag" ? "supportContext --input userId=u_1 --input query=\"reset password\"" : "greetingContext --input userId=u_1 --input message=hi"}`);
    });
}
