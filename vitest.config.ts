import { defineConfig } from "vitest/config";

// Test files run in parallel, each in its own forked process; integration tests isolate
// themselves with a PostgreSQL schema (or an in-memory PGlite) per file via test/helpers/db.ts.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
    pool: "forks",
    fileParallelism: true,
    // Integration tests migrate a fresh database and drive real PostgreSQL and Redis.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The ledger must be deterministic; a flaky test is a bug, not something to retry.
    retry: 0,
  },
});
