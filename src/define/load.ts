// Loads the user's definition modules (TypeScript or JavaScript) named in the config and collects their exports.
import { importUserModule } from "../config/load.js";
import { addDefinitions, emptyDefinitions, type Definitions } from "./collect.js";

export async function loadDefinitionModules(paths: readonly string[]): Promise<Definitions> {
  const definitions = emptyDefinitions();
  for (const path of paths) addDefinitions(definitions, await importUserModule(path), path);
  return definitions;
}
