// Host side of global average pooling: x [N, H, W, C] -> y [N, C], and its
// backward, which spreads dy / (H * W) over every pixel. One kernel per
// pass, vec4 over channels when C % 4 == 0 and scalar otherwise
// (`selectPoolVec`). Functions only record dispatches.

import { f32, type Gpu } from "../runtime/gpu.ts";
import {
  expectDistinct,
  expectRank,
  expectShape,
  shapeStr,
  type Tensor,
} from "../runtime/tensor.ts";
import { fillTemplate, wgsl } from "../runtime/wgsl.ts";

// forward: one invocation per channel vector of an image;
// backward: PER_INVOCATION vectors of dx per invocation.
const CONFIG = {
  forward: { WG: 64 },
  backward: { WG: 256, PER_INVOCATION: 4 },
} as const;

/** Channel vector width: 4 when channels come in whole vectors. */
export function selectPoolVec(C: number): 1 | 4 {
  return C % 4 === 0 ? 4 : 1;
}

function pipelineFor(gpu: Gpu, pass: string, vec: 1 | 4, WG: number): GPUComputePipeline {
  const file = `pool.${pass}.wgsl`;
  return gpu.pipeline({
    name: `pool.${pass}.global-avg.${vec === 4 ? "vec4" : "scalar"}`,
    code: fillTemplate(file, wgsl(file), { VEC: vec === 4 ? "vec4f" : "f32" }),
    constants: { WG },
  });
}

function checkInput(op: string, shape: readonly number[]): void {
  if (shape.length !== 4 || shape[1] * shape[2] === 0) {
    throw new Error(`${op}: input must be [N, H, W, C] with H * W > 0, got ${shapeStr(shape)}`);
  }
}

/** y[n, c] = mean of x[n, :, :, c]. */
export function globalAvgPool(gpu: Gpu, x: Tensor, y?: Tensor): Tensor {
  return globalAvgPoolWith(gpu, selectPoolVec(x.shape[3] ?? 0), x, y);
}

export function globalAvgPoolWith(gpu: Gpu, vec: 1 | 4, x: Tensor, y?: Tensor): Tensor {
  checkInput("globalAvgPool", x.shape);
  const [N, H, W, C] = x.shape;
  checkVec("globalAvgPool", vec, C);
  if (y) {
    expectShape("globalAvgPool", "y", y, [N, C]);
    expectDistinct("globalAvgPool", ["y", y], ["x", x]);
  }
  const out = y ?? gpu.empty([N, C], "pool.y");
  const pipe = pipelineFor(gpu, "forward", vec, CONFIG.forward.WG);
  gpu.dispatch(pipe, {
    tensors: [x, out],
    params: [N, H * W, C / vec, f32(1 / (H * W))],
    groups: Math.ceil((N * C) / vec / CONFIG.forward.WG),
  });
  return out;
}

/** dx[n, h, w, c] = dy[n, c] / (H * W); `inputShape` is x's shape. */
export function globalAvgPoolBackward(
  gpu: Gpu,
  dy: Tensor,
  inputShape: readonly number[],
  dx?: Tensor,
): Tensor {
  return globalAvgPoolBackwardWith(gpu, selectPoolVec(inputShape[3] ?? 0), dy, inputShape, dx);
}

export function globalAvgPoolBackwardWith(
  gpu: Gpu,
  vec: 1 | 4,
  dy: Tensor,
  inputShape: readonly number[],
  dx?: Tensor,
): Tensor {
  const op = "globalAvgPoolBackward";
  checkInput(op, inputShape);
  const [N, H, W, C] = inputShape;
  checkVec(op, vec, C);
  expectRank(op, "dy", dy, 2);
  expectShape(op, "dy", dy, [N, C]);
  if (dx) {
    expectShape(op, "dx", dx, inputShape);
    expectDistinct(op, ["dx", dx], ["dy", dy]);
  }
  const out = dx ?? gpu.empty(inputShape, "pool.dx");
  const cfg = CONFIG.backward;
  const pipe = pipelineFor(gpu, "backward", vec, cfg.WG);
  gpu.dispatch(pipe, {
    tensors: [dy, out],
    params: [N, H * W, C / vec, f32(1 / (H * W))],
    groups: Math.ceil(out.size / vec / (cfg.WG * cfg.PER_INVOCATION)),
  });
  return out;
}

function checkVec(op: string, vec: 1 | 4, C: number): void {
  if (C % vec !== 0) throw new Error(`${op}: vec${vec} needs C % ${vec} == 0, got C = ${C}`);
}
