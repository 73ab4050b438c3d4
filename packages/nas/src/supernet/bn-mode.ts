// Batch norm in the supernet's passes: the BN modes (training, running
// statistics, statistics collection for recalibration, given statistics)
// and one pass of a BN layer in any of them, deferred so the next
// convolution can apply it as it loads its input (BnPrologue).

import {
  batchNormBackward,
  batchNormInferDeferred,
  batchNormStats,
  batchNormTrainDeferred,
  type BnParams,
  type BnPrologue,
  type Gpu,
  type Tensor,
} from "@fairnas/kernels";
import type { BnState, Param } from "./params.ts";

/** How batch norm behaves in a forward pass. */
export type BnMode =
  /** batch statistics, running statistics updated (training) */
  | { readonly kind: "train" }
  /** stored running statistics */
  | { readonly kind: "tracked" }
  /** batch statistics without touching running stats; per-batch stats handed to `sink` */
  | {
      readonly kind: "collect";
      /** `count`: values per channel in this batch (images x height x width). */
      readonly sink: (bn: BnState, mean: Tensor, variance: Tensor, count: number) => void;
    }
  /** statistics given per BN layer (recalibrated), falling back to running stats */
  | { readonly kind: "override"; readonly stats: ReadonlyMap<BnState, BnStats> };

export interface BnStats {
  readonly mean: Tensor;
  readonly variance: Tensor;
}

/** A BN layer's pass: the table to apply, and in training with a tape its backward. */
export interface BnPass {
  /** The caller disposes pre.coef once the consumers are recorded. */
  readonly pre: BnPrologue;
  /** dy -> dx; writes the BN's parameter gradients and frees x and the saved stats. */
  readonly back: ((dy: Tensor) => Tensor) | null;
}

export function bnParams(bn: BnState): BnParams {
  return {
    gamma: bn.gamma.w,
    beta: bn.beta.w,
    runningMean: bn.runningMean,
    runningVar: bn.runningVar,
  };
}

/** Two params written by one kernel share one accumulate decision. */
export function takeAccumulate2(a: Param, b: Param): boolean {
  const acc = a.takeAccumulate();
  b.fresh = true;
  return acc;
}

/**
 * Batch norm (+ReLU6) of x in `mode`, left for the consumer to apply.
 * `tape`: a backward will run (training mode only).
 */
export function bnPass(
  gpu: Gpu,
  cfg: { readonly momentum: number; readonly eps: number },
  mode: BnMode,
  tape: boolean,
  x: Tensor,
  bn: BnState,
  relu6: boolean,
): BnPass {
  const p = bnParams(bn);
  const { momentum, eps } = cfg;
  switch (mode.kind) {
    case "train": {
      const { pre, saved } = batchNormTrainDeferred(gpu, x, p, { momentum, eps, relu6 });
      if (!tape) {
        saved.mean.dispose();
        saved.invStd.dispose();
        return { pre, back: null };
      }
      const back = (dy: Tensor): Tensor => {
        const acc = takeAccumulate2(bn.gamma, bn.beta);
        const grads = { dgamma: bn.gamma.g, dbeta: bn.beta.g };
        const dx = batchNormBackward(gpu, x, dy, p, saved, grads, { relu6, accumulate: acc });
        saved.mean.dispose();
        saved.invStd.dispose();
        x.dispose();
        return dx;
      };
      return { pre, back };
    }
    case "collect": {
      const stats = batchNormStats(gpu, x);
      mode.sink(bn, stats.mean, stats.variance, x.size / bn.channels);
      const opts = { momentum, eps, relu6, updateRunning: false };
      const { pre, saved } = batchNormTrainDeferred(gpu, x, p, opts);
      saved.mean.dispose();
      saved.invStd.dispose();
      return { pre, back: null };
    }
    case "tracked":
      return { pre: batchNormInferDeferred(gpu, x, p, { eps, relu6 }), back: null };
    case "override": {
      const s = mode.stats.get(bn);
      const q: BnParams = s ? { ...p, runningMean: s.mean, runningVar: s.variance } : p;
      return { pre: batchNormInferDeferred(gpu, x, q, { eps, relu6 }), back: null };
    }
  }
}
