// Public API of @fairnas/cli: the command entry point, for tests and scripts.
export { main } from "./src/main.ts";
export { resolveConfig, RUN_PRESETS, configTable } from "./src/config.ts";
export type { RunConfig } from "./src/config.ts";
