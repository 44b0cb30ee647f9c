// Three test projects, named by what a test needs: unit (in-process, no services, no child processes),
// integration (real Postgres/Redis, PGlite or an in-process HTTP server), e2e (runs the built CLI).
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Files run in parallel; the integration and e2e suites share one Postgres and one Redis, each file on its own
    // schema / key prefix.
    pool: "forks",
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
