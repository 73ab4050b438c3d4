// A network that owns one architecture's blocks only: the stand-alone
// model. It is a Supernet whose per-layer block lists hold just the chosen
// choice (the others are holes), so forward, BN modes, evaluateArch and the
// state export/import all work unchanged on it, with identical parameter
// names and initial values: a path net and a supernet built with the same
// seed start from the same weights on that path.
//
import { softmaxCrossEntropy, type Gpu, type Tensor } from "@fairnas/kernels";
import { archToString, type Arch } from "../space/arch.ts";
import type { ResolvedSpace } from "../space/spec.ts";
import { Supernet } from "../supernet/network.ts";
import type { ParamGroup } from "../supernet/params.ts";
import type { DeviceBatch, PathOptions, TrainableModel } from "../train/trainer.ts";

/** Builds the network of `arch` alone (blocks[l] holds only arch[l]). */
export function buildPathNet(gpu: Gpu, space: ResolvedSpace, arch: Arch, seed: number): Supernet {
  return new Supernet(gpu, space, seed, arch);
}

/**
 * The stand-alone model as the trainer sees it: one layer choice per layer
 * (the sampler has nothing to choose), every path mapped to `arch`.
 */
export class StandaloneModel implements TrainableModel {
  readonly layers: number;
  readonly choices = 1;
  private readonly key: string;

  constructor(
    private readonly gpu: Gpu,
    readonly net: Supernet,
    readonly arch: Arch,
  ) {
    this.layers = arch.length;
    this.key = archToString(net.space, arch);
  }

  groupsFor(path: Arch): ParamGroup[] {
    this.checkPath(path);
    return this.net.groupsFor(this.arch);
  }

  describe(): string {
    return this.key;
  }

  trainPath(path: Arch, batch: DeviceBatch, stats: Tensor, opts: PathOptions): void {
    this.checkPath(path);
    const gpu = this.gpu;
    const { logits, backward } = this.net.forward(batch.x, this.arch, {
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

  // The sampler sees one choice per layer, so every path it draws is all zeros.
  private checkPath(path: Arch): void {
    if (path.length !== this.layers || path.some((c) => c !== 0)) {
      throw new Error(
        `StandaloneModel: expected the all-zero path of ${this.layers} layers, got [${path.join(",")}]`,
      );
    }
  }
}
