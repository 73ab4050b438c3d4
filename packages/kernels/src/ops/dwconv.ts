// Host side of the depthwise convolution (same padding P = (K - 1) / 2):
// forward, gradient of the input and gradient of the weights. Each pass has
// a `naive` kernel (one invocation per output element), a `tiled` one
// (several neighbouring pixels per invocation, scalar or vec4 channels) and,
// for C % 4 == 0, the generated sliding-window `slide` kernels
// (dwconv-slide.ts); `selectDwconv` picks the kernel. Functions only record
// dispatches.
// x: [N, H, W, C], w: [K, K, C], y: [N, OH, OW, C], OH = floor((H + 2P - K) / S) + 1.

import type { Gpu } from "../runtime/gpu.ts";
import { laneSpread } from "../runtime/spread.ts";
import {
  expectDistinct,
  expectRank,
  expectShape,
  shapeStr,
  type Tensor,
} from "../runtime/tensor.ts";
import { fillTemplate, wgsl } from "../runtime/wgsl.ts";
import { batchNormApply, type BnPrologue } from "./batchnorm.ts";
import {
  slideBackwardInputWgsl,
  slideBackwardWeightWgsl,
  slideForwardWgsl,
  type SlidePrologue,
} from "./dwconv-slide.ts";

export interface DwconvOptions {
  readonly stride: number;
  /**
   * Forward and weight gradient: x is the input before this batch norm
   * (+ReLU6), which the kernel applies as it loads x (the slide kernels;
   * the others get the normalized tensor materialized). The input gradient
   * ignores it: dx is the gradient of the normalized input either way.
   */
  readonly pre?: BnPrologue;
}

/** Which kernel runs a pass: `vec` is the channel vector width (1 or 4). */
export interface DwconvKernel {
  readonly variant: "naive" | "tiled" | "slide";
  readonly vec: 1 | 4;
}

// Every workgroup and tile size lives here; dispatches are computed from it.
// Tiles are [TILE_H, TILE_W] per kernel size: larger blocks reuse more
// loads, but past these the shader compiler stops unrolling the tile loops
// and the kernels slow down several times. Backward-input tiles must be
// multiples of every stride; tiles fit the kernels' MAX_TILE and MAX_SLOTS.
const CONFIG = {
  forward: { WG: 256, TILES: { 3: [4, 4], 5: [2, 4], 7: [2, 4] } },
  backwardInput: { WG: 256, TILES: { 3: [4, 4], 5: [2, 4], 7: [2, 8] } },
  backwardWeight: { WG: 64, TILE_H: 2, TILE_W: 4, MIN_BLOCKS_PER_GROUP: 2, MAX_GROUPS: 256 },
  reduce: { WG: 64 },
  naive: { WG: 64 },
  // Generated sliding-window kernels (dwconv-slide.ts), vec4 only: rows per
  // strip by pass, stride and kernel size. Taller strips reuse more loads
  // until the window spills; where that turns depends on K and S in ways
  // only measurement shows. Set from bench/slide-tune.ts (heights compared
  // side by side in one process, two runs of 11 and 15 rounds, 28x28 maps,
  // C 96-144, batch 64). Once padding taps stopped issuing loads (loadInto
  // in dwconv-slide.ts), 4-row strips beat 2-row ones at stride 1 for 3x3
  // and 5x5 in every pass of two more runs (1.04-1.48x). Maps of at most
  // SMALL_MAP rows take one strip per image (fewest window set-ups; at 7x7
  // and 4x4 it was best or near), of 4 or 8 rows.
  slide: {
    WG: 64,
    SMALL_MAP: 8,
    // Stride-2 kernel sizes whose weight gradient runs as two dispatches,
    // one per parity of the tap rows (slideBackwardWeightWgsl): 7x7 1.1-1.35x
    // and 5x5 about 1.3x faster at 28x28, C96, batch 64, side by side on the
    // 2-core lavapipe machine; 3x3 (25 values live instead of 49+) gained nothing.
    ROW_PARITY_SPLIT: [5, 7],
    rows: {
      forward: { 1: { 3: 4, 5: 4, 7: 7 }, 2: { 3: 2, 5: 7, 7: 7 } },
      backwardInput: { 1: { 3: 4, 5: 4, 7: 4 }, 2: { 3: 4, 5: 6, 7: 14 } },
      backwardWeight: { 1: { 3: 4, 5: 4, 7: 7 }, 2: { 3: 2, 5: 7, 7: 7 } },
    },
  },
} as const;

export type SlidePass = "forward" | "backwardInput" | "backwardWeight";

/** Strip heights set by `setSlideStripHeights` (tuning benchmarks), by pass and stride. */
let stripOverride: Partial<Record<SlidePass, Partial<Record<1 | 2, number>>>> = {};

/**
 * Overrides the slide kernels' strip heights (rows per invocation) for
 * tuning benchmarks that compare heights side by side in one process; an
 * empty object restores CONFIG.slide. Each height is its own pipeline.
 */
export function setSlideStripHeights(
  heights: Partial<Record<SlidePass, Partial<Record<1 | 2, number>>>>,
): void {
  stripOverride = heights;
}

/** Rows per strip of a slide pass: dx rows for the input gradient, output rows otherwise. */
function stripRows(pass: SlidePass, g: Geometry): number {
  const S = g.S as 1 | 2;
  const forced = stripOverride[pass]?.[S];
  if (forced !== undefined) return forced;
  const rows = pass === "backwardInput" ? g.H : g.OH;
  // Two heights only (4, 8), both multiples of every stride: each height is
  // a pipeline that lavapipe compiles on first use.
  if (rows <= CONFIG.slide.SMALL_MAP) return rows <= 4 ? 4 : 8;
  return CONFIG.slide.rows[pass][S][g.K as 3 | 5 | 7];
}

type TiledPass = "forward" | "backwardInput";

// Workgroup and tile overrides of a forward or backward-input pipeline.
function blockSizes(pass: TiledPass, k: DwconvKernel, K: number): Record<string, number> {
  if (k.variant === "naive") return { WG: CONFIG.naive.WG, TILE_H: 1, TILE_W: 1 };
  const [TILE_H, TILE_W] = CONFIG[pass].TILES[K as 3 | 5 | 7];
  return { WG: CONFIG[pass].WG, TILE_H, TILE_W };
}

const KERNEL_SIZES = [3, 5, 7];
const STRIDES = [1, 2];

/** Whole channel vectors take the sliding-window kernels, others the scalar tiled ones. */
export function selectDwconv(C: number): DwconvKernel {
  return C % 4 === 0 ? { variant: "slide", vec: 4 } : { variant: "tiled", vec: 1 };
}

export function dwconvOutSize(size: number, K: number, S: number): number {
  const P = (K - 1) / 2;
  return Math.floor((size + 2 * P - K) / S) + 1;
}

interface Geometry {
  readonly N: number;
  readonly H: number;
  readonly W: number;
  readonly C: number;
  readonly K: number;
  readonly S: number;
  readonly OH: number;
  readonly OW: number;
}

// Validates x and w (and the kernel) and returns the shapes of the pass.
function geometry(op: string, xShape: readonly number[], w: Tensor, S: number): Geometry {
  expectRank(op, "w", w, 3);
  const [K, K2, C] = w.shape;
  if (!KERNEL_SIZES.includes(K) || K2 !== K) {
    throw new Error(`${op}: w has shape ${shapeStr(w.shape)}; kernel size must be 3, 5 or 7`);
  }
  if (!STRIDES.includes(S)) throw new Error(`${op}: stride ${S} unsupported (1 or 2)`);
  if (xShape.length !== 4 || xShape[3] !== C) {
    throw new Error(`${op}: input shape ${shapeStr(xShape)} does not match w ${shapeStr(w.shape)}`);
  }
  const [N, H, W] = xShape;
  const OH = dwconvOutSize(H, K, S);
  const OW = dwconvOutSize(W, K, S);
  if (N < 1 || C < 1 || OH < 1 || OW < 1) {
    throw new Error(`${op}: input ${shapeStr(xShape)} is empty`);
  }
  return { N, H, W, C, K, S, OH, OW };
}

function kernelFor(g: Geometry, kernel: DwconvKernel): DwconvKernel {
  if (kernel.variant === "slide" && kernel.vec !== 4) {
    throw new Error("dwconv: the slide kernels read channels in vec4s (vec: 4)");
  }
  if (kernel.vec === 4 && g.C % 4 !== 0) {
    throw new Error(`dwconv: the vec4 kernel needs C % 4 == 0, got C = ${g.C}`);
  }
  return kernel.variant === "naive" ? { variant: "naive", vec: 1 } : kernel;
}

// Pipeline source named by pass, variant, tile and width, e.g.
// `dwconv.forward.tiled4x4.vec4`.
function source(
  file: string,
  pass: string,
  k: DwconvKernel,
  g: Geometry,
  sizes: Record<string, number>,
) {
  const vecName = k.vec === 4 ? "vec4" : "scalar";
  const tile = k.variant === "tiled" ? `${sizes.TILE_H ?? 1}x${sizes.TILE_W}` : "";
  return {
    name: `dwconv.${pass}.${k.variant}${tile}.${vecName}`,
    code: fillTemplate(file, wgsl(file), { VEC: k.vec === 4 ? "vec4f" : "f32" }),
    entryPoint: k.variant,
    constants: { K: g.K, S: g.S, ...sizes },
  };
}

function shapeParams(g: Geometry, vec: number): number[] {
  return [g.N, g.H, g.W, g.C / vec, g.OH, g.OW];
}

const ceilDiv = (a: number, b: number): number => Math.ceil(a / b);

function prologueOf(pre: BnPrologue | undefined, g: Geometry, op: string): SlidePrologue {
  if (!pre) return "none";
  expectShape(op, "pre.coef", pre.coef, [3, g.C]);
  return pre.relu6 ? "bn6" : "bn";
}

const SLIDE_SOURCES = {
  forward: slideForwardWgsl,
  "backward-input": slideBackwardInputWgsl,
  "backward-weight": slideBackwardWeightWgsl,
} as const;

/** Generated sources by pipeline name (generation costs more than a cache lookup). */
const slideCode = new Map<string, string>();

/**
 * Records one generated slide kernel over `invocations` (tensors: inputs,
 * output); `parity` picks the tap-row half of a split weight gradient.
 */
function slideDispatch(
  gpu: Gpu,
  pass: keyof typeof SLIDE_SOURCES,
  g: Geometry,
  TH: number,
  tensors: Tensor[],
  extra: number[],
  invocations: number,
  pre: SlidePrologue = "none",
  parity?: 0 | 1,
): void {
  const { WG } = CONFIG.slide;
  const name =
    `dwconv.${pass}.slide.k${g.K}s${g.S}th${TH}` +
    `${pre === "none" ? "" : `.${pre}`}${parity === undefined ? "" : `.rows${parity}`}`;
  let code = slideCode.get(name);
  if (code === undefined) {
    code =
      pass === "backward-weight"
        ? slideBackwardWeightWgsl(g.K, g.S, TH, pre, parity)
        : SLIDE_SOURCES[pass](g.K, g.S, TH, pre);
    slideCode.set(name, code);
  }
  const SPREAD = laneSpread(gpu);
  const pipe = gpu.pipeline({
    name,
    code,
    entryPoint: "main",
    constants: { WG, SPREAD },
  });
  gpu.dispatch(pipe, {
    tensors,
    params: [...shapeParams(g, 4), ...extra],
    groups: ceilDiv(invocations, WG),
  });
}

/** y = depthwise conv of x with w. */
export function dwconv(gpu: Gpu, x: Tensor, w: Tensor, opts: DwconvOptions, y?: Tensor): Tensor {
  return dwconvWith(gpu, selectDwconv(w.shape[2] ?? 0), x, w, opts, y);
}

export function dwconvWith(
  gpu: Gpu,
  kernel: DwconvKernel,
  x: Tensor,
  w: Tensor,
  opts: DwconvOptions,
  y?: Tensor,
): Tensor {
  const g = geometry("dwconv", x.shape, w, opts.stride);
  const k = kernelFor(g, kernel);
  const pre = prologueOf(opts.pre, g, "dwconv");
  if (y) {
    expectShape("dwconv", "y", y, [g.N, g.OH, g.OW, g.C]);
    expectDistinct("dwconv", ["y", y], ["x", x], ["w", w], ["pre.coef", opts.pre?.coef]);
  }
  const out = y ?? gpu.empty([g.N, g.OH, g.OW, g.C], "dwconv.y");
  if (k.variant === "slide") {
    const TH = stripRows("forward", g);
    const strips = g.N * ceilDiv(g.OH, TH) * (g.C / 4);
    const ins = opts.pre ? [x, w, opts.pre.coef] : [x, w];
    slideDispatch(gpu, "forward", g, TH, [...ins, out], [0, 0, 0], strips, pre);
    return out;
  }
  if (opts.pre) {
    const a = batchNormApply(gpu, x, opts.pre);
    dwconvWith(gpu, k, a, w, { stride: opts.stride }, out);
    a.dispose();
    return out;
  }
  const sz = blockSizes("forward", k, g.K);

  // One invocation per TILE_H x TILE_W block of output vectors (1 x 1: naive).
  const blocks = g.N * ceilDiv(g.OH, sz.TILE_H) * ceilDiv(g.OW, sz.TILE_W);
  const pipe = gpu.pipeline(source("dwconv.forward.wgsl", "forward", k, g, sz));
  gpu.dispatch(pipe, {
    tensors: [x, w, out],
    params: shapeParams(g, k.vec),
    groups: ceilDiv(blocks * (g.C / k.vec), sz.WG),
  });
  return out;
}

/** dx = gradient of the input given dy; `inputShape` is x's shape. */
export function dwconvBackwardInput(
  gpu: Gpu,
  dy: Tensor,
  w: Tensor,
  opts: DwconvOptions & { readonly inputShape: readonly number[] },
  dx?: Tensor,
): Tensor {
  return dwconvBackwardInputWith(gpu, selectDwconv(w.shape[2] ?? 0), dy, w, opts, dx);
}

export function dwconvBackwardInputWith(
  gpu: Gpu,
  kernel: DwconvKernel,
  dy: Tensor,
  w: Tensor,
  opts: DwconvOptions & { readonly inputShape: readonly number[] },
  dx?: Tensor,
): Tensor {
  const op = "dwconvBackwardInput";
  if (!Array.isArray(opts.inputShape)) {
    throw new Error(
      `${op}: opts.inputShape (x's shape [N, H, W, C]) is required, got ${opts.inputShape}`,
    );
  }
  const g = geometry(op, opts.inputShape, w, opts.stride);
  expectShape(op, "dy", dy, [g.N, g.OH, g.OW, g.C]);
  const k = kernelFor(g, kernel);
  if (dx) {
    expectShape(op, "dx", dx, opts.inputShape);
    expectDistinct(op, ["dx", dx], ["dy", dy], ["w", w]);
  }
  const out = dx ?? gpu.empty(opts.inputShape, "dwconv.dx");
  if (k.variant === "slide") {
    const TH = stripRows("backwardInput", g);
    const strips = g.N * ceilDiv(g.H, TH) * (g.C / 4);
    slideDispatch(gpu, "backward-input", g, TH, [dy, w, out], [0, 0, 0], strips);
    return out;
  }
  const sz = blockSizes("backwardInput", k, g.K);

  // One invocation per TILE_H x TILE_W block of dx vectors (1 x 1: naive).
  const blocks = g.N * ceilDiv(g.H, sz.TILE_H) * ceilDiv(g.W, sz.TILE_W);
  const pipe = gpu.pipeline(source("dwconv.backward-input.wgsl", "backward-input", k, g, sz));
  gpu.dispatch(pipe, {
    tensors: [dy, w, out],
    params: shapeParams(g, k.vec),
    groups: ceilDiv(blocks * (g.C / k.vec), sz.WG),
  });
  return out;
}

/** dw = (accumulate ? dw : 0) + gradient of the weights given x and dy. */
export function dwconvBackwardWeight(
  gpu: Gpu,
  x: Tensor,
  dy: Tensor,
  dw: Tensor,
  opts: DwconvOptions,
  accumulate: boolean,
): void {
  dwconvBackwardWeightWith(gpu, selectDwconv(dw.shape[2] ?? 0), x, dy, dw, opts, accumulate);
}

export function dwconvBackwardWeightWith(
  gpu: Gpu,
  kernel: DwconvKernel,
  x: Tensor,
  dy: Tensor,
  dw: Tensor,
  opts: DwconvOptions,
  accumulate: boolean,
): void {
  const op = "dwconvBackwardWeight";
  const g = geometry(op, x.shape, dw, opts.stride);
  expectShape(op, "dy", dy, [g.N, g.OH, g.OW, g.C]);
  const k = kernelFor(g, kernel);
  const pre = prologueOf(opts.pre, g, op);
  // Refused whatever the variant, though only the naive kernel binds dw with x and dy.
  expectDistinct(op, ["dw", dw], ["x", x], ["dy", dy], ["pre.coef", opts.pre?.coef]);
  if (opts.pre && k.variant !== "slide") {
    const a = batchNormApply(gpu, x, opts.pre);
    dwconvBackwardWeightWith(gpu, k, a, dy, dw, { stride: opts.stride }, accumulate);
    a.dispose();
    return;
  }
  const file = "dwconv.backward-weight.wgsl";
  if (k.variant === "naive") {
    const sizes = { WG: CONFIG.naive.WG, TILE_H: 1, TILE_W: 1 };
    const pipe = gpu.pipeline(source(file, "backward-weight", k, g, sizes));
    const params = [...shapeParams(g, 1), 0, 0, accumulate ? 1 : 0];
    const groups = ceilDiv(g.K * g.K * g.C, CONFIG.naive.WG);
    gpu.dispatch(pipe, { tensors: [x, dy, dw], params, groups });
    return;
  }

  // Pass 1: G partial sums, each over a run of blocks of TILE_H dy rows.
  const cfg = CONFIG.backwardWeight;
  const slide = k.variant === "slide";
  const blockRows = slide ? stripRows("backwardWeight", g) : cfg.TILE_H;
  const blocks = g.N * ceilDiv(g.OH, blockRows);
  const perGroup = Math.max(cfg.MIN_BLOCKS_PER_GROUP, ceilDiv(blocks, cfg.MAX_GROUPS));
  const G = ceilDiv(blocks, perGroup);
  const CV = g.C / k.vec;
  const partial = gpu.empty([G, g.K, g.K, g.C], "dwconv.dw.partial");
  if (slide) {
    const ins = opts.pre ? [x, dy, opts.pre.coef] : [x, dy];
    const extra = [G, perGroup, 0];
    const run = (parity?: 0 | 1) =>
      slideDispatch(
        gpu,
        "backward-weight",
        g,
        blockRows,
        [...ins, partial],
        extra,
        G * CV,
        pre,
        parity,
      );
    if (g.S === 2 && (CONFIG.slide.ROW_PARITY_SPLIT as readonly number[]).includes(g.K)) {
      // Two halves writing disjoint taps of the same partial sums.
      run(0);
      run(1);
    } else {
      run();
    }
  } else {
    const sizes = { WG: cfg.WG, TILE_H: cfg.TILE_H, TILE_W: cfg.TILE_W };
    const pipe = gpu.pipeline(source(file, "backward-weight", k, g, sizes));
    const params = [...shapeParams(g, k.vec), G, perGroup, 0];
    gpu.dispatch(pipe, { tensors: [x, dy, partial], params, groups: ceilDiv(G * CV, cfg.WG) });
  }

  // Pass 2: fixed-order sum of the partials into dw.
  const count = g.K * g.K * CV;
  const reduceFile = "dwconv.backward-weight-reduce.wgsl";
  const reduce = gpu.pipeline({
    name: `dwconv.backward-weight-reduce.${k.vec === 4 ? "vec4" : "scalar"}`,
    code: fillTemplate(reduceFile, wgsl(reduceFile), { VEC: k.vec === 4 ? "vec4f" : "f32" }),
    constants: { WG: CONFIG.reduce.WG },
  });
  gpu.dispatch(reduce, {
    tensors: [partial, dw],
    params: [count, G, accumulate ? 1 : 0],
    groups: ceilDiv(count, CONFIG.reduce.WG),
  });
  // Later users of this pooled buffer are recorded after the reduce, so they run after it.
  partial.dispose();
}
