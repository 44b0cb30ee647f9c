// `fabra init [dir]`: scaffold a working project from a template.
import type { Command } from "commander";
import { FABRA_PACKAGE_ROOT, fabraInstalledFor, initProject, TEMPLATES } from "../../app/init.js";
import { print } from "../options.js";
import { shellWord } from "../shell-word.js";
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
      // fabra is not on the npm registry: `npx fabra` must find it installed, or npx would fetch another package.
      const install = fabraInstalledFor(result.dir) ? [] : [`npm install --save-dev ${shellWord(FABRA_PACKAGE_ROOT)}`];
      const steps = [
        ...(dir ? [`cd ${shellWord(dir)}`] : []),
        ...install,
        ...(result.template === "rag" ? ["npx fabra index add docs --index support_docs"] : []),
        result.template === "rag"
          ? 'npx fabra context run supportContext --input userId=u_1 --input query="reset password"'
          : "npx fabra context run greetingContext --input userId=u_1 --input message=hi",
      ];
      print(`Next: ${steps.join(" && ")}`);
    });
}
