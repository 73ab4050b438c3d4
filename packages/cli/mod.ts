// Public API of @fairnas/cli: the command entry point, for tests and scripts.
export { main } from "./src/main.ts";
export { resolveConfig, RUN_PRESETS, configTable } from "./src/config.ts";
export type { RunConfig } from "./src/config.ts";
export {
  searchStage,
  SearchInfeasibleError,
  SEARCH_ALGOS,
  frontJson,
} from "./src/stages/search-stage.ts";
export type {
  SearchAlgo,
  SearchStageOptions,
  SearchStageResult,
  ParetoEntry,
} from "./src/stages/search-stage.ts";
export { openRun } from "./src/session.ts";
export type { OpenRun } from "./src/session.ts";
