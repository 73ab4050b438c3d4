// Coherent initialization of a layer's choice blocks. Each block still owns
// separate weights, but their initial values are slices of one random
// "largest" block: a depthwise kernel is the centre crop of the largest
// kernel, an expand conv the leading output channels, a project conv the
// matching input rows, SE layers the matching sub-matrices.
//
// NOTE: FairNAS initializes every block independently. With independent
// initialization each of the m^L paths starts as an unrelated random
// network, so the shared head sees inconsistent features and training on a
// small budget stalls near chance; sliced initialization makes every path
// start close to one network. Convolutions are followed by batch norm, so
// the crop's smaller fan-out changes only a scale that BN removes.

import { Rng } from "@fairnas/kernels";
import { expandedWidth, seWidth, type LayerGeom, type ResolvedSpace } from "../space/spec.ts";
import { nameStream } from "./params.ts";

export interface BlockInit {
  readonly expand: Float32Array; // [inC, E]
  readonly dw: Float32Array; // [K, K, E]
  readonly project: Float32Array; // [E, outC]
  readonly se: { readonly w1: Float32Array; readonly w2: Float32Array } | null; // [E, R], [R, E]
}

export interface LayerDims {
  readonly inC: number;
  readonly outC: number;
  readonly maxK: number;
  readonly maxE: number;
  readonly maxR: number;
}

function normal(n: number, std: number, rng: Rng): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal() * std;
  return out;
}

/** The random largest block of a layer, from (seed, layer label). */
export function metaInit(d: LayerDims, seed: number, label: string): BlockInit {
  const rng = Rng.derive(seed, 0xc0e4, nameStream(label));
  return {
    expand: normal(d.inC * d.maxE, Math.sqrt(2 / d.maxE), rng),
    dw: normal(d.maxK * d.maxK * d.maxE, Math.sqrt(2 / (d.maxK * d.maxK)), rng),
    project: normal(d.maxE * d.outC, Math.sqrt(2 / d.outC), rng),
    se:
      d.maxR > 0
        ? {
            w1: normal(d.maxE * d.maxR, Math.sqrt(2 / d.maxR), rng),
            w2: normal(d.maxR * d.maxE, Math.sqrt(2 / d.maxE), rng),
          }
        : null,
  };
}

/** Rows [0, rows) and columns [0, cols) of a row-major [*, srcCols] matrix. */
export function leading(
  src: Float32Array,
  srcCols: number,
  rows: number,
  cols: number,
): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) out.set(src.subarray(r * srcCols, r * srcCols + cols), r * cols);
  return out;
}

/** Centre KxK crop of a [maxK, maxK, maxE] depthwise kernel, first E channels. */
export function centreCrop(
  src: Float32Array,
  maxK: number,
  maxE: number,
  K: number,
  E: number,
): Float32Array {
  const off = (maxK - K) / 2;
  const out = new Float32Array(K * K * E);
  for (let i = 0; i < K; i++) {
    for (let j = 0; j < K; j++) {
      const from = ((i + off) * maxK + (j + off)) * maxE;
      out.set(src.subarray(from, from + E), (i * K + j) * E);
    }
  }
  return out;
}

/** The initial weights of one choice block, sliced from the layer's meta block. */
export function sliceInit(
  meta: BlockInit,
  d: LayerDims,
  K: number,
  E: number,
  R: number,
): BlockInit {
  return {
    expand: leading(meta.expand, d.maxE, d.inC, E),
    dw: centreCrop(meta.dw, d.maxK, d.maxE, K, E),
    project: leading(meta.project, d.outC, E, d.outC),
    se:
      meta.se && R > 0
        ? { w1: leading(meta.se.w1, d.maxR, E, R), w2: leading(meta.se.w2, d.maxE, R, E) }
        : null,
  };
}

/** Largest kernel, expanded width and SE width over a layer's choices. */
export function layerDims(space: ResolvedSpace, layer: LayerGeom): LayerDims {
  const cs = space.spec.choices;
  const maxE = Math.max(...cs.map((c) => expandedWidth(layer.inC, c.expand)));
  const seCs = cs.filter((c) => c.se);
  return {
    inC: layer.inC,
    outC: layer.outC,
    maxK: Math.max(...cs.map((c) => c.kernel)),
    maxE,
    maxR:
      seCs.length > 0
        ? Math.max(
            ...seCs.map((c) => seWidth(space.spec, layer.inC, expandedWidth(layer.inC, c.expand))),
          )
        : 0,
  };
}
