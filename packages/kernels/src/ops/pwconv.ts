// Host side of the pointwise (1x1) convolution: a GEMM over the M = N*H*W
// rows of an NHWC activation. Forward y = x w, backward dx = dy w^T and
// dw = x^T dy, the last split over M into partial sums and then reduced in a
// fixed order, so results are deterministic (no float atomics).

import type { Gpu } from "../runtime/gpu.ts";
import { expectDistinct, expectShape, shapeStr, type Tensor } from "../runtime/tensor.ts";
import { fillTemplate, wgsl } from "../runtime/wgsl.ts";
import { addInto } from "./arith.ts";
import { batchNormApply, type BnPrologue } from "./batchnorm.ts";
import {
  recordRowsGemm,
  recordRowsWeight,
  ROWS_WEIGHT_CONFIG,
  rowsPays,
  rowsWeightEligible,
  rowsWeightPlan,
} from "./pwconv-rows.ts";

export type PwconvVariant = "naive" | "tiled" | "rows";

/** Tile and workgroup sizes of every pwconv kernel, and their dispatches. */
export const PWCONV_CONFIG = {
  /** invocations per workgroup, all kernels */
  WG: 64,
  /** rows per block in the tiled forward and backward-input kernels */
  TM: 8,
  /** row blocks per invocation there (amortises the index set-up) */
  RB: 8,
  /** target row count per dw partial sum when the tile count is not given */
  SPLIT_ROWS: 512,
  /** upper bound on the number of dw partial sums */
  MAX_SPLITS: 256,
  /** the split kernel aims for this many invocations (tiles x slices)... */
  SPLIT_LANES: 2048,
  /** ...with at least this many rows per slice */
  MIN_SPLIT_ROWS: 64,
  /** and partial sums of at most this many floats */
  MAX_PARTIAL_FLOATS: 16 * 2 ** 20,
} as const;

interface Gemm {
  readonly M: number;
  readonly CI: number;
  readonly CO: number;
}

function groups(invocations: number): number {
  return Math.ceil(invocations / PWCONV_CONFIG.WG);
}

/** "" (none), ".bn" or ".bn6": the pipeline-name suffix of a prologue. */
function preTag(pre: BnPrologue | undefined): string {
  return pre ? (pre.relu6 ? ".bn6" : ".bn") : "";
}

const clamp6 = (v: string, t: string): string => `clamp(${v}, ${t}(0.0), ${t}(6.0))`;

/**
 * pwconv.forward.wgsl with its slots filled: the prologue on x (coef
 * [3, Ci] as f32) and the residual r added on store, each one more binding
 * after y in that order.
 */
function forwardCode(pre: BnPrologue | undefined, residual: boolean): string {
  const file = "pwconv.forward.wgsl";
  let b = 3;
  const L: string[] = [];
  if (pre) {
    const v = "fma(v - c.x, c.y, c.z)";
    L.push(
      `@group(0) @binding(${b++}) var<storage, read> coef: array<f32>;  // [3, Ci]`,
      "fn prek(k: u32) -> vec3f {",
      "  return vec3f(coef[k], coef[p.CI + k], coef[2u * p.CI + k]);",
      "}",
      `fn pre(v: f32, c: vec3f) -> f32 { return ${pre.relu6 ? clamp6(v, "f32") : v}; }`,
    );
  } else {
    L.push(
      "fn prek(k: u32) -> vec3f { return vec3f(0.0, 1.0, 0.0); }",
      "fn pre(v: f32, c: vec3f) -> f32 { return v; }",
    );
  }
  if (residual) {
    L.push(
      `@group(0) @binding(${b++}) var<storage, read> r4: array<vec4f>;  // [M, Co]`,
      "fn post(i: u32) -> vec4f { return r4[i]; }",
    );
  } else {
    L.push("fn post(i: u32) -> vec4f { return vec4f(0.0); }");
  }
  return fillTemplate(file, wgsl(file), { PB: b, PRE: L.join("\n") });
}

const BN4 = "fma(v - c.m, c.a, c.b)";

/** pwconv.backward-weight.wgsl with its prologue slot filled (vec4 x, coef [3, Ci] as vec4). */
function weightCode(pre: BnPrologue | undefined): string {
  const file = "pwconv.backward-weight.wgsl";
  const PRE = pre
    ? [
        "@group(0) @binding(3) var<storage, read> coef4: array<vec4f>;  // [3, Ci]",
        "struct Pre { m: vec4f, a: vec4f, b: vec4f }",
        "fn prek4(g: u32) -> Pre {",
        "  let n = p.CI / 4u;",
        "  return Pre(coef4[g], coef4[n + g], coef4[2u * n + g]);",
        "}",
        "fn pre4(v: vec4f, c: Pre) -> vec4f {",
        `  return ${pre.relu6 ? clamp6(BN4, "vec4f") : BN4};`,
        "}",
      ].join("\n")
    : [
        "struct Pre { m: vec4f, a: vec4f, b: vec4f }",
        "fn prek4(g: u32) -> Pre { return Pre(vec4f(0.0), vec4f(1.0), vec4f(0.0)); }",
        "fn pre4(v: vec4f, c: Pre) -> vec4f { return v; }",
      ].join("\n");
  return fillTemplate(file, wgsl(file), { PB: pre ? 4 : 3, PRE });
}

function checkPrologue(op: string, pre: BnPrologue | undefined, ci: number): void {
  if (pre) expectShape(op, "pre.coef", pre.coef, [3, ci]);
}

function rowsOf(op: string, t: Tensor): number {
  if (t.shape.length < 1) throw new Error(`${op}: ${t.label} must have rank >= 1, got []`);
  if (t.size === 0) throw new Error(`${op}: ${t.label} ${shapeStr(t.shape)} is empty`);
  return t.shape.slice(0, -1).reduce((a, b) => a * b, 1);
}

function lastDim(t: Tensor): number {
  return t.shape[t.shape.length - 1] ?? 0;
}

function checkWeight(op: string, w: Tensor, ci: number, what: string): number {
  if (w.shape.length !== 2 || w.shape[0] !== ci) {
    throw new Error(`${op}: w has shape ${shapeStr(w.shape)}, expected [${ci}, Co] (${what})`);
  }
  return w.shape[1];
}

export type PwconvPass = "forward" | "backward-input" | "backward-weight";

/**
 * The variant used for a pass and shape. The tiled forward reads x as
 * scalars and needs only its output width in vec4s: Co forward, Ci for the
 * input gradient (the same kernel on w^T). The tiled weight gradient reads
 * both sides in vec4s. On a software adapter the rows kernels
 * (pwconv-rows.ts) take the forward and input-gradient GEMMs whose
 * reduction (Ci forward, Co for the input gradient) is narrow or walked in
 * few chunks (rowsPays), and every weight gradient on the vec4 grid whose
 * partial sums fit (rowsWeightEligible).
 */
export function selectPwconvVariant(
  pass: PwconvPass,
  ci: number,
  co: number,
  software = false,
): PwconvVariant {
  if (software && pass === "forward" && rowsPays(ci, co)) return "rows";
  if (software && pass === "backward-input" && rowsPays(co, ci)) return "rows";
  if (software && pass === "backward-weight" && rowsWeightEligible(ci, co)) return "rows";
  const vec4 =
    pass === "forward"
      ? co % 4 === 0
      : pass === "backward-input"
        ? ci % 4 === 0
        : ci % 4 === 0 && co % 4 === 0;
  return vec4 ? "tiled" : "naive";
}

// ---- forward ----

/**
 * y[..., Co] = x[..., Ci] w[Ci, Co]. With `pre`, x is the input before a
 * batch norm (+ReLU6) that the tiled kernel applies as it loads x (the
 * naive one gets the normalized tensor materialized).
 */
export function pwconv(gpu: Gpu, x: Tensor, w: Tensor, y?: Tensor, pre?: BnPrologue): Tensor {
  const ci = lastDim(x);
  const co = checkWeight("pwconv", w, ci, `x is ${shapeStr(x.shape)}`);
  const outShape = [...x.shape.slice(0, -1), co];
  checkPrologue("pwconv", pre, ci);
  if (y) {
    expectShape("pwconv", "y", y, outShape);
    expectDistinct("pwconv", ["y", y], ["x", x], ["w", w], ["pre.coef", pre?.coef]);
  }
  const g = { M: rowsOf("pwconv", x), CI: ci, CO: co };
  const out = y ?? gpu.empty(outShape, "pwconv.y");
  const variant = selectPwconvVariant("forward", ci, co, gpu.adapter.software);
  pwconvForwardWith(gpu, variant, x, w, out, g, { pre });
  return out;
}

/** Records the forward GEMM with an explicit variant (tests use every one). */
export function pwconvForwardWith(
  gpu: Gpu,
  variant: PwconvVariant,
  x: Tensor,
  w: Tensor,
  y: Tensor,
  g: Gemm,
  fused: { readonly pre?: BnPrologue; readonly residual?: Tensor } = {},
): void {
  const { WG, TM, RB } = PWCONV_CONFIG;
  const { pre, residual } = fused;
  expectDistinct(
    "pwconv",
    ["y", y],
    ["x", x],
    ["w", w],
    ["pre.coef", pre?.coef],
    ["residual", residual],
  );
  if (variant === "rows") {
    const gemm = { M: g.M, K: g.CI, N: g.CO };
    recordRowsGemm(gpu, x, w, y, gemm, { transposed: false, pre, residual });
    return;
  }
  const tiled = variant === "tiled";
  if (tiled && g.CO % 4 !== 0) {
    throw new Error(`pwconv.forward.tiled: needs Co a multiple of 4, got ${g.CO}`);
  }
  if (!tiled && (pre || residual)) {
    // The naive kernel has neither: materialize the prologue, add the residual after.
    const a = pre ? batchNormApply(gpu, x, pre) : x;
    pwconvForwardWith(gpu, variant, a, w, y, g);
    if (pre) a.dispose();
    if (residual) addInto(gpu, y, residual);
    return;
  }
  const tag = `${preTag(pre)}${residual ? ".residual" : ""}`;
  const pipe = gpu.pipeline({
    name: tiled ? `pwconv.forward.tiled${TM}x8${tag}` : "pwconv.forward.naive",
    code: forwardCode(pre, residual !== undefined),
    entryPoint: variant,
    constants: { WG, TM, RB },
  });
  const inv = tiled ? Math.ceil(g.M / (TM * RB)) * Math.ceil(g.CO / 8) : g.M * g.CO;
  const tensors = [x, w, y, ...(pre ? [pre.coef] : []), ...(residual ? [residual] : [])];
  gpu.dispatch(pipe, { tensors, params: [g.M, g.CI, g.CO], groups: groups(inv) });
}

// ---- backward ----

/**
 * dx[..., Ci] = dy[..., Co] w[Ci, Co]^T, plus `residual` (the gradient a
 * skip connection adds, same shape as dx) when given. `residual` must not
 * alias dx.
 */
export function pwconvBackwardInput(
  gpu: Gpu,
  dy: Tensor,
  w: Tensor,
  dx?: Tensor,
  residual?: Tensor,
): Tensor {
  if (w.shape.length !== 2 || w.shape[1] !== lastDim(dy)) {
    throw new Error(
      `pwconvBackwardInput: w has shape ${shapeStr(w.shape)}, ` +
        `expected [Ci, ${lastDim(dy)}] (dy is ${shapeStr(dy.shape)})`,
    );
  }
  const [ci, co] = w.shape;
  const op = "pwconvBackwardInput";
  const inShape = [...dy.shape.slice(0, -1), ci];
  if (residual) expectShape(op, "residual", residual, inShape);
  if (dx) {
    expectShape(op, "dx", dx, inShape);
    expectDistinct(op, ["dx", dx], ["dy", dy], ["w", w], ["residual", residual]);
  }
  const g = { M: rowsOf(op, dy), CI: ci, CO: co };
  const out = dx ?? gpu.empty(inShape, "pwconv.dx");
  const variant = selectPwconvVariant("backward-input", ci, co, gpu.adapter.software);
  pwconvBackwardInputWith(gpu, variant, dy, w, out, g, residual);
  return out;
}

/**
 * Records the backward-input GEMM with an explicit variant. The tiled one
 * transposes w and runs the tiled forward GEMM dx = dy w^T (Ci is its
 * output width, so only Ci % 4 == 0 is needed). The rows one reads w
 * transposed as it loads it.
 */
export function pwconvBackwardInputWith(
  gpu: Gpu,
  variant: PwconvVariant,
  dy: Tensor,
  w: Tensor,
  dx: Tensor,
  g: Gemm,
  residual?: Tensor,
): void {
  const { WG } = PWCONV_CONFIG;
  expectDistinct("pwconvBackwardInput", ["dx", dx], ["dy", dy], ["w", w], ["residual", residual]);
  if (variant === "rows") {
    const gemm = { M: g.M, K: g.CO, N: g.CI };
    recordRowsGemm(gpu, dy, w, dx, gemm, { transposed: true, residual });
    return;
  }
  if (variant === "tiled") {
    if (g.CI % 4 !== 0) {
      throw new Error(`pwconv.backward-input.tiled: needs Ci a multiple of 4, got ${g.CI}`);
    }
    const wt = gpu.empty([g.CO, g.CI], "pwconv.wt");
    const transpose = gpu.pipeline({
      name: "pwconv.transpose",
      code: wgsl("pwconv.transpose.wgsl"),
      entryPoint: "main",
      constants: { WG },
    });
    gpu.dispatch(transpose, {
      tensors: [w, wt],
      params: [g.CI, g.CO],
      groups: groups(g.CI * g.CO),
    });
    pwconvForwardWith(gpu, "tiled", dy, wt, dx, { M: g.M, CI: g.CO, CO: g.CI }, { residual });
    // Later users of the buffer are recorded after these dispatches.
    wt.dispose();
    return;
  }
  const pipe = gpu.pipeline({
    name: "pwconv.backward-input.naive",
    code: wgsl("pwconv.backward-input.wgsl"),
    entryPoint: "naive",
    constants: { WG },
  });
  gpu.dispatch(pipe, {
    tensors: [dy, w, dx],
    params: [g.M, g.CI, g.CO],
    groups: groups(g.M * g.CI),
  });
  if (residual) addInto(gpu, dx, residual);
}

/**
 * dw[Ci, Co] = x^T dy, or dw += x^T dy when `accumulate`. With `pre`, x is
 * the input before a batch norm (+ReLU6), applied as in `pwconv`.
 */
export function pwconvBackwardWeight(
  gpu: Gpu,
  x: Tensor,
  dy: Tensor,
  dw: Tensor,
  accumulate: boolean,
  pre?: BnPrologue,
): void {
  const op = "pwconvBackwardWeight";
  const ci = lastDim(x);
  const co = lastDim(dy);
  expectShape(op, "dy", dy, [...x.shape.slice(0, -1), co]);
  expectShape(op, "dw", dw, [ci, co]);
  checkPrologue(op, pre, ci);
  // Refused whatever the variant, though only the naive kernel binds dw with x and dy.
  expectDistinct(op, ["dw", dw], ["x", x], ["dy", dy], ["pre.coef", pre?.coef]);
  const g = { M: rowsOf(op, x), CI: ci, CO: co };
  const software = gpu.adapter.software;
  const variant = selectPwconvVariant("backward-weight", ci, co, software);
  pwconvBackwardWeightWith(gpu, variant, x, dy, dw, accumulate, g, pre);
}

/**
 * Slices of the M rows for a split weight-gradient kernel, fixed by the
 * shape. Without `tiles`: about SPLIT_ROWS rows each. With the kernel's tile
 * count per slice and the weight's size: enough slices to keep SPLIT_LANES
 * invocations busy (a narrow dw, such as 96 -> 24, has few tiles and ran
 * 2.7x faster split finer), within the row and partial-size bounds.
 */
export function pwconvSlices(
  M: number,
  tiles = 0,
  weightFloats = 0,
): { readonly slices: number; readonly rows: number } {
  const { SPLIT_ROWS, MAX_SPLITS, SPLIT_LANES, MIN_SPLIT_ROWS, MAX_PARTIAL_FLOATS } = PWCONV_CONFIG;
  const wanted = tiles > 0 ? Math.ceil(SPLIT_LANES / tiles) : Math.ceil(M / SPLIT_ROWS);
  const byRows = tiles > 0 ? Math.ceil(M / MIN_SPLIT_ROWS) : MAX_SPLITS;
  const bySize = weightFloats > 0 ? Math.floor(MAX_PARTIAL_FLOATS / weightFloats) : MAX_SPLITS;
  const slices = Math.max(1, Math.min(wanted, byRows, bySize, MAX_SPLITS));
  return { slices, rows: Math.ceil(M / slices) };
}

/** Records the dw reduction with an explicit variant ("tiled" means split + reduce). */
export function pwconvBackwardWeightWith(
  gpu: Gpu,
  variant: PwconvVariant,
  x: Tensor,
  dy: Tensor,
  dw: Tensor,
  accumulate: boolean,
  g: Gemm,
  pre?: BnPrologue,
): void {
  const { WG } = PWCONV_CONFIG;
  const acc = accumulate ? 1 : 0;
  expectDistinct("pwconvBackwardWeight", ["dw", dw], ["x", x], ["dy", dy], ["pre.coef", pre?.coef]);
  if (pre && variant === "naive") {
    const a = batchNormApply(gpu, x, pre);
    pwconvBackwardWeightWith(gpu, variant, a, dy, dw, accumulate, g);
    a.dispose();
    return;
  }
  const code = weightCode(pre);
  if (variant === "naive") {
    const pipe = gpu.pipeline({
      name: "pwconv.backward-weight.naive",
      code,
      entryPoint: "naive",
      constants: { WG },
    });
    const params = [g.M, g.CI, g.CO, 0, 0, acc];
    gpu.dispatch(pipe, { tensors: [x, dy, dw], params, groups: groups(g.CI * g.CO) });
    return;
  }
  if (variant === "rows") {
    if (!rowsWeightEligible(g.CI, g.CO)) {
      const { WG: lanes, MAX_PARTIAL_FLOATS: most } = ROWS_WEIGHT_CONFIG;
      throw new Error(
        `pwconv.backward-weight.rows: needs Ci and Co multiples of 4 and ${lanes} x Ci x Co ` +
          `<= ${most} partial floats, got Ci ${g.CI}, Co ${g.CO}`,
      );
    }
    const plan = rowsWeightPlan(g.M, g.CI, g.CO);
    const part = gpu.empty([plan.slices, g.CI, g.CO], "pwconv.dw.partial");
    recordRowsWeight(gpu, x, dy, part, g, plan, pre);
    recordSliceReduce(gpu, part, dw, plan.slices, accumulate);
    return;
  }
  if (g.CI % 4 !== 0 || g.CO % 4 !== 0) {
    throw new Error(
      `pwconv.backward-weight.split: needs Ci and Co multiples of 4, got ${g.CI}, ${g.CO}`,
    );
  }
  // One invocation per 8 x 8 tile of dw per slice.
  const tiles = Math.ceil(g.CI / 8) * Math.ceil(g.CO / 8);
  const { slices, rows } = pwconvSlices(g.M, tiles, g.CI * g.CO);
  const params = [g.M, g.CI, g.CO, rows, slices, acc];
  const part = gpu.empty([slices, g.CI, g.CO], "pwconv.dw.partial");
  const split = gpu.pipeline({
    name: `pwconv.backward-weight.split8x8${preTag(pre)}`,
    code,
    entryPoint: "split",
    constants: { WG },
  });
  const tensors = pre ? [x, dy, part, pre.coef] : [x, dy, part];
  gpu.dispatch(split, { tensors, params, groups: groups(tiles * slices) });
  recordSliceReduce(gpu, part, dw, slices, accumulate);
}

/**
 * Records dw (+)= the sum over slices of part[SLICES, ...dw.shape], added in
 * slice order, then returns `part` to the pool. dw.size must be a multiple
 * of 4. The conv2d weight gradient uses it too.
 */
export function recordSliceReduce(
  gpu: Gpu,
  part: Tensor,
  dw: Tensor,
  slices: number,
  accumulate: boolean,
): void {
  if (dw.size % 4 !== 0 || part.size !== slices * dw.size) {
    throw new Error(
      `pwconv.backward-weight.reduce: partials ${shapeStr(part.shape)} do not hold ` +
        `${slices} slices of ${shapeStr(dw.shape)} in vec4s`,
    );
  }
  const { WG } = PWCONV_CONFIG;
  const reduce = gpu.pipeline({
    name: "pwconv.backward-weight.reduce",
    code: weightCode(undefined),
    entryPoint: "reduce",
    constants: { WG },
  });
  // Params as the reduce kernel reads them: CI * CO / 4 vec4s per slice.
  const params = [0, 1, dw.size, 0, slices, accumulate ? 1 : 0];
  gpu.dispatch(reduce, { tensors: [part, dw], params, groups: groups(dw.size / 4) });
  // Safe to pool now: later users of the buffer are recorded after these dispatches.
  part.dispose();
}
