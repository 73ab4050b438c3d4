// Public API of @fairnas/kernels.
export { Gpu, GpuError, f32 } from "./src/runtime/gpu.ts";
export type { AdapterDescription, Dispatch, GpuOptions, KernelSource, ParamWord } from "./src/runtime/gpu.ts";
export { BufferPool, sizeClass } from "./src/runtime/pool.ts";
export type { PoolStats } from "./src/runtime/pool.ts";
export { Tensor, numel, shapeStr, expectShape, expectRank } from "./src/runtime/tensor.ts";
export type { Shape } from "./src/runtime/tensor.ts";
export { wgsl, fillTemplate } from "./src/runtime/wgsl.ts";
export { Logger, memoryLogger } from "./src/log.ts";
export type { Level, Sink } from "./src/log.ts";
export { flags, FLAG_SPECS } from "./src/flags.ts";
export { Rng } from "./src/rng.ts";
export type { RngState } from "./src/rng.ts";
export { relu6, relu6Backward } from "./src/ops/elementwise.ts";
export { dwconv, dwconvBackwardInput, dwconvBackwardWeight, dwconvOutSize, selectDwconv } from "./src/ops/dwconv.ts";
export type { DwconvOptions, DwconvKernel } from "./src/ops/dwconv.ts";
export { globalAvgPool, globalAvgPoolBackward } from "./src/ops/pool.ts";
export { add, addInto, scaleInto } from "./src/ops/arith.ts";
