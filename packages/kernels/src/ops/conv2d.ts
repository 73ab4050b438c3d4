// Host side of the dense KxK convolution used as the network stem (1 or 3
// input channels). Same padding P = (K - 1) / 2, K in {1, 3, 5, 7}, stride
// 1 or 2; NHWC activations, w: [K, K, Ci, Co]. The weight gradient is split
// over output pixels into partial sums reduced in a fixed order.

import type { Gpu } from "../runtime/gpu.ts";
import {
  expectDistinct,
  expectRank,
  expectShape,
  shapeStr,
  type Tensor,
} from "../runtime/tensor.ts";
import { wgsl } from "../runtime/wgsl.ts";
import { pwconvSlices, recordSliceReduce } from "./pwconv.ts";

export interface Conv2dOptions {
  readonly stride: number;
}

export type Conv2dVariant = "naive" | "vec4";

/** Workgroup size of every conv2d kernel, and their dispatches. */
export const CONV2D_CONFIG = { WG: 64 } as const;

const KERNEL_SIZES = [1, 3, 5, 7];
const STRIDES = [1, 2];

interface Geometry {
  readonly N: number;
  readonly H: number;
  readonly W: number;
  readonly CI: number;
  readonly CO: number;
  readonly OH: number;
  readonly OW: number;
  readonly K: number;
  readonly S: number;
}

function groups(invocations: number): number {
  return Math.ceil(invocations / CONV2D_CONFIG.WG);
}

/** Output size along one axis: floor((size + 2P - K) / S) + 1. */
export function conv2dOutSize(size: number, k: number, stride: number): number {
  const pad = (k - 1) / 2;
  return Math.floor((size + 2 * pad - k) / stride) + 1;
}

function geometry(op: string, inShape: readonly number[], w: Tensor, stride: number): Geometry {
  expectRank(op, "w", w, 4);
  const [k, k2, ci, co] = w.shape;
  if (k !== k2 || !KERNEL_SIZES.includes(k)) {
    throw new Error(
      `${op}: w has shape ${shapeStr(w.shape)}; ` +
        `kernel must be KxK with K in {${KERNEL_SIZES.join(", ")}}`,
    );
  }
  if (!STRIDES.includes(stride)) {
    throw new Error(`${op}: stride ${stride} unsupported; use ${STRIDES.join(" or ")}`);
  }
  if (inShape.length !== 4 || inShape[3] !== ci) {
    throw new Error(
      `${op}: input shape ${shapeStr(inShape)} does not match w ${shapeStr(w.shape)} ` +
        `(expected [N, H, W, ${ci}])`,
    );
  }
  const [n, h, wd] = inShape;
  return {
    N: n,
    H: h,
    W: wd,
    CI: ci,
    CO: co,
    OH: conv2dOutSize(h, k, stride),
    OW: conv2dOutSize(wd, k, stride),
    K: k,
    S: stride,
  };
}

function shapeParams(g: Geometry): number[] {
  return [g.N, g.H, g.W, g.CI, g.CO, g.OH, g.OW];
}

/** vec4 needs Co in whole vec4s; the stem's Ci (1 or 3) is read as scalars. */
export function selectConv2dVariant(co: number): Conv2dVariant {
  return co % 4 === 0 ? "vec4" : "naive";
}

// ---- forward ----

/** y[N, OH, OW, Co] = conv(x[N, H, W, Ci], w[K, K, Ci, Co]). */
export function conv2d(gpu: Gpu, x: Tensor, w: Tensor, opts: Conv2dOptions, y?: Tensor): Tensor {
  const g = geometry("conv2d", x.shape, w, opts.stride);
  const outShape = [g.N, g.OH, g.OW, g.CO];
  if (y) {
    expectShape("conv2d", "y", y, outShape);
    expectDistinct("conv2d", ["y", y], ["x", x], ["w", w]);
  }
  const out = y ?? gpu.empty(outShape, "conv2d.y");
  conv2dForwardWith(gpu, selectConv2dVariant(g.CO), x, w, out, opts);
  return out;
}

/** Records the forward with an explicit variant (tests use every one). */
export function conv2dForwardWith(
  gpu: Gpu,
  variant: Conv2dVariant,
  x: Tensor,
  w: Tensor,
  y: Tensor,
  opts: Conv2dOptions,
): void {
  const g = geometry("conv2d", x.shape, w, opts.stride);
  expectShape("conv2d", "y", y, [g.N, g.OH, g.OW, g.CO]);
  expectDistinct("conv2d", ["y", y], ["x", x], ["w", w]);
  if (variant === "vec4" && g.CO % 4 !== 0) {
    throw new Error(`conv2d.forward.vec4: needs Co a multiple of 4, got ${g.CO}`);
  }
  const pipe = gpu.pipeline({
    name: `conv2d.forward.${variant}.k${g.K}s${g.S}`,
    code: wgsl("conv2d.forward.wgsl"),
    entryPoint: variant === "vec4" ? "vec4Out" : "naive",
    constants: { WG: CONV2D_CONFIG.WG, K: g.K, S: g.S },
  });
  // vec4: one invocation per four pixels of a row and one vec4 of channels.
  const inv =
    variant === "vec4" ? g.N * g.OH * Math.ceil(g.OW / 4) * (g.CO / 4) : g.N * g.OH * g.OW * g.CO;
  gpu.dispatch(pipe, { tensors: [x, w, y], params: shapeParams(g), groups: groups(inv) });
}

// ---- backward ----

/** dx[inputShape] = gradient of the input given dy[N, OH, OW, Co]. */
export function conv2dBackwardInput(
  gpu: Gpu,
  dy: Tensor,
  w: Tensor,
  opts: Conv2dOptions & { readonly inputShape: readonly number[] },
  dx?: Tensor,
): Tensor {
  const op = "conv2dBackwardInput";
  if (!Array.isArray(opts.inputShape)) {
    throw new Error(
      `${op}: opts.inputShape (x's shape [N, H, W, Cin]) is required, got ${opts.inputShape}`,
    );
  }
  const g = geometry(op, opts.inputShape, w, opts.stride);
  expectShape(op, "dy", dy, [g.N, g.OH, g.OW, g.CO]);
  if (dx) {
    expectShape(op, "dx", dx, opts.inputShape);
    expectDistinct(op, ["dx", dx], ["dy", dy], ["w", w]);
  }
  const out = dx ?? gpu.empty(opts.inputShape, "conv2d.dx");
  const pipe = gpu.pipeline({
    name: `conv2d.backward-input.naive.k${g.K}s${g.S}`,
    code: wgsl("conv2d.backward-input.wgsl"),
    entryPoint: "naive",
    constants: { WG: CONV2D_CONFIG.WG, K: g.K, S: g.S },
  });
  const inv = g.N * g.H * g.W * g.CI;
  gpu.dispatch(pipe, { tensors: [dy, w, out], params: shapeParams(g), groups: groups(inv) });
  return out;
}

/** dw[K, K, Ci, Co] = gradient of the weight; added to dw when `accumulate`. */
export function conv2dBackwardWeight(
  gpu: Gpu,
  x: Tensor,
  dy: Tensor,
  dw: Tensor,
  opts: Conv2dOptions,
  accumulate: boolean,
): void {
  const g = geometry("conv2dBackwardWeight", x.shape, dw, opts.stride);
  conv2dBackwardWeightWith(gpu, selectConv2dVariant(g.CO), x, dy, dw, opts, accumulate);
}

/** Records the weight gradient with an explicit variant ("vec4" means split + reduce). */
export function conv2dBackwardWeightWith(
  gpu: Gpu,
  variant: Conv2dVariant,
  x: Tensor,
  dy: Tensor,
  dw: Tensor,
  opts: Conv2dOptions,
  accumulate: boolean,
): void {
  const op = "conv2dBackwardWeight";
  const g = geometry(op, x.shape, dw, opts.stride);
  expectShape(op, "dy", dy, [g.N, g.OH, g.OW, g.CO]);
  // Refused whatever the variant, though only the naive kernel binds dw with x and dy.
  expectDistinct(op, ["dw", dw], ["x", x], ["dy", dy]);
  if (variant === "vec4" && g.CO % 4 !== 0)
    throw new Error(`conv2d.backward-weight.split: needs Co a multiple of 4, got ${g.CO}`);
  const code = wgsl("conv2d.backward-weight.wgsl");
  const constants = { WG: CONV2D_CONFIG.WG, K: g.K, S: g.S };
  const rows = g.N * g.OH * g.OW;
  if (variant === "naive") {
    const pipe = gpu.pipeline({
      name: `conv2d.backward-weight.naive.k${g.K}s${g.S}`,
      code,
      entryPoint: "naive",
      constants,
    });
    const params = [...shapeParams(g), 0, 0, accumulate ? 1 : 0];
    gpu.dispatch(pipe, { tensors: [x, dy, dw], params, groups: groups(dw.size) });
    return;
  }

  // Partial sums per slice of output pixels, then the shared ordered reduce.
  const { slices, rows: perSlice } = pwconvSlices(rows);
  const part = gpu.empty([slices, ...dw.shape], "conv2d.dw.partial");
  const pipe = gpu.pipeline({
    name: `conv2d.backward-weight.split.k${g.K}s${g.S}`,
    code,
    entryPoint: "split",
    constants,
  });
  const params = [...shapeParams(g), perSlice, slices, 0];
  gpu.dispatch(pipe, { tensors: [x, dy, part], params, groups: groups((dw.size / 4) * slices) });
  recordSliceReduce(gpu, part, dw, slices, accumulate);
}
