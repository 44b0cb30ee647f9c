// The dependency rules that keep fabra's layout (ARCHITECTURE.md, "Rules"): checked by `npm run lint:deps`.
/** Backend folders: only the registry (src/stores/index.ts) may load them, and only with a dynamic import(). */
const BACKENDS = "^src/stores/(duckdb|memory|postgres|redis|remote)/";
/** Type-only imports vanish at compile time, so they load nothing and never break a rule about loading code. */
const TYPE_ONLY = ["type-only", "type-import"];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "define-and-record-are-pure",
      comment:
        "src/define/ (what users write) and src/record/ (CRS-001, pure) import no engine, store, server, CLI, app, " +
        "api or remote code, not even types: they are the bottom layer everything else builds on.",
      severity: "error",
      from: { path: "^src/(define|record)/" },
      to: { path: "^src/(engine|stores|server|cli|app|api|remote)/" },
    },
    {
      name: "tlog-is-pure",
      comment:
        "src/tlog/ (RFC 6962 Merkle trees, C2SP signed notes and checkpoints) is pure like src/record/: it imports " +
        "only node:crypto and its own files, so the proofs it checks can be checked with nothing else loaded.",
      severity: "error",
      from: { path: "^src/tlog/" },
      to: { path: "^src/", pathNot: "^src/tlog/" },
    },
    {
      name: "record-imports-no-define",
      comment: "src/record/ is the record format alone: it does not know how contexts are defined.",
      severity: "error",
      from: { path: "^src/record/" },
      to: { path: "^src/define/" },
    },
    {
      name: "engine-uses-store-interfaces-only",
      comment:
        "src/engine/ sees stores through their interfaces (src/stores/types.ts). The one exception is " +
        "src/engine/create.ts, the composition root that turns a config into a runtime: it may call the registry " +
        "(src/stores/index.ts) to open the configured stores. Nothing in the engine imports a backend or per-kind " +
        "store plumbing.",
      severity: "error",
      from: { path: "^src/engine/" },
      to: {
        path: "^src/stores/",
        pathNot: ["^src/stores/types\\.ts$", "^src/stores/index\\.ts$"],
      },
    },
    {
      name: "engine-opens-stores-only-in-create",
      comment: "Only src/engine/create.ts opens stores from config (through the registry); the rest gets a `Stores`.",
      severity: "error",
      from: { path: "^src/engine/", pathNot: "^src/engine/create\\.ts$" },
      to: { path: "^src/stores/index\\.ts$", dependencyTypesNot: TYPE_ONLY },
    },
    {
      name: "only-the-registry-loads-backends",
      comment:
        "A backend folder is loaded by src/stores/index.ts alone (so pg, ioredis and DuckDB load only when " +
        "configured); a backend's own files may import each other. Type-only imports are fine anywhere.",
      severity: "error",
      from: { path: "^src/", pathNot: ["^src/stores/index\\.ts$", BACKENDS] },
      to: { path: BACKENDS, dependencyTypesNot: TYPE_ONLY },
    },
    {
      name: "backends-do-not-load-each-other",
      comment: "A backend folder does not load another backend's code (the registry wires them together).",
      severity: "error",
      from: { path: "^src/stores/([^/]+)/" },
      to: { path: BACKENDS, pathNot: "^src/stores/$1/", dependencyTypesNot: TYPE_ONLY },
    },
    {
      name: "the-registry-loads-backends-lazily",
      comment: "src/stores/index.ts imports backends with `await import(...)` only (or `import type`).",
      severity: "error",
      from: { path: "^src/stores/index\\.ts$" },
      to: { path: BACKENDS, dependencyTypesNot: ["dynamic-import", ...TYPE_ONLY] },
    },
    {
      name: "config-is-below-the-engine",
      comment:
        "src/config/ (schema, load, resolve: the only reader of process.env) is read by the engine, stores and " +
        "commands, so it imports none of them, not even their types (a config type lives in config/).",
      severity: "error",
      from: { path: "^src/config/" },
      to: { path: "^src/(engine|stores|server|cli|app|api|remote|io)/" },
    },
    {
      name: "io-and-util-are-plumbing",
      comment:
        "src/io/ (tables in and out) and src/util/ (duration, mask-url, ...) serve every layer, so they import no " +
        "engine, store, server, CLI, app, api or remote code (the store interfaces' types excepted: io reads the " +
        "events files a store's point-in-time join is given).",
      severity: "error",
      from: { path: "^src/(io|util)/" },
      to: { path: "^src/(engine|stores|server|cli|app|api|remote)/", pathNot: "^src/stores/types\\.ts$" },
    },
    {
      name: "shared-layers-import-no-server-or-cli",
      comment:
        "Only the CLI and the server sit on top: src/api/ (wire shapes shared by both), src/remote/, src/app/, " +
        "src/engine/ and src/stores/ import neither, and nothing outside src/cli/ imports the CLI.",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/(cli|server)/" },
      to: { path: "^src/(cli|server)/" },
    },
    {
      name: "the-viewer-sits-under-the-server",
      comment:
        "src/ui/ (the record viewer's pages) renders what the engine, the Ledger and api/ compute: it imports no " +
        "server or CLI code (the server mounts it, passing its auth in) and no store backend; only src/server/ " +
        "imports it.",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/(ui|server)/" },
      to: { path: "^src/ui/" },
    },
    {
      name: "server-imports-no-cli",
      comment: "The server is started by a command but never imports command code.",
      severity: "error",
      from: { path: "^src/server/" },
      to: { path: "^src/cli/" },
    },
    {
      name: "src-imports-no-tests-or-benchmarks",
      comment: "Shipped code never depends on test/ or bench/.",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^(test|bench)/" },
    },
    {
      name: "no-circular",
      comment:
        "Modules form no import cycles (type-only cycles are harmless at run time and not counted; nor are those " +
        "through the package root, which only the user-module loader imports, lazily: see the next rule).",
      severity: "error",
      from: { path: "^src/" },
      to: { circular: true, viaOnly: { dependencyTypesNot: TYPE_ONLY, pathNot: "^src/index\\.ts$" } },
    },
    {
      name: "package-root-is-for-users",
      comment:
        "src/index.ts is what user modules import as `fabra`; inside fabra only config/load.ts imports it, and only " +
        "lazily (a dynamic import runs once every module is evaluated), to hand user modules the package's own module.",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/config/load\\.ts$" },
      to: { path: "^src/index\\.ts$", dependencyTypesNot: TYPE_ONLY },
    },
    {
      name: "package-root-only-lazily",
      comment: "See package-root-is-for-users.",
      severity: "error",
      from: { path: "^src/config/load\\.ts$" },
      to: { path: "^src/index\\.ts$", dependencyTypesNot: ["dynamic-import", ...TYPE_ONLY] },
    },
    {
      name: "not-to-unresolvable",
      comment: "Every import resolves (a typo or a moved file fails here, before the build).",
      severity: "error",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(dist|node_modules)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      mainFields: ["module", "main", "types", "typings"],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
