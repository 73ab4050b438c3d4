// Public API of @fairnas/nas.
export { validateSpace, resolveSpace, expandedWidth, seWidth, choiceToken, convOut } from "./src/space/spec.ts";
export type { ChoiceSpec, SeSpec, SpaceSpec, LayerGeom, FirstBlockGeom, ConvGeom, HeadGeom, ResolvedSpace } from "./src/space/spec.ts";
export { PRESETS, getSpace, loadSpaceFile, SPACES_DIR } from "./src/space/presets.ts";
export { archToString, parseArch, archHash, archLabels, randomArch, largestArch, smallestArch, checkArch } from "./src/space/arch.ts";
export type { Arch } from "./src/space/arch.ts";
export { costOf, blockCost, costTable, CostTable, shapeCost, blockShapeKey, COST_CONVENTION } from "./src/space/cost.ts";
export type { LayerCost, NetCost, BlockShape } from "./src/space/cost.ts";
export { kendallTauB, kendallTauBNaive, spearman, bootstrapCi, topKOverlap } from "./src/ranking/stats.ts";
export type { Corr, Undefined, CorrStat, BootstrapOptions, BootstrapCi } from "./src/ranking/stats.ts";
