import { defineConfig } from "vitest/config";

// GPU tests share one software device per process: run files one at a time
// in a forked process (the Dawn addon is not safe to share across threads).
export default defineConfig({
  test: {
    pool: "forks",
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    include: ["**/*.test.ts"],
    exclude: ["**/node_modules/**"],
  },
});
