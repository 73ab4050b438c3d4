// Squeeze-and-excitation of a supernet choice block: global average pool,
// FC + ReLU, FC + sigmoid gate, channel scaling, and its backward.

import {
  addInto,
  channelScale,
  channelScaleBackward,
  globalAvgPool,
  globalAvgPoolBackward,
  linear,
  linearBackwardInput,
  linearBackwardParams,
  relu,
  reluBackward,
  sigmoid,
  sigmoidBackward,
  type Gpu,
  type Tensor,
} from "@fairnas/kernels";
import { takeAccumulate2 } from "./bn-mode.ts";
import type { Param } from "./params.ts";

export interface SeParams {
  readonly w1: Param;
  readonly b1: Param;
  readonly w2: Param;
  readonly b2: Param;
}

/**
 * SE on a: [N, H, W, E]; `a` stays alive (the caller owns it). With `tape`
 * the intermediates are kept for `back`, which maps dy to da (adding the
 * gate path to the scaling path) and writes the SE parameters' gradients.
 */
export function seForward(
  gpu: Gpu,
  se: SeParams,
  a: Tensor,
  tape: boolean,
): { y: Tensor; back: (dy: Tensor) => Tensor } {
  const pooled = globalAvgPool(gpu, a);
  const z = linear(gpu, pooled, se.w1.w, se.b1.w);
  const zr = relu(gpu, z);
  const g = linear(gpu, zr, se.w2.w, se.b2.w);
  const s = sigmoid(gpu, g);
  g.dispose();
  const y = channelScale(gpu, a, s);
  if (!tape) {
    for (const t of [pooled, z, zr, s]) t.dispose();
  }
  const back = (dy: Tensor): Tensor => {
    const { dx, ds } = channelScaleBackward(gpu, a, s, dy);
    const dg = sigmoidBackward(gpu, s, ds);
    ds.dispose();
    s.dispose();
    linearBackwardParams(gpu, zr, dg, se.w2.g, se.b2.g, takeAccumulate2(se.w2, se.b2));
    const dzr = linearBackwardInput(gpu, dg, se.w2.w);
    dg.dispose();
    zr.dispose();
    const dz = reluBackward(gpu, z, dzr);
    dzr.dispose();
    z.dispose();
    linearBackwardParams(gpu, pooled, dz, se.w1.g, se.b1.g, takeAccumulate2(se.w1, se.b1));
    const dp = linearBackwardInput(gpu, dz, se.w1.w);
    dz.dispose();
    pooled.dispose();
    const dxPool = globalAvgPoolBackward(gpu, dp, a.shape);
    dp.dispose();
    addInto(gpu, dx, dxPool);
    dxPool.dispose();
    return dx;
  };
  return { y, back };
}
