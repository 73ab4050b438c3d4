// The supernet as the trainer sees it: one path's loss, forward and backward.

import { softmaxCrossEntropy, type Gpu, type Tensor } from "@fairnas/kernels";
import { archToString, type Arch } from "../space/arch.ts";
import type { DeviceBatch, PathOptions, TrainableModel } from "../train/trainer.ts";
import type { Supernet } from "./network.ts";
import type { ParamGroup } from "./params.ts";

export class SupernetModel implements TrainableModel {
  readonly layers: number;
  readonly choices: number;

  constructor(
    private readonly gpu: Gpu,
    readonly net: Supernet,
  ) {
    this.layers = net.space.layers.length;
    this.choices = net.space.spec.choices.length;
  }

  groupsFor(arch: Arch): ParamGroup[] {
    return this.net.groupsFor(arch);
  }

  describe(arch: Arch): string {
    return archToString(this.net.space, arch);
  }

  trainPath(arch: Arch, batch: DeviceBatch, stats: Tensor, opts: PathOptions): void {
    const gpu = this.gpu;
    const { logits, backward } = this.net.forward(batch.x, arch, {
      bn: { kind: "train" },
      grad: true,
      dropoutSeed: opts.dropoutSeed,
    });
    const dlogits = gpu.empty(logits.shape, "dlogits");
    softmaxCrossEntropy(gpu, logits, batch.y, { smoothing: opts.labelSmoothing, stats, dlogits });
    logits.dispose();
    backward!(dlogits);
    dlogits.dispose();
  }
}
