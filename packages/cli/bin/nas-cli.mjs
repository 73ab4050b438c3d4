#!/usr/bin/env node
// Runs the TypeScript sources directly: no build step for users.
import { register } from "tsx/esm/api";

register();
// Ctrl-C: say where things stand instead of vanishing. Training writes
// checkpoints atomically, so stopping here loses at most the steps since the
// last one; the same command with --resume continues from it.
process.once("SIGINT", () => {
  process.stderr.write(
    "\ninterrupted: checkpoints on disk are complete; " +
      "rerun the same command with --resume to continue\n",
  );
  process.exit(130);
});
const { main } = await import("../src/main.ts");
process.exitCode = await main(process.argv.slice(2));
