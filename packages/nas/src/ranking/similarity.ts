// Feature similarity between the choice blocks of one layer: every block
// of the layer is fed the same input (a fixed batch through the stem, the
// first block and the earlier layers along a fixed path, tracked BN), and
// for each pair of blocks we take, channel by channel, the cosine of their
// output maps over the batch and the spatial positions, then average over
// channels. The output compared is the block's branch after its last BN,
// before any residual add: the shared identity term would make every pair
// look alike.
//
// Supernet.forward has no hook for intermediate activations, so the blocks
// are run here with the kernel ops on the supernet's own parameters.

import {
  add,
  batchNormInfer,
  channelScale,
  conv2d,
  dwconv,
  globalAvgPool,
  linear,
  pwconv,
  relu,
  sigmoid,
  type Gpu,
  type Tensor,
} from "@fairnas/kernels";
import { checkArch, type Arch } from "../space/arch.ts";
import type { Supernet } from "../supernet/network.ts";
import type { BnState, Param } from "../supernet/params.ts";

type Block = Supernet["blocks"][number][number];

export interface SimilarityResult {
  /** Layer label, e.g. "stage1.block1". */
  readonly layer: string;
  readonly choices: readonly string[];
  /** matrix[i][j]: mean over channels of the cosine between choice i's and j's maps. */
  readonly matrix: readonly (readonly number[])[];
  /** Choices on the earlier layers (the path the input took). */
  readonly path: Arch;
  readonly images: number;
}

/** Similarity matrix of layer `layer`'s choices on the batch `x` ([N,H,W,C]). */
export async function featureSimilarity(
  gpu: Gpu,
  net: Supernet,
  x: Tensor,
  layer: number,
  path?: Arch,
): Promise<SimilarityResult> {
  const space = net.space;
  const L = space.layers.length;
  if (!Number.isInteger(layer) || layer < 0 || layer >= L) {
    throw new Error(`featureSimilarity: layer ${layer} not in [0, ${L})`);
  }
  const full = path ?? space.layers.map(() => 0);
  checkArch(space, full);
  const named = new Map(net.params.map((p) => [p.name, p]));
  const bns = new Map(net.bns.map((b) => [b.name, b]));
  const eps = space.spec.bn.eps;
  const bn = (h: Tensor, name: string, relu6: boolean) =>
    bnInfer(gpu, h, need(bns, name), eps, relu6);

  // Stem, fixed first block, then the path's earlier layers.
  let h = conv2d(gpu, x, need(named, "stem.conv").w, { stride: space.stem.stride });
  h = swap(h, bn(h, "stem.bn", true));
  const fb = space.firstBlock;
  if (fb) {
    const d = dwconv(gpu, h, need(named, "first.dw").w, { stride: 1 });
    const a1 = bn(d, "first.bn1", true);
    d.dispose();
    const p = pwconv(gpu, a1, need(named, "first.pw").w);
    a1.dispose();
    const y = bn(p, "first.bn2", false);
    p.dispose();
    h = fb.residual ? swap(h, add(gpu, y, h), y) : swap(h, y);
  }
  for (let l = 0; l < layer; l++) {
    const y = branch(gpu, net.blocks[l][full[l]], space.layers[l].stride, eps, h);
    h = space.layers[l].residual ? swap(h, add(gpu, y, h), y) : swap(h, y);
  }

  const outs: Float32Array[] = [];
  let C = 0;
  for (let c = 0; c < space.spec.choices.length; c++) {
    const y = branch(gpu, net.blocks[layer][c], space.layers[layer].stride, eps, h);
    C = y.shape[3];
    outs.push(await gpu.read(y));
    y.dispose();
  }
  h.dispose();
  const matrix = outs.map((a) => outs.map((b) => channelCosine(a, b, C)));
  return {
    layer: space.layers[layer].label,
    choices: [...space.tokens],
    matrix,
    path: full.slice(0, layer),
    images: x.shape[0],
  };
}

/** Mean over channels of cos(a[..., k], b[..., k]); channels zero in either map are skipped. */
export function channelCosine(a: Float32Array, b: Float32Array, C: number): number {
  if (a.length !== b.length || a.length % C !== 0) {
    throw new Error(`channelCosine: maps of ${a.length} and ${b.length} values, C=${C}`);
  }
  const dot = new Float64Array(C);
  const na = new Float64Array(C);
  const nb = new Float64Array(C);
  for (let i = 0; i < a.length; i++) {
    const k = i % C;
    dot[k] += a[i] * b[i];
    na[k] += a[i] * a[i];
    nb[k] += b[i] * b[i];
  }
  let sum = 0;
  let used = 0;
  for (let k = 0; k < C; k++) {
    if (na[k] === 0 || nb[k] === 0) continue;
    sum += dot[k] / Math.sqrt(na[k] * nb[k]);
    used++;
  }
  return used > 0 ? sum / used : Number.NaN;
}

// The block's branch in tracked BN: expand, BN+ReLU6, depthwise, BN+ReLU6,
// optional SE, project, BN. `x` stays owned by the caller.
function branch(gpu: Gpu, b: Block, stride: number, eps: number, x: Tensor): Tensor {
  const h1 = pwconv(gpu, x, b.wExpand.w);
  const a1 = bnInfer(gpu, h1, b.bn1, eps, true);
  h1.dispose();
  const h2 = dwconv(gpu, a1, b.wDw.w, { stride });
  a1.dispose();
  let a2 = bnInfer(gpu, h2, b.bn2, eps, true);
  h2.dispose();
  if (b.se) {
    const pooled = globalAvgPool(gpu, a2);
    const z = linear(gpu, pooled, b.se.w1.w, b.se.b1.w);
    const zr = relu(gpu, z);
    const g = linear(gpu, zr, b.se.w2.w, b.se.b2.w);
    const s = sigmoid(gpu, g);
    a2 = swap(a2, channelScale(gpu, a2, s));
    for (const t of [pooled, z, zr, g, s]) t.dispose();
  }
  const h3 = pwconv(gpu, a2, b.wProject.w);
  a2.dispose();
  const y = bnInfer(gpu, h3, b.bn3, eps, false);
  h3.dispose();
  return y;
}

function bnInfer(gpu: Gpu, x: Tensor, bn: BnState, eps: number, relu6: boolean): Tensor {
  const p = {
    gamma: bn.gamma.w,
    beta: bn.beta.w,
    runningMean: bn.runningMean,
    runningVar: bn.runningVar,
  };
  return batchNormInfer(gpu, x, p, { eps, relu6 });
}

/** Disposes `old` (and `extra`) and returns `next`: for rebinding a running tensor. */
function swap(old: Tensor, next: Tensor, extra?: Tensor): Tensor {
  if (old !== next) old.dispose();
  extra?.dispose();
  return next;
}

function need<T extends Param | BnState>(m: Map<string, T>, name: string): T {
  const v = m.get(name);
  if (!v) throw new Error(`featureSimilarity: the network has no parameter '${name}'`);
  return v;
}
