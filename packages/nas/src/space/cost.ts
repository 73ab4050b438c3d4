// Analytic cost model: multiply-adds and parameter counts of a subnet, layer
// by layer. Block costs come from a per-space table built once from the
// resolved geometry and keyed by block shape; see COST_CONVENTION.

import type { Arch } from "./arch.ts";
import { checkArch } from "./arch.ts";
import { type ChoiceSpec, type ResolvedSpace, expandedWidth, seWidth } from "./spec.ts";

export interface LayerCost {
  /** "stem", "first", "stage2.block1", "head" or "fc". */
  readonly name: string;
  readonly madds: number;
  readonly params: number;
  readonly paramsWithBn: number;
}

export interface NetCost {
  readonly madds: number;
  readonly params: number;
  readonly paramsWithBn: number;
  readonly layers: readonly LayerCost[];
}

export const COST_CONVENTION: string =
  "One multiply-accumulate counts as 1 MAdd, per image. Counted: every " +
  "convolution (stem, the 1x1 expand, depthwise and 1x1 project convs of " +
  "each block, the head 1x1 conv), the final fully connected layer, and the " +
  "two fully connected layers of squeeze-excitation where a block has one. " +
  "Not counted: batch norm, activations, bias adds, pooling, residual adds " +
  "and the SE gating multiply. A block with expansion 1 has no expand conv. " +
  "Params without BN are conv weights, FC weights and the FC bias, plus SE " +
  "weights and biases; no conv has a bias. Params with BN add the gamma and " +
  "beta of every batch norm (one after each conv; none in SE or the FC).";

// Per-image cost of one piece of a network, before naming.
interface Tally {
  madds: number;
  params: number;
  bn: number; // channels normalised (each adds gamma and beta)
}

function conv(t: Tally, Ci: number, Co: number, K: number, OH: number, OW: number): void {
  t.madds += K * K * Ci * Co * OH * OW;
  t.params += K * K * Ci * Co;
  t.bn += Co;
}

function depthwise(t: Tally, C: number, K: number, OH: number, OW: number): void {
  t.madds += K * K * C * OH * OW;
  t.params += K * K * C;
  t.bn += C;
}

function finish(name: string, t: Tally): LayerCost {
  return Object.freeze({
    name,
    madds: t.madds,
    params: t.params,
    paramsWithBn: t.params + 2 * t.bn,
  });
}

/** Shape of one inverted-bottleneck block, as the cost table keys it. */
export interface BlockShape {
  readonly inC: number;
  readonly outC: number;
  readonly inH: number;
  readonly inW: number;
  readonly outH: number;
  readonly outW: number;
  readonly kernel: number;
  readonly expand: number;
  /** Squeeze width; 0 for no SE. */
  readonly seC: number;
}

/** Stable key of a block shape, "Ci16 Co24 H112xW112 OH56xOW56 K3 E6 SE0". */
export function blockShapeKey(b: BlockShape): string {
  return (
    `Ci${b.inC} Co${b.outC} H${b.inH}xW${b.inW} OH${b.outH}xOW${b.outW} ` +
    `K${b.kernel} E${b.expand} SE${b.seC}`
  );
}

/** expand 1x1 (skipped at expansion 1), depthwise KxK, [SE], project 1x1. */
export function shapeCost(name: string, b: BlockShape): LayerCost {
  const t: Tally = { madds: 0, params: 0, bn: 0 };
  const E = expandedWidth(b.inC, b.expand);
  if (b.expand !== 1) conv(t, b.inC, E, 1, b.inH, b.inW);
  depthwise(t, E, b.kernel, b.outH, b.outW);
  if (b.seC > 0) {
    // Two FCs on the pooled vector: E -> seC -> E, each with a bias.
    t.madds += 2 * E * b.seC;
    t.params += 2 * E * b.seC + b.seC + E;
  }
  conv(t, E, b.outC, 1, b.outH, b.outW);
  return finish(name, t);
}

function layerShape(space: ResolvedSpace, layerIndex: number, choice: ChoiceSpec): BlockShape {
  const g = space.layers[layerIndex];
  const E = expandedWidth(g.inC, choice.expand);
  return {
    inC: g.inC,
    outC: g.outC,
    inH: g.inH,
    inW: g.inW,
    outH: g.outH,
    outW: g.outW,
    kernel: choice.kernel,
    expand: choice.expand,
    seC: choice.se ? seWidth(space.spec, g.inC, E) : 0,
  };
}

/**
 * Block costs of one space, keyed by block shape. Layers that share a shape
 * share an entry. Built once per resolved space and cached.
 */
export class CostTable {
  private readonly entries = new Map<string, LayerCost>();
  private readonly keys: readonly (readonly string[])[];

  constructor(readonly space: ResolvedSpace) {
    this.keys = space.layers.map((_, i) =>
      space.spec.choices.map((choice) => {
        const shape = layerShape(space, i, choice);
        const key = blockShapeKey(shape);
        if (!this.entries.has(key)) this.entries.set(key, shapeCost(key, shape));
        return key;
      }),
    );
  }

  /** Number of distinct block shapes in the table. */
  get size(): number {
    return this.entries.size;
  }

  /** Cost of a shape key; throws naming the key when it is absent. */
  lookup(key: string): LayerCost {
    const hit = this.entries.get(key);
    if (hit === undefined) {
      throw new Error(
        `cost table of space '${this.space.spec.name}': ` + `no block with shape key '${key}'`,
      );
    }
    return hit;
  }

  /** Cost of layer `layerIndex` at choice `choiceIndex`, named by the layer label. */
  block(layerIndex: number, choiceIndex: number): LayerCost {
    const key = this.keys[layerIndex]?.[choiceIndex];
    if (key === undefined) {
      const { layers, tokens } = this.space;
      const token = tokens[choiceIndex] ?? `#${choiceIndex}`;
      const label = layers[layerIndex]?.label ?? `layer#${layerIndex}`;
      throw new Error(
        `cost table of space '${this.space.spec.name}': no block ` +
          `'${label}/${token}' (${layers.length} layers, ${tokens.length} choices)`,
      );
    }
    return { ...this.lookup(key), name: this.space.layers[layerIndex].label };
  }
}

const tables = new WeakMap<ResolvedSpace, CostTable>();

export function costTable(space: ResolvedSpace): CostTable {
  let table = tables.get(space);
  if (table === undefined) {
    table = new CostTable(space);
    tables.set(space, table);
  }
  return table;
}

export function blockCost(
  space: ResolvedSpace,
  layerIndex: number,
  choiceIndex: number,
): LayerCost {
  return costTable(space).block(layerIndex, choiceIndex);
}

// Fixed parts: stem, first block, head conv, FC.
function fixedCosts(space: ResolvedSpace): { before: LayerCost[]; after: LayerCost[] } {
  const { stem, firstBlock: fb, head } = space;
  const t: Tally = { madds: 0, params: 0, bn: 0 };
  conv(t, stem.inC, stem.outC, stem.kernel, stem.outH, stem.outW);
  const before = [finish("stem", t)];
  if (fb !== null) {
    before.push(shapeCost("first", { ...fb, kernel: fb.kernel, expand: 1, seC: 0 }));
  }

  const after: LayerCost[] = [];
  if (head.width > 0) {
    const h: Tally = { madds: 0, params: 0, bn: 0 };
    conv(h, head.inC, head.width, 1, head.H, head.W);
    after.push(finish("head", h));
  }
  const fcMadds = head.fcIn * head.classes;
  after.push(finish("fc", { madds: fcMadds, params: fcMadds + head.classes, bn: 0 }));
  return { before, after };
}

/** Whole-network cost of `arch`: stem, first block, each layer, head conv, FC. */
export function costOf(space: ResolvedSpace, arch: Arch): NetCost {
  checkArch(space, arch);
  const { before, after } = fixedCosts(space);
  const blocks = arch.map((c, i) => blockCost(space, i, c));
  const layers = [...before, ...blocks, ...after];

  const sum = (f: (l: LayerCost) => number): number => layers.reduce((s, l) => s + f(l), 0);
  return Object.freeze({
    madds: sum((l) => l.madds),
    params: sum((l) => l.params),
    paramsWithBn: sum((l) => l.paramsWithBn),
    layers: Object.freeze(layers),
  });
}
