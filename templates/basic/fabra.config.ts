// fabra config for {{name}}. Local mode: embedded DuckDB and an in-memory cache — no services needed.
import { defineConfig } from "fabra";

export default defineConfig({
  project: "{{name}}",
  definitions: ["./features.ts", "./contexts.ts"],
  stores: {
    offline: { type: "duckdb", path: ".fabra/fabra.duckdb" },
    online: { type: "memory" },
  },
});
