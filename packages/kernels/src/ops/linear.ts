// Host side of the fully connected layer (the classifier). The forward adds
// the bias in its own small kernel; the two weight-side GEMMs of the
// backward are the pointwise-conv kernels (a linear layer is a 1x1 conv over
// N rows), and the bias gradient is a column sum.

import type { Gpu } from "../runtime/gpu.ts";
import { expectDistinct, expectRank, expectShape, type Tensor } from "../runtime/tensor.ts";
import { wgsl } from "../runtime/wgsl.ts";
import { pwconvBackwardInput, pwconvBackwardWeight } from "./pwconv.ts";

/** Workgroup size of the linear kernels, and their dispatches. */
export const LINEAR_CONFIG = { WG: 64 } as const;

function groups(invocations: number): number {
  return Math.ceil(invocations / LINEAR_CONFIG.WG);
}

function checkParams(op: string, x: Tensor, w: Tensor): [number, number, number] {
  expectRank(op, "x", x, 2);
  expectRank(op, "w", w, 2);
  const [n, ci] = x.shape;
  expectShape(op, "w", w, [ci, w.shape[1]]);
  return [n, ci, w.shape[1]];
}

/** y[N, Co] = x[N, Ci] w[Ci, Co] + b[Co]. */
export function linear(gpu: Gpu, x: Tensor, w: Tensor, b: Tensor, y?: Tensor): Tensor {
  const [n, ci, co] = checkParams("linear", x, w);
  expectShape("linear", "b", b, [co]);
  if (y) {
    expectShape("linear", "y", y, [n, co]);
    expectDistinct("linear", ["y", y], ["x", x], ["w", w], ["b", b]);
  }
  const out = y ?? gpu.empty([n, co], "linear.y");
  const pipe = gpu.pipeline({
    name: "linear.forward.naive",
    code: wgsl("linear.forward.wgsl"),
    entryPoint: "naive",
    constants: { WG: LINEAR_CONFIG.WG },
  });
  gpu.dispatch(pipe, { tensors: [x, w, b, out], params: [n, ci, co], groups: groups(n * co) });
  return out;
}

/** dx[N, Ci] = dy[N, Co] w[Ci, Co]^T. */
export function linearBackwardInput(gpu: Gpu, dy: Tensor, w: Tensor, dx?: Tensor): Tensor {
  expectRank("linearBackwardInput", "dy", dy, 2);
  expectRank("linearBackwardInput", "w", w, 2);
  expectShape("linearBackwardInput", "w", w, [w.shape[0], dy.shape[1]]);
  if (dx) expectDistinct("linearBackwardInput", ["dx", dx], ["dy", dy], ["w", w]);
  return pwconvBackwardInput(gpu, dy, w, dx);
}

/** dw = x^T dy and db = column sums of dy; added to dw, db when `accumulate`. */
export function linearBackwardParams(
  gpu: Gpu,
  x: Tensor,
  dy: Tensor,
  dw: Tensor,
  db: Tensor,
  accumulate: boolean,
): void {
  const op = "linearBackwardParams";
  const [n, ci, co] = checkParams(op, x, dw);
  expectShape(op, "dy", dy, [n, co]);
  expectShape(op, "db", db, [co]);
  expectShape(op, "dw", dw, [ci, co]);
  expectDistinct(op, ["dw", dw], ["x", x], ["dy", dy]);
  expectDistinct(op, ["db", db], ["dy", dy]);
  pwconvBackwardWeight(gpu, x, dy, dw, accumulate);
  const pipe = gpu.pipeline({
    name: "linear.backward-bias.naive",
    code: wgsl("linear.backward-bias.wgsl"),
    entryPoint: "naive",
    constants: { WG: LINEAR_CONFIG.WG },
  });
  gpu.dispatch(pipe, {
    tensors: [dy, db],
    params: [n, co, accumulate ? 1 : 0],
    groups: groups(co),
  });
}
