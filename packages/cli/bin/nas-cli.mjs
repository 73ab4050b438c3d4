#!/usr/bin/env node
// Runs the TypeScript sources directly: no build step for users.
import { register } from "tsx/esm/api";

register();
// Ctrl-C or SIGTERM: say where things stand instead of vanishing. Training
// writes checkpoints atomically, so stopping here loses at most the steps
// since the last one; commands that train take --resume to continue from it.
const argv = process.argv.slice(2);
const { onInterrupt } = await import("../src/interrupt.ts");
onInterrupt(argv);
const { main } = await import("../src/main.ts");
process.exitCode = await main(argv);
