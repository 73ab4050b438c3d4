// Trainable views of the supernet for the PONAS stages. The trainer's
// sampler draws paths over `choices` options per layer; these wrappers map
// every drawn path onto the path the stage wants, so the usual trainer,
// loop, checkpoints and resume work unchanged.
//   FixedPathModel: one choice per layer (choices = 1), always `path`:
//     meta-training trains the meta network alone.
//   LayerCandidatesModel: only layer `layer` varies; the others are fixed:
//     with the fair sampler every candidate of that layer is trained once
//     per step (one-shot training within the layer).

import type { Gpu, Tensor } from "@fairnas/kernels";
import type { Arch } from "../space/arch.ts";
import type { Supernet } from "../supernet/network.ts";
import { SupernetModel } from "../supernet/model.ts";
import type { ParamGroup } from "../supernet/params.ts";
import type { DeviceBatch, PathOptions, TrainableModel } from "../train/trainer.ts";

abstract class MappedModel implements TrainableModel {
  abstract readonly layers: number;
  abstract readonly choices: number;
  protected readonly inner: SupernetModel;

  constructor(
    gpu: Gpu,
    readonly net: Supernet,
  ) {
    this.inner = new SupernetModel(gpu, net);
  }

  /** The supernet path a sampled path stands for. */
  abstract map(arch: Arch): Arch;

  groupsFor(arch: Arch): ParamGroup[] {
    return this.inner.groupsFor(this.map(arch));
  }

  describe(arch: Arch): string {
    return this.inner.describe(this.map(arch));
  }

  trainPath(arch: Arch, batch: DeviceBatch, stats: Tensor, opts: PathOptions): void {
    this.inner.trainPath(this.map(arch), batch, stats, opts);
  }
}

export class FixedPathModel extends MappedModel {
  readonly layers: number;
  readonly choices = 1;

  constructor(
    gpu: Gpu,
    net: Supernet,
    readonly path: Arch,
  ) {
    super(gpu, net);
    this.layers = net.space.layers.length;
    if (path.length !== this.layers) {
      throw new Error(
        `FixedPathModel: path has ${path.length} layers, the supernet ${this.layers}`,
      );
    }
  }

  map(): Arch {
    return this.path;
  }
}

export class LayerCandidatesModel extends MappedModel {
  readonly layers: number;
  readonly choices: number;

  constructor(
    gpu: Gpu,
    net: Supernet,
    /** Fixed choices of every layer; entry `layer` is ignored. */
    readonly base: Arch,
    readonly layer: number,
  ) {
    super(gpu, net);
    this.layers = net.space.layers.length;
    this.choices = net.space.spec.choices.length;
    if (base.length !== this.layers || layer < 0 || layer >= this.layers) {
      throw new Error(
        `LayerCandidatesModel: base of ${base.length} layers, layer ${layer}, supernet ${this.layers} layers`,
      );
    }
  }

  map(arch: Arch): Arch {
    const out = [...this.base];
    out[this.layer] = arch[this.layer];
    return out;
  }
}
