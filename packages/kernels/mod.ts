// Public API of @fairnas/kernels.
export { Gpu, GpuError, f32 } from "./src/runtime/gpu.ts";
export type {
  AdapterDescription,
  Dispatch,
  GpuOptions,
  KernelSource,
  ParamWord,
} from "./src/runtime/gpu.ts";
export { BufferPool, sizeClass } from "./src/runtime/pool.ts";
export type { PoolStats } from "./src/runtime/pool.ts";
export {
  Tensor,
  numel,
  shapeStr,
  expectShape,
  expectRank,
  expectDistinct,
} from "./src/runtime/tensor.ts";
export type { Shape } from "./src/runtime/tensor.ts";
export { wgsl, fillTemplate } from "./src/runtime/wgsl.ts";
export { laneSpread, setLaneSpread } from "./src/runtime/spread.ts";
export { Logger, memoryLogger } from "./src/log.ts";
export type { Level, Sink } from "./src/log.ts";
export { flags, FLAG_SPECS } from "./src/flags.ts";
export { Rng } from "./src/rng.ts";
export type { RngState } from "./src/rng.ts";
export { relu6, relu6Backward } from "./src/ops/elementwise.ts";
export {
  dwconv,
  dwconvBackwardInput,
  dwconvBackwardWeight,
  dwconvOutSize,
  selectDwconv,
  setSlideStripHeights,
} from "./src/ops/dwconv.ts";
export type { DwconvOptions, DwconvKernel, SlidePass } from "./src/ops/dwconv.ts";
export { globalAvgPool, globalAvgPoolBackward } from "./src/ops/pool.ts";
export { add, addInto, scaleInto } from "./src/ops/arith.ts";
export {
  batchNormTrain,
  batchNormTrainDeferred,
  batchNormInfer,
  batchNormInferDeferred,
  batchNormApply,
  batchNormBackward,
  batchNormStats,
  selectBatchNormVariant,
  forceBatchNormVariant,
} from "./src/ops/batchnorm.ts";
export type {
  BnParams,
  BnPrologue,
  BnSaved,
  BnTrainOptions,
  BnVariant,
} from "./src/ops/batchnorm.ts";
export { softmaxCrossEntropy } from "./src/ops/loss.ts";
export type { CrossEntropyOptions } from "./src/ops/loss.ts";
export {
  channelScale,
  channelScaleBackward,
  sigmoid,
  sigmoidBackward,
  relu,
  reluBackward,
  selectSeVariant,
  forceSeVariant,
} from "./src/ops/se.ts";
export type { SeVariant } from "./src/ops/se.ts";
export {
  pwconv,
  pwconvBackwardInput,
  pwconvBackwardWeight,
  selectPwconvVariant,
  PWCONV_CONFIG,
} from "./src/ops/pwconv.ts";
export type { PwconvVariant } from "./src/ops/pwconv.ts";
export {
  conv2d,
  conv2dBackwardInput,
  conv2dBackwardWeight,
  conv2dOutSize,
  selectConv2dVariant,
} from "./src/ops/conv2d.ts";
export type { Conv2dOptions, Conv2dVariant } from "./src/ops/conv2d.ts";
export { linear, linearBackwardInput, linearBackwardParams } from "./src/ops/linear.ts";
export {
  dropout,
  dropoutBackward,
  selectDropoutVariant,
  forceDropoutVariant,
} from "./src/ops/dropout.ts";
export type { DropoutOptions, DropoutVariant } from "./src/ops/dropout.ts";
export { sgdUpdate, selectSgdVariant, forceSgdVariant } from "./src/ops/sgd.ts";
export type { SgdOptions, SgdVariant } from "./src/ops/sgd.ts";
export type { PwconvPass } from "./src/ops/pwconv.ts";
export {
  benchKernels,
  targetReport,
  DEFAULT_SHAPES,
  TARGET_BLOCK,
  BENCH_TARGETS,
} from "./bench/kernels.ts";
export type {
  BenchOptions,
  BenchResult,
  BenchKernelResult,
  BenchBlockResult,
  BenchSpace,
  BenchLayer,
} from "./bench/kernels.ts";
export { GpuTimer, median } from "./src/runtime/timing.ts";
