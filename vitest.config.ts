// Three test projects, named by what a test needs: unit (in-process, no services, no child processes),
// integration (real Postgres/Redis, PGlite or an in-process HTTP server), e2e (runs the built CLI).
import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Files run in parallel; the integration and e2e suites share one Postgres and one Redis, each file on its own
    // schema / key prefix.
    pool: "forks",
    // One worker per core (vitest's default leaves one idle: a single worker on a 2-core machine). Most of a worker's
    // time goes to waiting on child processes, Postgres and servers, so the cores stay busy without oversubscribing.
    maxWorkers: availableParallelism(),
    minWorkers: 1,
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
