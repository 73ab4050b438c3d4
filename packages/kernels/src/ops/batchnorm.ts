// Host side of batch norm over all leading dims of x: [..., C] (folded to
// [M, C]). Statistics are a chunked reduction over M (partials, then a
// fixed-order Chan merge per channel); apply and backward are element-wise
// over column-per-invocation slices, vec4 along C when C % 4 == 0.
// Dispatches: train 3, infer 2, backward 3, stats 2.

import { f32, type Gpu, type ParamWord } from "../runtime/gpu.ts";
import { expectDistinct, expectShape, shapeStr, type Tensor } from "../runtime/tensor.ts";
import { laneSpread, SPREAD_WGSL } from "../runtime/spread.ts";
import { fillTemplate, wgsl } from "../runtime/wgsl.ts";

export interface BnParams {
  readonly gamma: Tensor;
  readonly beta: Tensor;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
}
/** Batch stats [C] for backward; the caller disposes them. */
export interface BnSaved {
  readonly mean: Tensor;
  readonly invStd: Tensor;
}
export interface BnTrainOptions {
  readonly momentum: number;
  readonly eps: number;
  readonly relu6?: boolean;
  /** Default true. */
  readonly updateRunning?: boolean;
}

/**
 * A batch norm (and optional ReLU6) left for its consumer to apply as it
 * loads its input: v' = (v - coef[0]) * coef[1] + coef[2], then clamped to
 * [0, 6] when `relu6`. coef is [3, C] (mean, gamma * invStd, beta) from the
 * train or infer statistics. The pointwise and depthwise kernels that read
 * activations take it (`pre`), so the normalized tensor is never written;
 * kernels without it materialize it with `batchNormApply`.
 */
export interface BnPrologue {
  readonly coef: Tensor;
  readonly relu6: boolean;
}

/** naive: one chunk, scalar; scalar: many chunks; vec4: many chunks, 4 channels. */
export type BnVariant = "naive" | "scalar" | "vec4";

const CONFIG = {
  WG: 64,
  /** Rows per invocation in the element-wise passes. */
  APPLY_ROWS: 8,
  /** The reduction aims for about this many invocations... */
  TARGET_INVOCATIONS: 8192,
  /** ...with chunks of at least this many rows... */
  MIN_CHUNK_ROWS: 16,
  /** ...and at most this many partials per channel to merge. */
  MAX_CHUNKS: 1024,
} as const;

let forced: BnVariant | null = null;

/** Tests pin a variant with this; null restores automatic selection. */
export function forceBatchNormVariant(v: BnVariant | null): void {
  forced = v;
}

export function selectBatchNormVariant(C: number): BnVariant {
  if (forced === "vec4" && C % 4 !== 0) {
    throw new Error(`batchNorm: the vec4 variant needs C % 4 == 0, got C=${C}`);
  }
  return forced ?? (C % 4 === 0 ? "vec4" : "scalar");
}

interface Plan {
  readonly variant: BnVariant;
  readonly lanes: number;
  readonly M: number;
  readonly C: number;
  readonly cols: number;
  readonly chunkRows: number;
  readonly chunks: number;
}

function plan(op: string, x: Tensor): Plan {
  if (x.shape.length < 2) {
    throw new Error(`${op}: x must be [..., C] with at least 2 dims, got ${shapeStr(x.shape)}`);
  }
  const C = x.shape[x.shape.length - 1];
  const M = x.size / Math.max(C, 1);
  if (M < 1 || C < 1) throw new Error(`${op}: x ${shapeStr(x.shape)} is empty`);
  const variant = selectBatchNormVariant(C);
  const lanes = variant === "vec4" ? 4 : 1;
  const cols = C / lanes;
  if (variant === "naive") return { variant, lanes, M, C, cols, chunkRows: M, chunks: 1 };
  const want = Math.ceil(CONFIG.TARGET_INVOCATIONS / cols);
  const byRows = Math.max(1, Math.floor(M / CONFIG.MIN_CHUNK_ROWS));
  const target = Math.max(1, Math.min(want, byRows, CONFIG.MAX_CHUNKS));
  const chunkRows = Math.ceil(M / target);
  return { variant, lanes, M, C, cols, chunkRows, chunks: Math.ceil(M / chunkRows) };
}

function typeOf(pl: Plan): string {
  return pl.lanes === 4 ? "vec4<f32>" : "f32";
}

function groups(count: number): number {
  return Math.ceil(count / CONFIG.WG);
}

function applyGroups(pl: Plan): number {
  return groups(pl.cols * Math.ceil(pl.M / CONFIG.APPLY_ROWS));
}

function checkParams(op: string, p: BnParams, C: number): void {
  expectShape(op, "gamma", p.gamma, [C]);
  expectShape(op, "beta", p.beta, [C]);
  expectShape(op, "runningMean", p.runningMean, [C]);
  expectShape(op, "runningVar", p.runningVar, [C]);
}

/**
 * The running statistics are updated in place: each must be its own
 * buffer, read by nothing else.
 */
function checkRunningDistinct(op: string, p: BnParams): void {
  const params = [
    ["gamma", p.gamma],
    ["beta", p.beta],
  ] as const;
  expectDistinct(op, ["runningMean", p.runningMean], ...params, ["runningVar", p.runningVar]);
  expectDistinct(op, ["runningVar", p.runningVar], ...params);
}

/**
 * eps is added to the variance; momentum (null in inference) weighs the
 * batch in the running statistics.
 */
function checkOptions(op: string, eps: number, momentum: number | null): void {
  if (!(Number.isFinite(eps) && eps >= 0)) {
    throw new Error(`${op}: eps must be a finite number >= 0, got ${eps}`);
  }
  if (momentum !== null && !(momentum >= 0 && momentum <= 1)) {
    throw new Error(`${op}: momentum must be in [0, 1], got ${momentum}`);
  }
}

function finalizeParams(pl: Plan, momentum: number, eps: number, flags: number): ParamWord[] {
  return [pl.C, pl.chunks, pl.chunkRows, pl.M, f32(momentum), f32(eps), flags];
}

function finalizePipe(gpu: Gpu, entry: string): GPUComputePipeline {
  return gpu.pipeline({
    name: `batchnorm.finalize.${entry}`,
    code: wgsl("batchnorm.finalize.wgsl"),
    entryPoint: entry,
    constants: { WG: CONFIG.WG },
  });
}

/** Records the partial-moment pass; returns part [2, chunks, C]. */
function recordMoments(gpu: Gpu, x: Tensor, pl: Plan): Tensor {
  const part = gpu.empty([2, pl.chunks, pl.C], "batchnorm.part");
  const entry = pl.variant === "naive" ? "twoPass" : "partial";
  const pipe = gpu.pipeline({
    name: `batchnorm.stats.${entry}.${pl.variant}`,
    code: fillTemplate("batchnorm.stats", wgsl("batchnorm.stats.wgsl"), {
      T: typeOf(pl),
      SPREAD: SPREAD_WGSL,
    }),
    entryPoint: entry,
    constants: entry === "partial" ? { WG: CONFIG.WG, SPREAD: laneSpread(gpu) } : { WG: CONFIG.WG },
  });
  gpu.dispatch(pipe, {
    tensors: [x, part],
    params: [pl.M, pl.cols, pl.chunkRows, pl.chunks],
    groups: groups(pl.cols * pl.chunks),
  });
  return part;
}

/** Records y = (x - coef[0]) * coef[1] + coef[2], optionally ReLU6. */
function recordApply(gpu: Gpu, x: Tensor, coef: Tensor, y: Tensor, pl: Plan, relu6: boolean): void {
  const pipe = gpu.pipeline({
    name: `batchnorm.forward.apply.${pl.variant}${relu6 ? ".relu6" : ""}`,
    code: fillTemplate("batchnorm.forward", wgsl("batchnorm.forward.wgsl"), {
      T: typeOf(pl),
      SPREAD: SPREAD_WGSL,
    }),
    entryPoint: "apply",
    constants: {
      WG: CONFIG.WG,
      ROWS: CONFIG.APPLY_ROWS,
      RELU6: relu6 ? 1 : 0,
      SPREAD: laneSpread(gpu),
    },
  });
  gpu.dispatch(pipe, { tensors: [x, coef, y], params: [pl.M, pl.cols], groups: applyGroups(pl) });
}

/**
 * Training-mode batch norm: normalizes with the batch mean and biased
 * variance and (by default) updates the running stats in place, PyTorch
 * style with the unbiased variance. `y` must not alias `x`.
 */
export function batchNormTrain(
  gpu: Gpu,
  x: Tensor,
  p: BnParams,
  opts: BnTrainOptions,
  y?: Tensor,
): { y: Tensor; saved: BnSaved } {
  // Checked before anything is recorded: a bad y must not update running stats.
  if (y) {
    expectShape("batchNormTrain", "y", y, x.shape);
    expectDistinct("batchNormTrain", ["y", y], ["x", x]);
  }
  const { pre, saved } = batchNormTrainDeferred(gpu, x, p, opts);
  const out = batchNormApply(gpu, x, pre, y);
  // Later recorded work runs after these dispatches, so the pool may reuse them.
  pre.coef.dispose();
  return { y: out, saved };
}

/**
 * Training-mode batch norm without the apply pass: the batch statistics,
 * the running-statistics update and the table a consumer applies as its
 * prologue (`pre`, whose coef the caller disposes).
 */
export function batchNormTrainDeferred(
  gpu: Gpu,
  x: Tensor,
  p: BnParams,
  opts: BnTrainOptions,
): { pre: BnPrologue; saved: BnSaved } {
  const pl = plan("batchNormTrain", x);
  checkParams("batchNormTrain", p, pl.C);
  checkOptions("batchNormTrain", opts.eps, opts.momentum);
  checkRunningDistinct("batchNormTrain", p);
  if (pl.M < 2) {
    throw new Error(
      `batchNormTrain: need more than one value per channel, x is ${shapeStr(x.shape)}`,
    );
  }
  const part = recordMoments(gpu, x, pl);
  const mean = gpu.empty([pl.C], "batchnorm.mean");
  const invStd = gpu.empty([pl.C], "batchnorm.invStd");
  const coef = gpu.empty([3, pl.C], "batchnorm.coef");
  const flags = opts.updateRunning === false ? 0 : 1;
  gpu.dispatch(finalizePipe(gpu, "train"), {
    tensors: [part, p.gamma, p.beta, p.runningMean, p.runningVar, mean, invStd, coef],
    params: finalizeParams(pl, opts.momentum, opts.eps, flags),
    groups: groups(pl.C),
  });
  part.dispose();
  return { pre: { coef, relu6: opts.relu6 ?? false }, saved: { mean, invStd } };
}

/** Inference-mode batch norm with the running stats. `y` must not alias `x`. */
export function batchNormInfer(
  gpu: Gpu,
  x: Tensor,
  p: BnParams,
  opts: { readonly eps: number; readonly relu6?: boolean },
  y?: Tensor,
): Tensor {
  if (y) {
    expectShape("batchNormInfer", "y", y, x.shape);
    expectDistinct("batchNormInfer", ["y", y], ["x", x]);
  }
  const pre = batchNormInferDeferred(gpu, x, p, opts);
  const out = batchNormApply(gpu, x, pre, y);
  pre.coef.dispose();
  return out;
}

/** Inference-mode batch norm as a prologue table (the caller disposes coef). */
export function batchNormInferDeferred(
  gpu: Gpu,
  x: Tensor,
  p: BnParams,
  opts: { readonly eps: number; readonly relu6?: boolean },
): BnPrologue {
  const pl = plan("batchNormInfer", x);
  checkParams("batchNormInfer", p, pl.C);
  checkOptions("batchNormInfer", opts.eps, null);
  const coef = gpu.empty([3, pl.C], "batchnorm.coef");
  gpu.dispatch(finalizePipe(gpu, "infer"), {
    tensors: [p.gamma, p.beta, p.runningMean, p.runningVar, coef],
    params: finalizeParams(pl, 0, opts.eps, 0),
    groups: groups(pl.C),
  });
  return { coef, relu6: opts.relu6 ?? false };
}

/**
 * y = the deferred batch norm `pre` applied to x, plus `residual` (same
 * shape, a skip connection fused into the pass; not with ReLU6) when given.
 * `y` must not alias `x` or `residual`.
 */
export function batchNormApply(
  gpu: Gpu,
  x: Tensor,
  pre: BnPrologue,
  y?: Tensor,
  residual?: Tensor,
): Tensor {
  const op = "batchNormApply";
  const pl = plan(op, x);
  expectShape(op, "coef", pre.coef, [3, pl.C]);
  if (residual) {
    expectShape(op, "residual", residual, x.shape);
    if (pre.relu6) throw new Error(`${op}: a fused residual is added after BN without ReLU6`);
  }
  if (y) {
    expectShape(op, "y", y, x.shape);
    expectDistinct(op, ["y", y], ["x", x], ["pre.coef", pre.coef], ["residual", residual]);
  }
  // Allocated only once the call is known to be valid (a refused call leaks nothing).
  const out = y ?? gpu.empty(x.shape, "batchnorm.y");
  if (!residual) {
    recordApply(gpu, x, pre.coef, out, pl, pre.relu6);
    return out;
  }
  const pipe = gpu.pipeline({
    name: `batchnorm.forward.applyAdd.${pl.variant}`,
    code: fillTemplate("batchnorm.forward", wgsl("batchnorm.forward.wgsl"), {
      T: typeOf(pl),
      SPREAD: SPREAD_WGSL,
    }),
    entryPoint: "applyAdd",
    constants: { WG: CONFIG.WG, ROWS: CONFIG.APPLY_ROWS, SPREAD: laneSpread(gpu) },
  });
  gpu.dispatch(pipe, {
    tensors: [x, pre.coef, residual, out],
    params: [pl.M, pl.cols],
    groups: applyGroups(pl),
  });
  return out;
}

/**
 * Training-mode backward given dy of the (optionally ReLU6-fused) output.
 * Writes (accumulate: false) or adds to (true) grads.dgamma and grads.dbeta.
 */
export function batchNormBackward(
  gpu: Gpu,
  x: Tensor,
  dy: Tensor,
  p: BnParams,
  saved: BnSaved,
  grads: { readonly dgamma: Tensor; readonly dbeta: Tensor },
  opts: { readonly relu6?: boolean; readonly accumulate: boolean },
  dx?: Tensor,
): Tensor {
  const op = "batchNormBackward";
  const pl = plan(op, x);
  checkParams(op, p, pl.C);
  expectShape(op, "dy", dy, x.shape);
  for (const [name, t] of [
    ["saved.mean", saved.mean],
    ["saved.invStd", saved.invStd],
    ["dgamma", grads.dgamma],
    ["dbeta", grads.dbeta],
  ] as const)
    expectShape(op, name, t, [pl.C]);
  // dgamma and dbeta are written (or accumulated) in place, dx in full.
  const reads = [
    ["gamma", p.gamma],
    ["beta", p.beta],
    ["saved.mean", saved.mean],
    ["saved.invStd", saved.invStd],
  ] as const;
  expectDistinct(op, ["dgamma", grads.dgamma], ...reads, ["dbeta", grads.dbeta]);
  expectDistinct(op, ["dbeta", grads.dbeta], ...reads);
  if (dx) {
    expectShape(op, "dx", dx, x.shape);
    expectDistinct(op, ["dx", dx], ["x", x], ["dy", dy]);
  }
  const out = dx ?? gpu.empty(x.shape, "batchnorm.dx");
  const relu6 = opts.relu6 ?? false;
  const code = fillTemplate("batchnorm.backward", wgsl("batchnorm.backward.wgsl"), {
    T: typeOf(pl),
    SPREAD: SPREAD_WGSL,
  });
  const suffix = `${pl.variant}${relu6 ? ".relu6" : ""}`;

  // Pass 1: chunk sums of g and g * xhat.
  const part = gpu.empty([2, pl.chunks, pl.C], "batchnorm.dpart");
  const partial = gpu.pipeline({
    name: `batchnorm.backward.partial.${suffix}`,
    code,
    entryPoint: "partial",
    constants: { WG: CONFIG.WG, RELU6: relu6 ? 1 : 0, SPREAD: laneSpread(gpu) },
  });
  gpu.dispatch(partial, {
    tensors: [x, dy, p.gamma, p.beta, saved.mean, saved.invStd, part],
    params: [pl.M, pl.cols, pl.chunkRows, pl.chunks],
    groups: groups(pl.cols * pl.chunks),
  });

  // Pass 2: dgamma, dbeta and the dx coefficient table.
  const coef = gpu.empty([5, pl.C], "batchnorm.dcoef");
  gpu.dispatch(finalizePipe(gpu, "backward"), {
    tensors: [part, p.gamma, p.beta, saved.mean, saved.invStd, grads.dgamma, grads.dbeta, coef],
    params: finalizeParams(pl, 0, 0, opts.accumulate ? 2 : 0),
    groups: groups(pl.C),
  });

  // Pass 3: dx, element-wise.
  const apply = gpu.pipeline({
    name: `batchnorm.backward.apply.${suffix}`,
    code,
    entryPoint: "apply",
    constants: {
      WG: CONFIG.WG,
      ROWS: CONFIG.APPLY_ROWS,
      RELU6: relu6 ? 1 : 0,
      SPREAD: laneSpread(gpu),
    },
  });
  gpu.dispatch(apply, {
    tensors: [x, dy, coef, out],
    params: [pl.M, pl.cols, 0, 0],
    groups: applyGroups(pl),
  });
  part.dispose();
  coef.dispose();
  return out;
}

/** Batch mean and biased variance per channel, [C] each (for BN recalibration). */
export function batchNormStats(gpu: Gpu, x: Tensor): { mean: Tensor; variance: Tensor } {
  const pl = plan("batchNormStats", x);
  if (pl.M < 1) throw new Error(`batchNormStats: x ${shapeStr(x.shape)} has no rows`);
  const part = recordMoments(gpu, x, pl);
  const mean = gpu.empty([pl.C], "batchnorm.mean");
  const variance = gpu.empty([pl.C], "batchnorm.variance");
  gpu.dispatch(finalizePipe(gpu, "stats"), {
    tensors: [part, mean, variance],
    params: finalizeParams(pl, 0, 0, 0),
    groups: groups(pl.C),
  });
  part.dispose();
  return { mean, variance };
}
