// One inverted-bottleneck (MBConv) block composed from the kernels exactly as
// the supernet composes it (packages/nas/src/supernet/network.ts): expand 1x1,
// BN + ReLU6, depthwise KxK, BN + ReLU6, optional squeeze-and-excitation,
// project 1x1, BN, residual when S == 1 and Cin == Cout. Training-mode BN;
// the first two are applied by the next convolution as it loads its input.
// The whole-block test checks this code and the benchmark times it, so the
// figures in bench.json belong to tested code.

import {
  addInto,
  batchNormApply,
  batchNormBackward,
  batchNormTrainDeferred,
  channelScale,
  channelScaleBackward,
  dwconv,
  dwconvBackwardInput,
  dwconvBackwardWeight,
  globalAvgPool,
  globalAvgPoolBackward,
  linear,
  linearBackwardInput,
  linearBackwardParams,
  pwconv,
  pwconvBackwardInput,
  pwconvBackwardWeight,
  relu,
  reluBackward,
  sigmoid,
  sigmoidBackward,
  dwconvOutSize,
  type BnParams,
  type BnPrologue,
  type Gpu,
  type Shape,
  type Tensor,
} from "../mod.ts";

export interface MbconvSpec {
  readonly N: number;
  readonly H: number;
  readonly W: number;
  readonly Cin: number;
  /** expanded width */
  readonly E: number;
  readonly Cout: number;
  readonly K: number;
  readonly S: number;
  /** squeeze width of the SE branch; 0 for none */
  readonly R: number;
  readonly momentum: number;
  readonly eps: number;
}

/** "N64 H28 W28 24->144->k5s1->24" */
export function mbconvLabel(s: MbconvSpec): string {
  const se = s.R > 0 ? ` se${s.R}` : "";
  return `N${s.N} H${s.H} W${s.W} ${s.Cin}->${s.E}->k${s.K}s${s.S}${se}->${s.Cout}`;
}

export function mbconvResidual(s: MbconvSpec): boolean {
  return s.S === 1 && s.Cin === s.Cout;
}

export function mbconvOutShape(s: MbconvSpec): Shape {
  return [s.N, dwconvOutSize(s.H, s.K, s.S), dwconvOutSize(s.W, s.K, s.S), s.Cout];
}

/** Trainable tensors by name and shape, in a fixed order. */
export function mbconvParamShapes(s: MbconvSpec): [string, Shape][] {
  const bn = (name: string, C: number): [string, Shape][] => [
    [`${name}.gamma`, [C]],
    [`${name}.beta`, [C]],
  ];
  const se: [string, Shape][] =
    s.R > 0
      ? [
          ["se.w1", [s.E, s.R]],
          ["se.b1", [s.R]],
          ["se.w2", [s.R, s.E]],
          ["se.b2", [s.E]],
        ]
      : [];
  return [
    ["expand", [s.Cin, s.E]],
    ...bn("bn1", s.E),
    ["dw", [s.K, s.K, s.E]],
    ...bn("bn2", s.E),
    ...se,
    ["project", [s.E, s.Cout]],
    ...bn("bn3", s.Cout),
  ];
}

export type Init = (name: string, shape: Shape) => ArrayLike<number>;

export interface BlockPass {
  readonly y: Tensor;
  /** Records the backward from dy (not consumed); returns dx. Frees saved tensors. */
  readonly backward: ((dy: Tensor) => Tensor) | null;
}

export class MbconvBlock {
  /** Weights, then per BN layer its running mean and variance. */
  readonly w = new Map<string, Tensor>();
  /** Gradients, one per trainable tensor. */
  readonly g = new Map<string, Tensor>();
  /** Whether backward overwrites (false) or adds to (true) the gradients. */
  accumulate = false;

  constructor(
    private readonly gpu: Gpu,
    readonly spec: MbconvSpec,
    init: Init,
  ) {
    for (const [name, shape] of mbconvParamShapes(spec)) {
      this.w.set(name, gpu.tensor(shape, init(name, shape), `mbconv.${name}`));
      this.g.set(name, gpu.zeros(shape, `mbconv.${name}.grad`));
    }
    for (const [bn, C] of [
      ["bn1", spec.E],
      ["bn2", spec.E],
      ["bn3", spec.Cout],
    ] as const) {
      this.w.set(`${bn}.runningMean`, gpu.zeros([C], `mbconv.${bn}.runningMean`));
      this.w.set(
        `${bn}.runningVar`,
        gpu.tensor([C], new Array<number>(C).fill(1), `mbconv.${bn}.runningVar`),
      );
    }
  }

  private t(name: string): Tensor {
    const t = this.w.get(name);
    if (!t) throw new Error(`mbconv: no tensor ${name}`);
    return t;
  }

  private bnParams(bn: string): BnParams {
    return {
      gamma: this.t(`${bn}.gamma`),
      beta: this.t(`${bn}.beta`),
      runningMean: this.t(`${bn}.runningMean`),
      runningVar: this.t(`${bn}.runningVar`),
    };
  }

  /**
   * x: [N, H, W, Cin], kept by the caller. With `grad`, saves what backward
   * needs. The first two batch norms (+ReLU6) are deferred into the loads
   * of the next convolution (BnPrologue), so their outputs are never
   * written; with SE the second is materialized for the SE branch.
   */
  forward(x: Tensor, grad: boolean): BlockPass {
    const gpu = this.gpu;
    const s = this.spec;
    const h1 = pwconv(gpu, x, this.t("expand"));
    const b1 = this.bn(h1, "bn1", true, grad);
    const h2 = dwconv(gpu, h1, this.t("dw"), { stride: s.S, pre: b1.pre });
    const b2 = this.bn(h2, "bn2", true, grad);
    const a2 = s.R > 0 ? batchNormApply(gpu, h2, b2.pre) : null;
    const se = a2 ? this.seForward(a2, grad) : null;
    const projIn = se ? se.y : h2;
    const projPre = se ? undefined : b2.pre;
    const h3 = pwconv(gpu, projIn, this.t("project"), undefined, projPre);
    const b3 = this.bn(h3, "bn3", false, grad);
    const residual = mbconvResidual(s);
    const y = batchNormApply(gpu, h3, b3.pre, undefined, residual ? x : undefined);
    b3.pre.coef.dispose();
    if (!grad) {
      for (const t of [h1, h2, h3, b1.pre.coef, b2.pre.coef]) t.dispose();
      if (se) se.y.dispose();
      a2?.dispose();
      return { y, backward: null };
    }
    const backward = (dy: Tensor): Tensor => {
      const acc = this.accumulate;
      const dh3 = b3.back!(dy);
      pwconvBackwardWeight(gpu, projIn, dh3, this.grad("project"), acc, projPre);
      let da2 = pwconvBackwardInput(gpu, dh3, this.t("project"));
      dh3.dispose();
      if (se) {
        se.y.dispose();
        const d = se.back!(da2);
        da2.dispose();
        da2 = d;
        a2!.dispose();
      }
      b2.pre.coef.dispose();
      const dh2 = b2.back!(da2);
      da2.dispose();
      const dwOpts = { stride: s.S, pre: b1.pre };
      dwconvBackwardWeight(gpu, h1, dh2, this.grad("dw"), dwOpts, acc);
      const da1 = dwconvBackwardInput(gpu, dh2, this.t("dw"), {
        stride: s.S,
        inputShape: h1.shape,
      });
      dh2.dispose();
      b1.pre.coef.dispose();
      const dh1 = b1.back!(da1);
      da1.dispose();
      pwconvBackwardWeight(gpu, x, dh1, this.grad("expand"), acc);
      const skip = residual ? dy : undefined;
      const dx = pwconvBackwardInput(gpu, dh1, this.t("expand"), undefined, skip);
      dh1.dispose();
      return dx;
    };
    return { y, backward };
  }

  dispose(): void {
    for (const t of [...this.w.values(), ...this.g.values()]) t.dispose();
  }

  private grad(name: string): Tensor {
    const t = this.g.get(name);
    if (!t) throw new Error(`mbconv: no gradient ${name}`);
    return t;
  }

  /**
   * Training-mode BN (+ReLU6) of h, deferred: the statistics and the
   * prologue table (the caller disposes pre.coef). With `grad`, `back` maps
   * dy to dh and frees h and the batch stats.
   */
  private bn(
    h: Tensor,
    name: string,
    relu6: boolean,
    grad: boolean,
  ): { pre: BnPrologue; back: ((dy: Tensor) => Tensor) | null } {
    const gpu = this.gpu;
    const p = this.bnParams(name);
    const { momentum, eps } = this.spec;
    const { pre, saved } = batchNormTrainDeferred(gpu, h, p, { momentum, eps, relu6 });
    if (!grad) {
      saved.mean.dispose();
      saved.invStd.dispose();
      return { pre, back: null };
    }
    const back = (dy: Tensor): Tensor => {
      const grads = { dgamma: this.grad(`${name}.gamma`), dbeta: this.grad(`${name}.beta`) };
      const dx = batchNormBackward(gpu, h, dy, p, saved, grads, {
        relu6,
        accumulate: this.accumulate,
      });
      saved.mean.dispose();
      saved.invStd.dispose();
      h.dispose();
      return dx;
    };
    return { pre, back };
  }

  /** SE on a: [N, OH, OW, E]; `a` stays owned by the caller. */
  private seForward(
    a: Tensor,
    grad: boolean,
  ): { y: Tensor; back: ((dy: Tensor) => Tensor) | null } {
    const gpu = this.gpu;
    const pooled = globalAvgPool(gpu, a);
    const z = linear(gpu, pooled, this.t("se.w1"), this.t("se.b1"));
    const zr = relu(gpu, z);
    const gate = linear(gpu, zr, this.t("se.w2"), this.t("se.b2"));
    const s = sigmoid(gpu, gate);
    gate.dispose();
    const y = channelScale(gpu, a, s);
    if (!grad) {
      for (const t of [pooled, z, zr, s]) t.dispose();
      return { y, back: null };
    }
    const back = (dy: Tensor): Tensor => {
      const acc = this.accumulate;
      const { dx, ds } = channelScaleBackward(gpu, a, s, dy);
      const dg = sigmoidBackward(gpu, s, ds);
      ds.dispose();
      s.dispose();
      linearBackwardParams(gpu, zr, dg, this.grad("se.w2"), this.grad("se.b2"), acc);
      const dzr = linearBackwardInput(gpu, dg, this.t("se.w2"));
      dg.dispose();
      zr.dispose();
      const dz = reluBackward(gpu, z, dzr);
      dzr.dispose();
      z.dispose();
      linearBackwardParams(gpu, pooled, dz, this.grad("se.w1"), this.grad("se.b1"), acc);
      const dp = linearBackwardInput(gpu, dz, this.t("se.w1"));
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
}
