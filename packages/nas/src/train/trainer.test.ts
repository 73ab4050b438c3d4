import { describe, expect, it } from "vitest";
import {
  pwconv,
  pwconvBackwardInput,
  pwconvBackwardWeight,
  type Gpu,
  type Tensor,
} from "@fairnas/kernels";
import { testGpu } from "@fairnas/kernels/testing";
import type { Arch } from "../space/arch.ts";
import { Param, ParamGroup } from "../supernet/params.ts";
import { SupernetTrainer, type DeviceBatch, type TrainableModel } from "./trainer.ts";

const gpu = await testGpu();

/**
 * y = a_c * s * x with loss y^2/2: stem s shared, one searchable layer whose
 * choices are the scalars a_c. Multiplications run as 1x1 pointwise convs.
 */
class ScalarModel implements TrainableModel {
  readonly layers = 1;
  readonly choices: number;
  readonly stem = new ParamGroup("stem");
  readonly blocks: ParamGroup[];

  constructor(
    private readonly g: Gpu,
    s: number,
    a: number[],
  ) {
    this.choices = a.length;
    this.stem.params.push(new Param("s", "conv", g.tensor([1, 1], [s]), g));
    this.blocks = a.map((v, c) => {
      const grp = new ParamGroup(`a${c}`);
      grp.params.push(new Param(`a${c}`, "conv", g.tensor([1, 1], [v]), g));
      return grp;
    });
  }

  groupsFor(arch: Arch): ParamGroup[] {
    return [this.stem, this.blocks[arch[0]]];
  }

  describe(arch: Arch): string {
    return `a${arch[0]}`;
  }

  trainPath(arch: Arch, batch: DeviceBatch): void {
    const g = this.g;
    const s = this.stem.params[0];
    const a = this.blocks[arch[0]].params[0];
    const h = pwconv(g, batch.x, s.w);
    const y = pwconv(g, h, a.w);
    const dy = g.empty(y.shape);
    g.copy(y, dy); // d(y^2/2)/dy = y
    pwconvBackwardWeight(g, h, dy, a.g, a.takeAccumulate());
    const dh = pwconvBackwardInput(g, dy, a.w);
    pwconvBackwardWeight(g, batch.x, dh, s.g, s.takeAccumulate());
    for (const t of [h, y, dy, dh]) t.dispose();
  }
}

function constantSource(g: Gpu): { next(): Promise<DeviceBatch> } {
  return {
    next: async () => {
      const x = g.tensor([1, 1], [1]);
      const y = g.tensor([1], [0]);
      return {
        x,
        y,
        n: 1,
        dispose: () => {
          x.dispose();
          y.dispose();
        },
      };
    },
  };
}

async function value(g: Gpu, t: Tensor): Promise<number> {
  return (await g.read(t))[0];
}

describe.runIf(gpu)("strict-fair step", () => {
  const sgd = { momentum: 0, nesterov: false, weightDecay: 0, labelSmoothing: 0 };
  const schedule = { lr: 0.1, minLr: 0.1, warmupUpdates: 0, totalUpdates: 1 };

  it("sums the m path gradients from the same weights, then updates once (s=-0.3, a0=1.8, a1=2.7)", async () => {
    const g = gpu!;
    const model = new ScalarModel(g, 1, [2, 3]);
    const trainer = new SupernetTrainer(g, model, {
      sampler: "fair",
      seed: 5,
      sameBatch: true,
      schedule,
      optim: sgd,
    });
    const r = await trainer.step(0, constantSource(g));
    expect(r.paths.map((p) => p[0]).sort()).toEqual([0, 1]);
    expect(await value(g, model.stem.params[0].w)).toBeCloseTo(-0.3, 6);
    expect(await value(g, model.blocks[0].params[0].w)).toBeCloseTo(1.8, 6);
    expect(await value(g, model.blocks[1].params[0].w)).toBeCloseTo(2.7, 6);
    expect(trainer.counter.counts).toEqual([[1, 1]]);
    expect(trainer.updateCount).toBe(1);
  });

  it("spos leaves the unsampled block and its momentum untouched", async () => {
    const g = gpu!;
    const model = new ScalarModel(g, 1, [2, 3]);
    const trainer = new SupernetTrainer(g, model, {
      sampler: "spos",
      seed: 5,
      sameBatch: true,
      schedule,
      optim: { ...sgd, momentum: 0.9, weightDecay: 0.1 },
    });
    const r = await trainer.step(0, constantSource(g));
    const chosen = r.paths[0][0];
    const other = 1 - chosen;
    expect(await value(g, model.blocks[other].params[0].w)).toBe(other === 0 ? 2 : 3);
    expect(await value(g, model.blocks[other].params[0].m)).toBe(0);
    expect(await value(g, model.blocks[chosen].params[0].m)).not.toBe(0);
  });
});
