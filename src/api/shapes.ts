// The snake_case JSON shapes results take on the wire (HTTP API) and in the CLI's `--format json` output, so both
// agree: one module per resource, each shape with its zod schema, its type and its inverse. This module gathers them.
export * from "./contexts.js";
export * from "./features.js";
export * from "./ledger-rows.js";
export * from "./materialize.js";
export * from "./verification.js";
export { parseShape } from "./wire.js";
export * from "./explain.js";
