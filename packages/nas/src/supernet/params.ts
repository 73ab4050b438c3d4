// Parameters of the supernet: weights with their gradient and momentum
// buffers, batch-norm state, and the groups that a path switches on.
//
// Gradients are written, not zeroed: the first contribution of a step
// overwrites a gradient buffer (`accumulate = false`), later contributions
// of the same step add to it. `fresh` records which case applies.

import { Rng, type Gpu, type Tensor } from "@fairnas/kernels";

export type ParamKind = "conv" | "bn" | "fc-weight" | "bias";

export class Param {
  readonly g: Tensor;
  readonly m: Tensor;
  /** True once this step's first gradient contribution has been written. */
  fresh = false;

  constructor(
    readonly name: string,
    readonly kind: ParamKind,
    readonly w: Tensor,
    gpu: Gpu,
  ) {
    this.g = gpu.empty(w.shape, `${name}.grad`);
    this.m = gpu.zeros(w.shape, `${name}.momentum`);
  }

  /** Whether the next gradient write for this step must accumulate. */
  takeAccumulate(): boolean {
    const acc = this.fresh;
    this.fresh = true;
    return acc;
  }

  dispose(): void {
    this.w.dispose();
    this.g.dispose();
    this.m.dispose();
  }
}

/** A batch-norm layer: affine parameters and running statistics. */
export class BnState {
  constructor(
    readonly name: string,
    readonly gamma: Param,
    readonly beta: Param,
    readonly runningMean: Tensor,
    readonly runningVar: Tensor,
  ) {}

  get channels(): number {
    return this.gamma.w.size;
  }
}

/** A unit that is trained or skipped as a whole: one choice block, or a shared part. */
export class ParamGroup {
  readonly params: Param[] = [];
  readonly bns: BnState[] = [];

  constructor(readonly name: string) {}
}

/** Seeds a parameter's initial values from (seed, its name), independent of creation order. */
export function nameStream(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export type Init =
  | { readonly kind: "normal"; readonly std: number }
  | { readonly kind: "const"; readonly value: number }
  | { readonly kind: "values"; readonly values: Float32Array };

export function initValues(size: number, init: Init, seed: number, name: string): Float32Array {
  if (init.kind === "values") {
    if (init.values.length !== size)
      throw new Error(`${name}: ${init.values.length} initial values for ${size} weights`);
    return init.values;
  }
  const out = new Float32Array(size);
  if (init.kind === "const") return out.fill(init.value);
  const rng = Rng.derive(seed, 0x1a17, nameStream(name));
  for (let i = 0; i < size; i++) out[i] = rng.normal() * init.std;
  return out;
}

/** Builds params and BN layers into groups; every tensor lives in `gpu`'s pool. */
export class ParamFactory {
  readonly all: Param[] = [];
  readonly bns: BnState[] = [];

  constructor(
    private readonly gpu: Gpu,
    private readonly seed: number,
  ) {}

  param(
    group: ParamGroup,
    name: string,
    kind: ParamKind,
    shape: readonly number[],
    init: Init,
  ): Param {
    const size = shape.reduce((a, b) => a * b, 1);
    const w = this.gpu.tensor(shape, initValues(size, init, this.seed, name), name);
    const p = new Param(name, kind, w, this.gpu);
    group.params.push(p);
    this.all.push(p);
    return p;
  }

  bn(group: ParamGroup, name: string, channels: number): BnState {
    const gamma = this.param(group, `${name}.gamma`, "bn", [channels], { kind: "const", value: 1 });
    const beta = this.param(group, `${name}.beta`, "bn", [channels], { kind: "const", value: 0 });
    const mean = this.gpu.zeros([channels], `${name}.running_mean`);
    const variance = this.gpu.tensor(
      [channels],
      new Float32Array(channels).fill(1),
      `${name}.running_var`,
    );
    const state = new BnState(name, gamma, beta, mean, variance);
    group.bns.push(state);
    this.bns.push(state);
    return state;
  }
}
