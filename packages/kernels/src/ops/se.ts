// Host side of the squeeze-and-excitation pieces: channel scaling
// y = x * s[n, c] and the sigmoid / ReLU of the excitation path, with their
// backward passes. Variants: `scalar` (one float at a time, any shape) and
// `vec4` (four channels per load, when the shape allows).

import type { Gpu } from "../runtime/gpu.ts";
import { expectDistinct, expectShape, shapeStr, type Tensor } from "../runtime/tensor.ts";
import { fillTemplate, wgsl } from "../runtime/wgsl.ts";

export type SeVariant = "scalar" | "vec4";

const CONFIG = { WG: 64, PER: 4 } as const;

let forced: SeVariant | null = null;

/** Tests pin a variant with this; null restores automatic selection. */
export function forceSeVariant(v: SeVariant | null): void {
  forced = v;
}

/** vec4 when `width` (C, or the element count of flat ops) is a multiple of 4. */
export function selectSeVariant(width: number): SeVariant {
  if (forced === "scalar" || width % 4 !== 0) return "scalar";
  return "vec4";
}

function kernel(
  gpu: Gpu,
  pass: "forward" | "backward",
  entry: string,
  v: SeVariant,
): GPUComputePipeline {
  const file = `se.${pass}.wgsl`;
  const T = v === "vec4" ? "vec4<f32>" : "f32";
  return gpu.pipeline({
    name: `se.${pass}.${entry}.${v}`,
    code: fillTemplate(file, wgsl(file), { T }),
    entryPoint: entry,
    constants: { WG: CONFIG.WG, PER: CONFIG.PER },
  });
}

function flatGroups(count: number): number {
  return Math.ceil(count / (CONFIG.WG * CONFIG.PER));
}

function nhwc(op: string, x: Tensor, s: Tensor): [number, number, number] {
  if (x.shape.length !== 4)
    throw new Error(`${op}: x must be [N, H, W, C], got ${shapeStr(x.shape)}`);
  const [N, H, W, C] = x.shape;
  expectShape(op, "s", s, [N, C]);
  return [N, H * W, C];
}

/** y = x * s[n, c]; x [N, H, W, C], s [N, C]. */
export function channelScale(gpu: Gpu, x: Tensor, s: Tensor, y?: Tensor): Tensor {
  const [, HW, C] = nhwc("channelScale", x, s);
  if (y) {
    expectShape("channelScale", "y", y, x.shape);
    expectDistinct("channelScale", ["y", y], ["x", x], ["s", s]);
  }
  const out = y ?? gpu.empty(x.shape, "se.y");
  const v = selectSeVariant(C);
  const lanes = v === "vec4" ? 4 : 1;
  const count = x.size / lanes;
  gpu.dispatch(kernel(gpu, "forward", "scale", v), {
    tensors: [x, s, out],
    params: [count, C / lanes, (HW * C) / lanes],
    groups: flatGroups(count),
  });
  return out;
}

/** dx = dy * s[n, c] and ds[n, c] = sum over H, W of dy * x (new tensors). */
export function channelScaleBackward(
  gpu: Gpu,
  x: Tensor,
  s: Tensor,
  dy: Tensor,
): { dx: Tensor; ds: Tensor } {
  const [N, HW, C] = nhwc("channelScaleBackward", x, s);
  expectShape("channelScaleBackward", "dy", dy, x.shape);
  const dx = gpu.empty(x.shape, "se.dx");
  const ds = gpu.empty(s.shape, "se.ds");
  const v = selectSeVariant(C);
  const cols = v === "vec4" ? C / 4 : C;
  gpu.dispatch(kernel(gpu, "backward", "scale", v), {
    tensors: [x, s, dy, dx, ds],
    params: [0, cols, HW, N],
    groups: Math.ceil((N * cols) / CONFIG.WG),
  });
  return { dx, ds };
}

/** Records out = f(inputs), allocating `out` (labelled `label`) when not given. */
function flat(
  gpu: Gpu,
  op: string,
  pass: "forward" | "backward",
  entry: string,
  inputs: readonly (readonly [string, Tensor])[],
  given: Tensor | undefined,
  label: string,
): Tensor {
  const shape = inputs[0][1].shape;
  for (const [name, t] of inputs.slice(1)) expectShape(op, name, t, shape);
  if (given) {
    const name = pass === "forward" ? "y" : "dx";
    expectShape(op, name, given, shape);
    expectDistinct(op, [name, given], ...inputs);
  }
  // Allocated only once the call is known to be valid (a refused call leaks nothing).
  const out = given ?? gpu.empty(shape, label);
  const v = selectSeVariant(out.size);
  const count = v === "vec4" ? out.size / 4 : out.size;
  gpu.dispatch(kernel(gpu, pass, entry, v), {
    tensors: [...inputs.map(([, t]) => t), out],
    params: [count, 0, 0, 0],
    groups: flatGroups(count),
  });
  return out;
}

/** y = 1 / (1 + exp(-x)). */
export function sigmoid(gpu: Gpu, x: Tensor, y?: Tensor): Tensor {
  return flat(gpu, "sigmoid", "forward", "sigmoid", [["x", x]], y, "sigmoid.y");
}

/** dx = dy * y * (1 - y), from the sigmoid's output y. */
export function sigmoidBackward(gpu: Gpu, y: Tensor, dy: Tensor, dx?: Tensor): Tensor {
  return flat(
    gpu,
    "sigmoidBackward",
    "backward",
    "sigmoid",
    [
      ["y", y],
      ["dy", dy],
    ],
    dx,
    "sigmoid.dx",
  );
}

/** y = max(x, 0). */
export function relu(gpu: Gpu, x: Tensor, y?: Tensor): Tensor {
  return flat(gpu, "relu", "forward", "relu", [["x", x]], y, "relu.y");
}

/** dx = dy where x > 0, else 0. */
export function reluBackward(gpu: Gpu, x: Tensor, dy: Tensor, dx?: Tensor): Tensor {
  return flat(
    gpu,
    "reluBackward",
    "backward",
    "relu",
    [
      ["x", x],
      ["dy", dy],
    ],
    dx,
    "relu.dx",
  );
}
