// The dependency rules in .dependency-cruiser.cjs catch what they are for: run on a small made-up tree that breaks
// each rule once (and keeps the allowed patterns), they name exactly those imports.
import { createRequire } from "node:module";
import { cruise, type IConfiguration, type ICruiseResult } from "dependency-cruiser";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/cli.js";
import { tempDir, writeFiles } from "../helpers/temp.js";

const config = createRequire(import.meta.url)(`${ROOT}/.dependency-cruiser.cjs`) as IConfiguration;

const TREE = {
  // Allowed: engine → store interfaces (types) and create.ts → the registry; the registry → backends lazily or as
  // types; a backend's own files; config → util.
  "src/stores/types.ts": "export interface Store { n: number }\n",
  "src/stores/index.ts":
    'import type { Pool } from "./postgres/pool.js";\nexport const open = () => import("./postgres/records.js");\nexport type { Pool };\n',
  "src/stores/postgres/pool.ts": "export interface Pool { size: number }\n",
  "src/stores/postgres/records.ts":
    'import type { Pool } from "./pool.js";\nexport const records = (p: Pool) => p.size;\n',
  "src/engine/read.ts": 'import type { Store } from "../stores/types.js";\nexport const read = (s: Store) => s.n;\n',
  "src/engine/create.ts": 'import { open } from "../stores/index.js";\nexport const create = open;\n',
  "src/util/mask.ts": "export const mask = (s: string) => s;\n",
  "src/config/printable.ts": 'import { mask } from "../util/mask.js";\nexport const printable = mask;\n',
  // Broken, once each.
  "src/define/feature.ts": 'import { read } from "../engine/read.js";\nexport const feature = read;\n',
  "src/record/verify.ts": 'import type { Store } from "../stores/types.js";\nexport type V = Store;\n',
  "src/engine/training.ts": 'import { records } from "../stores/postgres/records.js";\nexport const t = records;\n',
  "src/engine/assemble.ts": 'import { open } from "../stores/index.js";\nexport const a = open;\n',
  "src/stores/redis/online.ts": 'import { records } from "../postgres/records.js";\nexport const o = records;\n',
  "src/stores/eager.ts": 'import { records } from "./postgres/records.js";\nexport const e = records;\n',
  "src/config/resolve.ts": 'import type { Store } from "../stores/types.js";\nexport type C = Store;\n',
  "src/io/csv.ts": 'import { read } from "../engine/read.js";\nexport const csv = read;\n',
  "src/app/doctor.ts": 'import { serve } from "../server/serve.js";\nexport const doctor = serve;\n',
  "src/server/serve.ts": 'import { main } from "../cli/main.js";\nexport const serve = main;\n',
  "src/cli/main.ts": "export const main = () => 0;\n",
  "src/util/fixture.ts": 'import { h } from "../../test/helper.js";\nexport const f = h;\n',
  "test/helper.ts": "export const h = 1;\n",
  "src/app/ping.ts": 'import { pong } from "./pong.js";\nexport const ping = () => pong;\n',
  "src/app/pong.ts": 'import { ping } from "./ping.js";\nexport const pong = () => ping;\n',
  "src/app/missing.ts": 'import { nothing } from "./nowhere.js";\nexport const m = nothing;\n',
};

async function violations(): Promise<string[]> {
  const dir = writeFiles(tempDir("fabra-depcruise-"), TREE);
  const { tsConfig: _ignored, ...options } = config.options ?? {};
  const result = await cruise(["src"], {
    ...options,
    baseDir: dir,
    validate: true,
    ruleSet: { forbidden: config.forbidden },
  });
  const output = result.output as ICruiseResult;
  return output.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort();
}

describe("dependency rules", () => {
  it("name every broken import in a made-up tree, and nothing the layout allows", async () => {
    expect(await violations()).toEqual(
      [
        "define-and-record-are-pure: src/define/feature.ts → src/engine/read.ts",
        "define-and-record-are-pure: src/record/verify.ts → src/stores/types.ts",
        "engine-uses-store-interfaces-only: src/engine/training.ts → src/stores/postgres/records.ts",
        "only-the-registry-loads-backends: src/engine/training.ts → src/stores/postgres/records.ts",
        "engine-opens-stores-only-in-create: src/engine/assemble.ts → src/stores/index.ts",
        "backends-do-not-load-each-other: src/stores/redis/online.ts → src/stores/postgres/records.ts",
        "only-the-registry-loads-backends: src/stores/eager.ts → src/stores/postgres/records.ts",
        "config-is-below-the-engine: src/config/resolve.ts → src/stores/types.ts",
        "io-and-util-are-plumbing: src/io/csv.ts → src/engine/read.ts",
        "shared-layers-import-no-server-or-cli: src/app/doctor.ts → src/server/serve.ts",
        "server-imports-no-cli: src/server/serve.ts → src/cli/main.ts",
        "src-imports-no-tests-or-benchmarks: src/util/fixture.ts → test/helper.ts",
        "no-circular: src/app/ping.ts → src/app/pong.ts",
        "not-to-unresolvable: src/app/missing.ts → ./nowhere.js",
      ].sort(),
    );
  }, 30_000);
});
