// PONAS weight inheritance: every candidate block of a searchable layer
// starts from the meta block of that layer (the largest kernel, largest
// expansion, SE where the space has it). The slicing rule, on host arrays:
//   expand  w [Ci, E]      -> first Ec output columns of every row
//   dw      w [K, K, E]    -> centre Kc x Kc taps, first Ec channels
//   SE      w1 [E, R] b1 [R], w2 [R, E] b2 [E] -> leading rows and columns
//   project w [E, Co]      -> first Ec rows
//   BN      gamma, beta, running mean and var [C] -> first C entries
// Momentum buffers are not inherited: candidates start with zero momentum.

import type { Gpu, Tensor } from "@fairnas/kernels";
import type { Arch } from "../space/arch.ts";
import {
  choiceToken,
  expandedWidth,
  seWidth,
  type ChoiceSpec,
  type ResolvedSpace,
} from "../space/spec.ts";
import type { Supernet } from "../supernet/network.ts";
import type { BnState } from "../supernet/params.ts";

export type InheritMode = "slice" | "identical";

/** Channel sizes of one block: input, expanded, squeeze (0: no SE), output, kernel. */
export interface BlockDims {
  readonly Ci: number;
  readonly E: number;
  readonly R: number;
  readonly Co: number;
  readonly K: number;
}

/** One block's tensors on the host, keyed by role. */
export type BlockArrays = Record<string, Float32Array>;

const BN_PARTS = ["gamma", "beta", "mean", "var"] as const;

/**
 * The meta choice, the same for every layer: the largest kernel, the largest
 * expansion and SE where any choice has it, all in one choice, so every
 * candidate is a slice of it. A space without such a choice is refused.
 */
export function metaArch(space: ResolvedSpace): Arch {
  const choices = space.spec.choices;
  const want: ChoiceSpec = {
    kernel: Math.max(...choices.map((c) => c.kernel)),
    expand: Math.max(...choices.map((c) => c.expand)),
    se: choices.some((c) => c.se),
  };
  const meta = choices.findIndex(
    (c) => c.kernel === want.kernel && c.expand === want.expand && c.se === want.se,
  );
  if (meta < 0) {
    throw new Error(
      `PONAS: space '${space.spec.name}' has no choice ${choiceToken(want)} (largest kernel, ` +
        `expansion and SE at once) to slice every candidate from; its choices are ` +
        `${choices.map(choiceToken).join(", ")}`,
    );
  }
  return Object.freeze(space.layers.map(() => meta));
}

export function blockDims(space: ResolvedSpace, layer: number, choice: number): BlockDims {
  const g = space.layers[layer];
  const c = space.spec.choices[choice];
  const E = expandedWidth(g.inC, c.expand);
  const R = c.se ? seWidth(space.spec, g.inC, E) : 0;
  return { Ci: g.inC, E, R, Co: g.outC, K: c.kernel };
}

/** Rows [0, rows) and columns [0, cols) of a row-major [*, srcCols] matrix. */
export function leadingBlock(
  src: Float32Array,
  srcCols: number,
  rows: number,
  cols: number,
): Float32Array {
  if (cols > srcCols || rows * srcCols > src.length) {
    throw new Error(
      `leadingBlock: [${rows}, ${cols}] does not fit in [${src.length / srcCols}, ${srcCols}]`,
    );
  }
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) out.set(src.subarray(r * srcCols, r * srcCols + cols), r * cols);
  return out;
}

/** Centre Kc x Kc taps and first Ec channels of a depthwise weight [K, K, E]. */
export function centreCrop(
  w: Float32Array,
  K: number,
  E: number,
  Kc: number,
  Ec: number,
): Float32Array {
  if (Kc > K || (K - Kc) % 2 !== 0 || Ec > E || w.length !== K * K * E) {
    throw new Error(
      `centreCrop: [${Kc}, ${Kc}, ${Ec}] is not a centre crop of [${K}, ${K}, ${E}] ` +
        `(${w.length} values)`,
    );
  }
  const off = (K - Kc) / 2;
  const out = new Float32Array(Kc * Kc * Ec);
  for (let ky = 0; ky < Kc; ky++) {
    for (let kx = 0; kx < Kc; kx++) {
      const src = ((ky + off) * K + kx + off) * E;
      out.set(w.subarray(src, src + Ec), (ky * Kc + kx) * Ec);
    }
  }
  return out;
}

/**
 * The arrays of a candidate block with dims `to`, cut from the meta
 * block's arrays (dims `from`). SE arrays appear only when `to.R > 0`;
 * a candidate with SE needs a meta block with SE at least as wide.
 */
export function sliceBlock(meta: BlockArrays, from: BlockDims, to: BlockDims): BlockArrays {
  if (to.Ci !== from.Ci || to.Co !== from.Co || to.E > from.E || to.K > from.K || to.R > from.R) {
    throw new Error(
      `sliceBlock: candidate (Ci ${to.Ci}, E ${to.E}, R ${to.R}, Co ${to.Co}, K ${to.K}) ` +
        `does not fit in the meta block ` +
        `(Ci ${from.Ci}, E ${from.E}, R ${from.R}, Co ${from.Co}, K ${from.K})`,
    );
  }
  const out: BlockArrays = {
    expand: leadingBlock(meta.expand, from.E, from.Ci, to.E),
    dw: centreCrop(meta.dw, from.K, from.E, to.K, to.E),
    project: meta.project.slice(0, to.E * to.Co),
  };
  for (const part of BN_PARTS) {
    out[`bn1.${part}`] = meta[`bn1.${part}`].slice(0, to.E);
    out[`bn2.${part}`] = meta[`bn2.${part}`].slice(0, to.E);
    out[`bn3.${part}`] = meta[`bn3.${part}`].slice(0, to.Co);
  }
  if (to.R > 0) {
    out["se.w1"] = leadingBlock(meta["se.w1"], from.R, to.E, to.R);
    out["se.b1"] = meta["se.b1"].slice(0, to.R);
    out["se.w2"] = leadingBlock(meta["se.w2"], from.E, to.R, to.E);
    out["se.b2"] = meta["se.b2"].slice(0, to.E);
  }
  return out;
}

/** The tensors of block [layer][choice], keyed as in sliceBlock. */
export function blockTensors(net: Supernet, layer: number, choice: number): Record<string, Tensor> {
  const b = net.blocks[layer][choice];
  const out: Record<string, Tensor> = { expand: b.wExpand.w, dw: b.wDw.w, project: b.wProject.w };
  const bn = (name: string, s: BnState) => {
    out[`${name}.gamma`] = s.gamma.w;
    out[`${name}.beta`] = s.beta.w;
    out[`${name}.mean`] = s.runningMean;
    out[`${name}.var`] = s.runningVar;
  };
  bn("bn1", b.bn1);
  bn("bn2", b.bn2);
  bn("bn3", b.bn3);
  if (b.se) {
    Object.assign(out, {
      "se.w1": b.se.w1.w,
      "se.b1": b.se.b1.w,
      "se.w2": b.se.w2.w,
      "se.b2": b.se.b2.w,
    });
  }
  return out;
}

export async function readBlock(
  gpu: Gpu,
  net: Supernet,
  layer: number,
  choice: number,
): Promise<BlockArrays> {
  const out: BlockArrays = {};
  for (const [k, t] of Object.entries(blockTensors(net, layer, choice))) out[k] = await gpu.read(t);
  return out;
}

export interface InheritReport {
  /** Candidate blocks written per layer. */
  readonly written: number[];
}

/**
 * Initializes candidate blocks from the meta block of their layer.
 * "slice": every other candidate gets the slices above; "identical": only
 * candidates of exactly the meta shape are copied (none besides the meta
 * block itself in the built-in spaces), the rest keep their fresh weights.
 */
export async function inheritWeights(
  gpu: Gpu,
  net: Supernet,
  mode: InheritMode,
): Promise<InheritReport> {
  const space = net.space;
  const meta = metaArch(space);
  const written: number[] = [];
  for (let l = 0; l < space.layers.length; l++) {
    const from = blockDims(space, l, meta[l]);
    const src = await readBlock(gpu, net, l, meta[l]);
    let n = 0;
    for (let c = 0; c < space.spec.choices.length; c++) {
      if (c === meta[l]) continue;
      const to = blockDims(space, l, c);
      const same = to.E === from.E && to.K === from.K && to.R === from.R;
      if (mode === "identical" && !same) continue;
      const arrays = sliceBlock(src, from, to);
      for (const [k, t] of Object.entries(blockTensors(net, l, c))) gpu.write(t, arrays[k]);
      n++;
    }
    written.push(n);
  }
  return { written };
}
