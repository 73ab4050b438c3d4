// Timing network pieces on the current adapter with the project's own
// kernels: inference only (BN from running statistics), wall clock around
// back-to-back submissions followed by one `gpu.sync()`.
//
// The piece functions below run the same kernel sequence as
// Supernet.forward in "tracked" BN mode (batch norms deferred into the next
// convolution and fused with the skip connection, as there), one piece at a time, and leave
// their input alive so one input can be timed many times. A test checks
// that chaining them reproduces Supernet.forward's logits exactly.

import {
  batchNormApply,
  batchNormInfer,
  batchNormInferDeferred,
  channelScale,
  conv2d,
  dwconv,
  globalAvgPool,
  linear,
  pwconv,
  relu,
  Rng,
  sigmoid,
  type BnPrologue,
  type Gpu,
  type Tensor,
} from "@fairnas/kernels";
import { checkArch, type Arch } from "../space/arch.ts";
import type { ResolvedSpace } from "../space/spec.ts";
import { Supernet } from "../supernet/network.ts";
import { bnParams } from "../supernet/bn-mode.ts";
import type { BnState, Param, ParamGroup } from "../supernet/params.ts";
import {
  FIRST_KEY,
  HEAD_KEY,
  LATENCY_FORMAT,
  LATENCY_VERSION,
  STEM_KEY,
  blockKey,
  fingerprintOf,
  summarize,
  type LatencyStats,
  type LatencyTable,
} from "./table.ts";

export interface TimingOptions {
  /** Untimed runs first; each is synced, so pipelines compile here. */
  readonly warmups: number;
  /** Timed samples. */
  readonly repeats: number;
  /** Runs submitted back to back per sample (amortizes the sync). */
  readonly inner: number;
}

export const DEFAULT_TIMING: TimingOptions = { warmups: 5, repeats: 30, inner: 6 };

/**
 * Times `run` (which records GPU work and frees its outputs): `warmups`
 * synced runs, then `repeats` samples of `inner` runs and one sync each.
 */
export async function timeRepeated(
  gpu: Gpu,
  run: () => void,
  opts: TimingOptions = DEFAULT_TIMING,
): Promise<LatencyStats> {
  const { warmups, repeats, inner } = opts;
  if (!(repeats >= 1 && inner >= 1 && warmups >= 0)) {
    throw new Error(
      `timeRepeated: need repeats >= 1, inner >= 1, warmups >= 0; ` +
        `got ${repeats}, ${inner}, ${warmups}`,
    );
  }
  for (let i = 0; i < warmups; i++) {
    run();
    await gpu.sync();
  }
  const samples: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    for (let i = 0; i < inner; i++) run();
    await gpu.sync();
    samples.push((performance.now() - t0) / inner);
  }
  return summarize(samples, warmups, inner);
}

// ---------------------------------------------------------------------------
// Inference pieces (tracked BN); none of them frees its input.

function param(group: ParamGroup, name: string): Param {
  const p = group.params.find((q) => q.name === name);
  if (!p) throw new Error(`supernet group '${group.name}' has no parameter '${name}'`);
  return p;
}

function bnOf(group: ParamGroup, name: string): BnState {
  const b = group.bns.find((q) => q.name === name);
  if (!b) throw new Error(`supernet group '${group.name}' has no batch norm '${name}'`);
  return b;
}

function bnInfer(gpu: Gpu, net: Supernet, x: Tensor, bn: BnState, relu6: boolean): Tensor {
  return batchNormInfer(gpu, x, bnParams(bn), { eps: net.space.spec.bn.eps, relu6 });
}

/** Tracked BN left for the next convolution to apply as it loads x (as the supernet does). */
function bnDeferred(gpu: Gpu, net: Supernet, x: Tensor, bn: BnState, relu6: boolean): BnPrologue {
  return batchNormInferDeferred(gpu, x, bnParams(bn), { eps: net.space.spec.bn.eps, relu6 });
}

/** Tracked BN of x plus the skip input when `skip` is on, in one pass. */
function bnResidual(
  gpu: Gpu,
  net: Supernet,
  x: Tensor,
  bn: BnState,
  skip: Tensor | undefined,
): Tensor {
  const pre = bnDeferred(gpu, net, x, bn, false);
  const y = batchNormApply(gpu, x, pre, undefined, skip);
  pre.coef.dispose();
  return y;
}

/** x: [N, H, W, Cin] image -> [N, OH, OW, stem width]. */
export function stemInfer(gpu: Gpu, net: Supernet, x: Tensor): Tensor {
  const h = conv2d(gpu, x, param(net.stem, "stem.conv").w, { stride: net.space.stem.stride });
  const y = bnInfer(gpu, net, h, bnOf(net.stem, "stem.bn"), true);
  h.dispose();
  return y;
}

/** The fixed depthwise-separable first block. */
export function firstInfer(gpu: Gpu, net: Supernet, x: Tensor): Tensor {
  const g = net.first;
  const geom = net.space.firstBlock;
  if (!g || !geom) throw new Error(`space '${net.space.spec.name}' has no first block`);
  const h1 = dwconv(gpu, x, param(g, "first.dw").w, { stride: 1 });
  const pre1 = bnDeferred(gpu, net, h1, bnOf(g, "first.bn1"), true);
  const h2 = pwconv(gpu, h1, param(g, "first.pw").w, undefined, pre1);
  const y = bnResidual(gpu, net, h2, bnOf(g, "first.bn2"), geom.residual ? x : undefined);
  for (const t of [h1, pre1.coef, h2]) t.dispose();
  return y;
}

/** Choice `choice` of searchable layer `layer`: expand, depthwise, [SE], project. */
export function blockInfer(
  gpu: Gpu,
  net: Supernet,
  layer: number,
  choice: number,
  x: Tensor,
): Tensor {
  const b = net.blocks[layer][choice];
  const geom = net.space.layers[layer];
  const h1 = pwconv(gpu, x, b.wExpand.w);
  const pre1 = bnDeferred(gpu, net, h1, b.bn1, true);
  const h2 = dwconv(gpu, h1, b.wDw.w, { stride: geom.stride, pre: pre1 });
  const pre2 = bnDeferred(gpu, net, h2, b.bn2, true);
  for (const t of [h1, pre1.coef]) t.dispose();

  let h3: Tensor;
  if (b.se) {
    const a2 = batchNormApply(gpu, h2, pre2);
    const pooled = globalAvgPool(gpu, a2);
    const z = linear(gpu, pooled, b.se.w1.w, b.se.b1.w);
    const zr = relu(gpu, z);
    const gate = linear(gpu, zr, b.se.w2.w, b.se.b2.w);
    const s = sigmoid(gpu, gate);
    const projIn = channelScale(gpu, a2, s);
    h3 = pwconv(gpu, projIn, b.wProject.w);
    for (const t of [pooled, z, zr, gate, s, a2, projIn]) t.dispose();
  } else {
    h3 = pwconv(gpu, h2, b.wProject.w, undefined, pre2);
  }
  for (const t of [h2, pre2.coef]) t.dispose();
  const y = bnResidual(gpu, net, h3, b.bn3, geom.residual ? x : undefined);
  h3.dispose();
  return y;
}

/** [N, H, W, C] features -> [N, classes] logits: 1x1 conv, pool, FC. */
export function headInfer(gpu: Gpu, net: Supernet, x: Tensor): Tensor {
  const g = net.head;
  let feat = x;
  if (net.space.head.width > 0) {
    const h = pwconv(gpu, x, param(g, "head.conv").w);
    feat = bnInfer(gpu, net, h, bnOf(g, "head.bn"), true);
    h.dispose();
  }
  const pooled = globalAvgPool(gpu, feat);
  if (feat !== x) feat.dispose();
  const logits = linear(gpu, pooled, param(g, "head.fc.weight").w, param(g, "head.fc.bias").w);
  pooled.dispose();
  return logits;
}

/** The whole path from the pieces; `x` stays alive. */
export function pathInfer(gpu: Gpu, net: Supernet, arch: Arch, x: Tensor): Tensor {
  checkArch(net.space, arch);
  let h = stemInfer(gpu, net, x);
  const step = (f: (t: Tensor) => Tensor): void => {
    const next = f(h);
    h.dispose();
    h = next;
  };
  if (net.space.firstBlock) step((t) => firstInfer(gpu, net, t));
  arch.forEach((c, l) => step((t) => blockInfer(gpu, net, l, c, t)));
  step((t) => headInfer(gpu, net, t));
  return h;
}

// ---------------------------------------------------------------------------
// Tables and end-to-end checks

/** A seeded random tensor; values do not change the kernels' work. */
export function randomInput(
  gpu: Gpu,
  shape: readonly number[],
  seed: number,
  label: string,
): Tensor {
  const rng = new Rng(seed, 0x1a7e);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.normal();
  return gpu.tensor(shape, data, label);
}

export interface BuildOptions extends TimingOptions {
  readonly batch: number;
  /** Called after each entry, e.g. for progress lines. */
  readonly onEntry?: (key: string, stats: LatencyStats, done: number, total: number) => void;
}

interface Piece {
  readonly key: string;
  /** Input shape [N, H, W, C]. */
  readonly shape: readonly number[];
  readonly run: (x: Tensor) => Tensor;
}

function pieces(gpu: Gpu, net: Supernet, N: number): Piece[] {
  const s = net.space;
  const inp = s.spec.input;
  const out: Piece[] = [
    {
      key: STEM_KEY,
      shape: [N, inp.height, inp.width, inp.channels],
      run: (x) => stemInfer(gpu, net, x),
    },
  ];
  const fb = s.firstBlock;
  if (fb) {
    out.push({
      key: FIRST_KEY,
      shape: [N, fb.inH, fb.inW, fb.inC],
      run: (x) => firstInfer(gpu, net, x),
    });
  }
  s.layers.forEach((g, l) =>
    s.tokens.forEach((_, c) =>
      out.push({
        key: blockKey(s, l, c),
        shape: [N, g.inH, g.inW, g.inC],
        run: (x) => blockInfer(gpu, net, l, c, x),
      }),
    ),
  );
  const h = s.head;
  out.push({ key: HEAD_KEY, shape: [N, h.H, h.W, h.inC], run: (x) => headInfer(gpu, net, x) });
  return out;
}

/**
 * Times every piece of `space` at batch `opts.batch`. Weights are a fresh
 * seeded supernet: latency depends on shapes, not on trained values.
 */
export async function buildLatencyTable(
  gpu: Gpu,
  space: ResolvedSpace,
  opts: BuildOptions,
): Promise<LatencyTable> {
  if (!Number.isInteger(opts.batch) || opts.batch < 1) {
    throw new Error(`buildLatencyTable: batch must be a positive integer, got ${opts.batch}`);
  }
  const net = new Supernet(gpu, space, 1);
  const entries: Record<string, LatencyStats> = {};
  const all = pieces(gpu, net, opts.batch);
  const inputs = all.map((p, i) => randomInput(gpu, p.shape, i, `latency.${p.key}.x`));
  try {
    // One untimed pass over every piece first, so that the first entries
    // are not charged for warming the host code the later ones share.
    for (const [i, p] of all.entries()) p.run(inputs[i]).dispose();
    await gpu.sync();

    for (const [i, p] of all.entries()) {
      entries[p.key] = await timeRepeated(gpu, () => p.run(inputs[i]).dispose(), opts);
      opts.onEntry?.(p.key, entries[p.key], i + 1, all.length);
    }
  } finally {
    for (const x of inputs) x.dispose();
    net.dispose();
  }
  return {
    format: LATENCY_FORMAT,
    version: LATENCY_VERSION,
    adapter: fingerprintOf(gpu.adapter),
    batch: opts.batch,
    space: space.spec,
    spaceSignature: space.signature,
    entries,
  };
}

/** End-to-end time of one network through Supernet.forward (tracked BN). */
export async function measureNetwork(
  gpu: Gpu,
  net: Supernet,
  arch: Arch,
  batch: number,
  opts: TimingOptions = DEFAULT_TIMING,
): Promise<LatencyStats> {
  const inp = net.space.spec.input;
  const x = randomInput(gpu, [batch, inp.height, inp.width, inp.channels], 0, "latency.net.x");
  try {
    return await timeRepeated(
      gpu,
      () => {
        net.forward(x, arch, { bn: { kind: "tracked" }, grad: false }).logits.dispose();
      },
      opts,
    );
  } finally {
    x.dispose();
  }
}
