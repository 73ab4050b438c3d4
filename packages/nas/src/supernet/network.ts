// The weight-sharing supernet: every choice block of every searchable layer
// owns its weights and BN; stem, fixed first block and head are shared. A
// forward pass runs one path (one architecture) and, in training mode,
// records one backward closure per block on a tape. Backward replays the
// tape in reverse and frees each block's saved activations as it goes, so
// a path holds only its own activations.

import {
  addInto,
  batchNormApply,
  conv2d,
  conv2dBackwardWeight,
  dropout,
  dropoutBackward,
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
  type Gpu,
  type Tensor,
} from "@fairnas/kernels";
import { archToString, checkArch, type Arch } from "../space/arch.ts";
import {
  expandedWidth,
  seWidth,
  type ChoiceSpec,
  type LayerGeom,
  type ResolvedSpace,
} from "../space/spec.ts";
import { bnPass, takeAccumulate2, type BnMode, type BnPass } from "./bn-mode.ts";
import { BnState, Param, ParamFactory, ParamGroup } from "./params.ts";
import { layerDims, metaInit, sliceInit, type BlockInit, type LayerDims } from "./init.ts";
import { seForward } from "./se.ts";

export type { BnMode, BnStats } from "./bn-mode.ts";

export interface ForwardOptions {
  readonly bn: BnMode;
  /** Record the backward tape (training). Requires bn.kind === "train". */
  readonly grad: boolean;
  /** Seed of the head dropout mask for this pass (training only). */
  readonly dropoutSeed?: number;
}

type Back = (dy: Tensor) => Tensor | null;

interface Ctx {
  readonly opts: ForwardOptions;
  readonly tape: Back[] | null;
}

interface ChoiceBlock {
  readonly group: ParamGroup;
  readonly choice: ChoiceSpec;
  readonly expandC: number;
  readonly wExpand: Param;
  readonly bn1: BnState;
  readonly wDw: Param;
  readonly bn2: BnState;
  readonly se: {
    readonly w1: Param;
    readonly b1: Param;
    readonly w2: Param;
    readonly b2: Param;
  } | null;
  readonly wProject: Param;
  readonly bn3: BnState;
}

export interface PathResult {
  readonly logits: Tensor;
  /** Runs the backward pass from d(loss)/d(logits); frees the tape. */
  readonly backward: ((dlogits: Tensor) => void) | null;
}

export class Supernet {
  readonly stem: ParamGroup;
  readonly first: ParamGroup | null;
  readonly head: ParamGroup;
  readonly blocks: ChoiceBlock[][];
  readonly params: Param[];
  readonly bns: BnState[];
  private readonly stemW: Param;
  private readonly stemBn: BnState;
  private readonly firstParts: { dw: Param; bn1: BnState; pw: Param; bn2: BnState } | null;
  private readonly headParts: { conv: Param | null; bn: BnState | null; fcW: Param; fcB: Param };

  /**
   * `only` builds just that architecture's block in each layer (a stand-alone
   * network with the same parameter names and initial values as the
   * supernet's path); `blocks[l]` then holds a hole at every other choice.
   */
  constructor(
    private readonly gpu: Gpu,
    readonly space: ResolvedSpace,
    seed: number,
    readonly only: Arch | null = null,
  ) {
    if (only) checkArch(space, only);
    const f = new ParamFactory(gpu, seed);
    const s = space.stem;
    this.stem = new ParamGroup("stem");
    this.stemW = f.param(
      this.stem,
      "stem.conv",
      "conv",
      [s.kernel, s.kernel, s.inC, s.outC],
      convInit(s.kernel * s.kernel * s.outC),
    );
    this.stemBn = f.bn(this.stem, "stem.bn", s.outC);
    this.first = null;
    this.firstParts = null;
    const fb = space.firstBlock;
    if (fb) {
      const g = new ParamGroup("first");
      this.first = g;
      this.firstParts = {
        dw: f.param(
          g,
          "first.dw",
          "conv",
          [fb.kernel, fb.kernel, fb.inC],
          convInit(fb.kernel * fb.kernel),
        ),
        bn1: f.bn(g, "first.bn1", fb.inC),
        pw: f.param(g, "first.pw", "conv", [fb.inC, fb.outC], convInit(fb.outC)),
        bn2: f.bn(g, "first.bn2", fb.outC),
      };
    }
    this.blocks = space.layers.map((layer) => {
      const dims = layerDims(space, layer);
      const meta = metaInit(dims, seed, layer.label);
      const row: ChoiceBlock[] = [];
      space.spec.choices.forEach((choice, c) => {
        if (!only || only[layer.index] === c)
          row[c] = this.makeBlock(f, layer, choice, c, dims, meta);
      });
      return row;
    });
    this.head = new ParamGroup("head");
    const h = space.head;
    this.headParts = {
      conv:
        h.width > 0
          ? f.param(this.head, "head.conv", "conv", [h.inC, h.width], convInit(h.width))
          : null,
      bn: h.width > 0 ? f.bn(this.head, "head.bn", h.width) : null,
      // NOTE: std 1/sqrt(fan-in) rather than MobileNetV2's 0.01: a tiny
      // classifier starves the body of gradient early, and a supernet on a
      // small budget cannot wait for it to grow.
      fcW: f.param(this.head, "head.fc.weight", "fc-weight", [h.fcIn, h.classes], {
        kind: "normal",
        std: 1 / Math.sqrt(h.fcIn),
      }),
      fcB: f.param(this.head, "head.fc.bias", "bias", [h.classes], { kind: "const", value: 0 }),
    };
    this.params = f.all;
    this.bns = f.bns;
  }

  /** Groups a path trains: the shared parts plus its chosen block per layer. */
  groupsFor(arch: Arch): ParamGroup[] {
    this.checkPath(arch);
    const shared = [this.stem, ...(this.first ? [this.first] : []), this.head];
    return [...shared, ...arch.map((c, l) => this.blocks[l][c].group)];
  }

  /** Runs one path on `x` ([N,H,W,C]); `x` stays owned by the caller. */
  forward(x: Tensor, arch: Arch, opts: ForwardOptions): PathResult {
    this.checkPath(arch);
    if (opts.grad && opts.bn.kind !== "train") {
      throw new Error("Supernet.forward: gradients need batch-norm mode 'train'");
    }
    const ctx: Ctx = { opts, tape: opts.grad ? [] : null };
    let h = this.stemForward(ctx, x);
    if (this.firstParts) h = this.firstForward(ctx, h);
    arch.forEach((c, l) => {
      h = this.blockForward(ctx, this.blocks[l][c], this.space.layers[l], h);
    });
    const logits = this.headForward(ctx, h);
    const tape = ctx.tape;
    const backward = tape
      ? (dlogits: Tensor) => {
          let dy: Tensor | null = dlogits;
          for (let i = tape.length - 1; i >= 0; i--) {
            const next: Tensor | null = tape[i](dy!);
            if (dy !== dlogits) dy!.dispose();
            dy = next;
          }
          dy?.dispose();
          tape.length = 0;
        }
      : null;
    return { logits, backward };
  }

  private checkPath(arch: Arch): void {
    checkArch(this.space, arch);
    const missing = arch.findIndex((c, l) => !this.blocks[l][c]);
    if (missing >= 0) {
      throw new Error(
        `this network holds only ${archToString(this.space, this.only!)}; ` +
          `layer ${missing + 1} has no block ${this.space.tokens[arch[missing]]}`,
      );
    }
  }

  dispose(): void {
    for (const p of this.params) p.dispose();
    for (const bn of this.bns) {
      bn.runningMean.dispose();
      bn.runningVar.dispose();
    }
  }

  // ---- parts ----

  private makeBlock(
    f: ParamFactory,
    layer: LayerGeom,
    choice: ChoiceSpec,
    c: number,
    dims: LayerDims,
    meta: BlockInit,
  ): ChoiceBlock {
    const name = `${layer.label}.choice${c}`;
    const group = new ParamGroup(name);
    const E = expandedWidth(layer.inC, choice.expand);
    const K = choice.kernel;
    const R = choice.se ? seWidth(this.space.spec, layer.inC, E) : 0;
    const init = sliceInit(meta, dims, K, E, R);
    const values = (v: Float32Array) => ({ kind: "values" as const, values: v });
    const wExpand = f.param(group, `${name}.expand`, "conv", [layer.inC, E], values(init.expand));
    const bn1 = f.bn(group, `${name}.bn1`, E);
    const wDw = f.param(group, `${name}.dw`, "conv", [K, K, E], values(init.dw));
    const bn2 = f.bn(group, `${name}.bn2`, E);
    let se: ChoiceBlock["se"] = null;
    if (choice.se && init.se) {
      se = {
        w1: f.param(group, `${name}.se.reduce.weight`, "fc-weight", [E, R], values(init.se.w1)),
        b1: f.param(group, `${name}.se.reduce.bias`, "bias", [R], { kind: "const", value: 0 }),
        w2: f.param(group, `${name}.se.expand.weight`, "fc-weight", [R, E], values(init.se.w2)),
        b2: f.param(group, `${name}.se.expand.bias`, "bias", [E], { kind: "const", value: 0 }),
      };
    }
    const wProject = f.param(
      group,
      `${name}.project`,
      "conv",
      [E, layer.outC],
      values(init.project),
    );
    const bn3 = f.bn(group, `${name}.bn3`, layer.outC);
    return { group, choice, expandC: E, wExpand, bn1, wDw, bn2, se, wProject, bn3 };
  }

  private stemForward(ctx: Ctx, x: Tensor): Tensor {
    const gpu = this.gpu;
    const stride = this.space.stem.stride;
    const h = conv2d(gpu, x, this.stemW.w, { stride });
    const a = this.bnForward(ctx, h, this.stemBn, true);
    ctx.tape?.push((da) => {
      const dh = a.back!(da);
      conv2dBackwardWeight(gpu, x, dh, this.stemW.g, { stride }, this.stemW.takeAccumulate());
      dh.dispose();
      return null; // the input image needs no gradient
    });
    if (!ctx.tape) h.dispose();
    return a.y;
  }

  private firstForward(ctx: Ctx, x: Tensor): Tensor {
    const gpu = this.gpu;
    const p = this.firstParts!;
    const geom = this.space.firstBlock!;
    const h1 = dwconv(gpu, x, p.dw.w, { stride: 1 });
    const b1 = this.bnDeferred(ctx, h1, p.bn1, true);
    const h2 = pwconv(gpu, h1, p.pw.w, undefined, b1.pre);
    const a2 = this.bnForward(ctx, h2, p.bn2, false, geom.residual ? x : undefined);
    const y = a2.y;
    if (!ctx.tape) {
      for (const t of [x, h1, h2, b1.pre.coef]) t.dispose();
      return y;
    }
    ctx.tape.push((dy) => {
      const dh2 = a2.back!(dy);
      pwconvBackwardWeight(gpu, h1, dh2, p.pw.g, p.pw.takeAccumulate(), b1.pre);
      const da1 = pwconvBackwardInput(gpu, dh2, p.pw.w);
      dh2.dispose();
      b1.pre.coef.dispose();
      const dh1 = b1.back!(da1);
      da1.dispose();
      dwconvBackwardWeight(gpu, x, dh1, p.dw.g, { stride: 1 }, p.dw.takeAccumulate());
      const dx = dwconvBackwardInput(gpu, dh1, p.dw.w, { stride: 1, inputShape: x.shape });
      dh1.dispose();
      x.dispose();
      if (geom.residual) addInto(gpu, dx, dy);
      return dx;
    });
    return y;
  }

  /**
   * One choice block. The first two batch norms (+ReLU6) are deferred into
   * the next convolution's loads (BnPrologue): the depthwise conv and the
   * projection read the raw h1 and h2, so the normalized tensors are never
   * written. With SE the second one is materialized for the SE branch.
   */
  private blockForward(ctx: Ctx, b: ChoiceBlock, geom: LayerGeom, x: Tensor): Tensor {
    const gpu = this.gpu;
    const stride = geom.stride;
    const h1 = pwconv(gpu, x, b.wExpand.w);
    const b1 = this.bnDeferred(ctx, h1, b.bn1, true);
    const h2 = dwconv(gpu, h1, b.wDw.w, { stride, pre: b1.pre });
    const b2 = this.bnDeferred(ctx, h2, b.bn2, true);
    const a2 = b.se ? batchNormApply(gpu, h2, b2.pre) : null;
    const se = a2 ? seForward(this.gpu, b.se!, a2, ctx.tape !== null) : null;
    const projIn = se ? se.y : h2;
    const projPre = se ? undefined : b2.pre;
    const h3 = pwconv(gpu, projIn, b.wProject.w, undefined, projPre);
    const a3 = this.bnForward(ctx, h3, b.bn3, false, geom.residual ? x : undefined);
    const y = a3.y;
    if (!ctx.tape) {
      for (const t of new Set([x, h1, h2, projIn, h3, b1.pre.coef, b2.pre.coef])) t.dispose();
      a2?.dispose();
      return y;
    }
    ctx.tape.push((dy) => {
      const dh3 = a3.back!(dy);
      const accP = b.wProject.takeAccumulate();
      pwconvBackwardWeight(gpu, projIn, dh3, b.wProject.g, accP, projPre);
      let da2 = pwconvBackwardInput(gpu, dh3, b.wProject.w);
      dh3.dispose();
      if (se) {
        projIn.dispose();
        const d = se.back(da2);
        da2.dispose();
        da2 = d;
        a2!.dispose();
      }
      b2.pre.coef.dispose();
      const dh2 = b2.back!(da2);
      da2.dispose();
      const dwOpts = { stride, pre: b1.pre };
      dwconvBackwardWeight(gpu, h1, dh2, b.wDw.g, dwOpts, b.wDw.takeAccumulate());
      const da1 = dwconvBackwardInput(gpu, dh2, b.wDw.w, { stride, inputShape: h1.shape });
      dh2.dispose();
      b1.pre.coef.dispose();
      const dh1 = b1.back!(da1);
      da1.dispose();
      pwconvBackwardWeight(gpu, x, dh1, b.wExpand.g, b.wExpand.takeAccumulate());
      const skip = geom.residual ? dy : undefined;
      const dx = pwconvBackwardInput(gpu, dh1, b.wExpand.w, undefined, skip);
      dh1.dispose();
      x.dispose();
      return dx;
    });
    return y;
  }

  private headForward(ctx: Ctx, x: Tensor): Tensor {
    const gpu = this.gpu;
    const hp = this.headParts;
    let feat = x;
    let a: { y: Tensor; back: ((dy: Tensor) => Tensor) | null } | null = null;
    let hConv: Tensor | null = null;
    if (hp.conv && hp.bn) {
      hConv = pwconv(gpu, x, hp.conv.w);
      a = this.bnForward(ctx, hConv, hp.bn, true);
      feat = a.y;
    }
    const pooled = globalAvgPool(gpu, feat);
    const rate = this.space.spec.head.dropout;
    const dropSeed = ctx.opts.dropoutSeed ?? 0;
    const useDrop = ctx.tape !== null && rate > 0;
    const dropped = useDrop ? dropout(gpu, pooled, { rate, seed: dropSeed }) : pooled;
    const logits = linear(gpu, dropped, hp.fcW.w, hp.fcB.w);
    if (!ctx.tape) {
      for (const t of new Set([x, feat, pooled, dropped, ...(hConv ? [hConv] : [])])) t.dispose();
      return logits;
    }
    ctx.tape.push((dlogits) => {
      linearBackwardParams(
        gpu,
        dropped,
        dlogits,
        hp.fcW.g,
        hp.fcB.g,
        takeAccumulate2(hp.fcW, hp.fcB),
      );
      let dp = linearBackwardInput(gpu, dlogits, hp.fcW.w);
      if (useDrop) {
        const d = dropoutBackward(gpu, dp, { rate, seed: dropSeed });
        dp.dispose();
        dp = d;
        dropped.dispose();
      }
      pooled.dispose();
      const dfeat = globalAvgPoolBackward(gpu, dp, feat.shape);
      dp.dispose();
      if (!a || !hp.conv || !hConv) {
        x.dispose();
        return dfeat;
      }
      feat.dispose();
      const dh = a.back!(dfeat);
      dfeat.dispose();
      pwconvBackwardWeight(gpu, x, dh, hp.conv.g, hp.conv.takeAccumulate());
      const dx = pwconvBackwardInput(gpu, dh, hp.conv.w);
      dh.dispose();
      x.dispose();
      return dx;
    });
    return logits;
  }

  /**
   * Batch norm (+ReLU6) in the pass's BN mode, applied, plus `residual`
   * when given (a skip connection fused into the apply pass). In training
   * mode the returned `back` maps dy to dx (of x alone), writes this BN's
   * parameter gradients and frees `x` and the saved statistics.
   */
  private bnForward(
    ctx: Ctx,
    x: Tensor,
    bn: BnState,
    relu6: boolean,
    residual?: Tensor,
  ): { y: Tensor; back: ((dy: Tensor) => Tensor) | null } {
    const { pre, back } = this.bnDeferred(ctx, x, bn, relu6);
    const y = batchNormApply(this.gpu, x, pre, undefined, residual);
    pre.coef.dispose();
    return { y, back };
  }

  /** bnPass in this pass's mode (see bn-mode.ts); `back` only with a tape. */
  private bnDeferred(ctx: Ctx, x: Tensor, bn: BnState, relu6: boolean): BnPass {
    return bnPass(this.gpu, this.space.spec.bn, ctx.opts.bn, ctx.tape !== null, x, bn, relu6);
  }
}

/** He-normal initialization with fan-out `fanOut` (ReLU-family nets). */
function convInit(fanOut: number): { kind: "normal"; std: number } {
  return { kind: "normal", std: Math.sqrt(2 / fanOut) };
}
