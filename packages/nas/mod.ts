// Public API of @fairnas/nas.
export {
  validateSpace,
  resolveSpace,
  expandedWidth,
  seWidth,
  choiceToken,
  convOut,
} from "./src/space/spec.ts";
export type {
  ChoiceSpec,
  SeSpec,
  SpaceSpec,
  LayerGeom,
  FirstBlockGeom,
  ConvGeom,
  HeadGeom,
  ResolvedSpace,
} from "./src/space/spec.ts";
export { PRESETS, getSpace, loadSpaceFile, SPACES_DIR } from "./src/space/presets.ts";
export {
  archToString,
  parseArch,
  archHash,
  archLabels,
  randomArch,
  largestArch,
  smallestArch,
  checkArch,
} from "./src/space/arch.ts";
export type { Arch } from "./src/space/arch.ts";
export {
  costOf,
  blockCost,
  costTable,
  CostTable,
  shapeCost,
  blockShapeKey,
  COST_CONVENTION,
} from "./src/space/cost.ts";
export type { LayerCost, NetCost, BlockShape } from "./src/space/cost.ts";
export {
  kendallTauB,
  kendallTauBNaive,
  spearman,
  bootstrapCi,
  topKOverlap,
} from "./src/ranking/stats.ts";
export type {
  Corr,
  Undefined,
  CorrStat,
  BootstrapOptions,
  BootstrapCi,
} from "./src/ranking/stats.ts";
export { Supernet } from "./src/supernet/network.ts";
export { SupernetModel } from "./src/supernet/model.ts";
export type { BnMode, BnStats, ForwardOptions, PathResult } from "./src/supernet/network.ts";
export { Param, ParamGroup, BnState } from "./src/supernet/params.ts";
export { exportState, importState } from "./src/supernet/state.ts";
export {
  SAMPLER_NAMES,
  isSamplerName,
  planStep,
  fairPaths,
  uniformPath,
  FairnessCounter,
} from "./src/train/sampler.ts";
export type { SamplerName, StepPlan } from "./src/train/sampler.ts";
export { learningRate } from "./src/train/schedule.ts";
export type { ScheduleSpec } from "./src/train/schedule.ts";
export {
  SupernetTrainer,
  NonFiniteLossError,
  upload,
  batchesPerStep,
  updatesPerStep,
} from "./src/train/trainer.ts";
export type {
  TrainableModel,
  PathOptions,
  DeviceBatch,
  BatchSource,
  HostBatch,
  StepConfig,
  StepResult,
  OptimConfig,
} from "./src/train/trainer.ts";
export { evaluateArch, recalibrate, populationStats } from "./src/eval/evaluate.ts";
export type { BnEvalMode, Score, EvalData } from "./src/eval/evaluate.ts";
export { trainLoop, restoreSupernet, CHECKPOINT_FORMAT } from "./src/train/loop.ts";
export type {
  LoopOptions,
  LoopHooks,
  StepReport,
  SupernetCheckpointMeta,
  PositionedSource,
} from "./src/train/loop.ts";
export {
  loadDataset,
  splitTrainVal,
  drawnSubset,
  computeNormalization,
  DEFAULT_DATA_DIR,
  SPLIT_STREAM,
  DatasetError,
} from "./src/data/dataset.ts";
export type {
  ImageSet,
  Normalization,
  DatasetFormat,
  LoadedDataset,
  TrainValSplit,
} from "./src/data/dataset.ts";
export {
  BatchStream,
  BatchPreparer,
  DATA_STREAM,
  AUG_STREAM,
  settleState,
  advanceState,
} from "./src/data/batches.ts";
export type {
  BatchOptions,
  Batch,
  StreamState,
  Augment,
  WorkerOptions,
} from "./src/data/batches.ts";
export {
  saveCheckpoint,
  loadCheckpoint,
  CheckpointError,
  CHECKPOINT_VERSION,
} from "./src/checkpoint.ts";
export type { Checkpoint } from "./src/checkpoint.ts";
export { runSearch, ppoMixAt, buildLayerCostTable, violation } from "./src/search/search.ts";
export type {
  Objectives,
  Costs,
  CostKey,
  Constraint,
  RefPoint,
  SearchConfig,
  GenerationLog,
  PpoLog,
  FrontMember,
  SearchResult,
  LayerCostTable,
} from "./src/search/search.ts";
export {
  dominates,
  constrainedDominates,
  fastNonDominatedSort,
  crowdingDistance,
  rankAndCrowding,
  crowdedBetter,
  tournament,
  uniformCrossover,
  mutateLayers,
  environmentalSelection,
} from "./src/search/nsga2.ts";
export type { RankCrowding } from "./src/search/nsga2.ts";
export { hypervolume } from "./src/search/hypervolume.ts";
export { costText } from "./src/search/costs.ts";
export { PpoPolicy, applyAction } from "./src/search/ppo.ts";
export type { PpoConfig, PpoSample, PpoAct, PpoStats } from "./src/search/ppo.ts";
export {
  LATENCY_FORMAT,
  LATENCY_VERSION,
  STEM_KEY,
  FIRST_KEY,
  HEAD_KEY,
  blockKey,
  latencyKeys,
  summarize,
  sameAdapter,
  adapterText,
  fingerprintOf,
  latencyTableJson,
  parseLatencyTable,
  loadLatencyTable,
  tableSpace,
  lookupLatency,
  latencyModel,
} from "./src/latency/table.ts";
export type {
  AdapterFingerprint,
  LatencyStats,
  LatencyTable,
  LatencyModel,
} from "./src/latency/table.ts";
export {
  DEFAULT_TIMING,
  timeRepeated,
  stemInfer,
  firstInfer,
  blockInfer,
  headInfer,
  pathInfer,
  randomInput,
  buildLatencyTable,
  measureNetwork,
} from "./src/latency/measure.ts";
export type { TimingOptions, BuildOptions } from "./src/latency/measure.ts";
export {
  candidateTable,
  checkTable,
  accuracyLoss,
  maxLossPerLayer,
  startpoint,
} from "./src/ponas/table.ts";
export type { CandidateTable } from "./src/ponas/table.ts";
export { specializeExact, specializeGreedy, sweep } from "./src/ponas/specialize.ts";
export type { Budget, SpecializeInput, Specialized, SweepPoint } from "./src/ponas/specialize.ts";
export {
  metaArch,
  blockDims,
  leadingBlock,
  centreCrop,
  sliceBlock,
  blockTensors,
  readBlock,
  inheritWeights,
} from "./src/ponas/inherit.ts";
export type { InheritMode, BlockDims, BlockArrays, InheritReport } from "./src/ponas/inherit.ts";
export { FixedPathModel, LayerCandidatesModel } from "./src/ponas/paths.ts";
export { progressiveTable, rowArch } from "./src/ponas/progressive.ts";
export type { TableRow, ProgressiveOptions, ProgressiveResult } from "./src/ponas/progressive.ts";
export {
  PONAS_TABLE_FORMAT,
  tableFile,
  parseTableFile,
  tableLoss,
  tableMaxLoss,
  specializeInput,
  specializeTable,
  tableArchString,
  predictedTop1,
  latencyCostsFromJson,
} from "./src/ponas/saved.ts";
export type { PonasTableFile, LatencyCosts, TableAnswer } from "./src/ponas/saved.ts";
export { buildPathNet, StandaloneModel } from "./src/standalone/path-net.ts";
export {
  trainStandalone,
  standaloneSteps,
  STANDALONE_CHECKPOINT_FORMAT,
} from "./src/standalone/train.ts";
export type {
  StandaloneSpec,
  StandaloneData,
  StandaloneHooks,
  StandaloneOutcome,
} from "./src/standalone/train.ts";
export {
  GROUND_TRUTH_FORMAT,
  GroundTruthMixError,
  parseGroundTruth,
  checkComparable,
  comparisonKey,
} from "./src/standalone/record.ts";
export type {
  GroundTruthRecord,
  GroundTruthSplit,
  GroundTruthBudget,
  EpochRecord,
} from "./src/standalone/record.ts";
export { stratifiedSample, maddsRange, distinctMadds } from "./src/ranking/stratified.ts";
export type { StratifiedOptions, StratifiedResult, CostBin } from "./src/ranking/stratified.ts";
export { analyseRanking, describeAnalysis } from "./src/ranking/analysis.ts";
export type { RankPoint, RankAnalysis, RankAnalysisOptions } from "./src/ranking/analysis.ts";
export { featureSimilarity, channelCosine } from "./src/ranking/similarity.ts";
export type { SimilarityResult } from "./src/ranking/similarity.ts";
