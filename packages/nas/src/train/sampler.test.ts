import { describe, expect, it } from "vitest";
import { FairnessCounter, fairPaths, planStep } from "./sampler.ts";
import { Rng } from "@fairnas/kernels";

describe("fair sampling", () => {
  for (const [layers, m] of [
    [1, 2],
    [8, 6],
    [19, 12],
  ] as const) {
    it(`each choice of each layer is on exactly one path L${layers} m${m}`, () => {
      for (let step = 0; step < 20; step++) {
        const paths = fairPaths(new Rng(7, step), layers, m);
        expect(paths).toHaveLength(m);
        for (let l = 0; l < layers; l++) {
          const used = paths.map((p) => p[l]).sort((a, b) => a - b);
          expect(used).toEqual(Array.from({ length: m }, (_, i) => i));
        }
      }
    });
  }

  it("fairness counters stay equal within every layer after every step", () => {
    const c = new FairnessCounter(8, 6);
    for (let step = 0; step < 50; step++) {
      const plan = planStep({ name: "fair", layers: 8, choices: 6, seed: 3 }, step);
      expect(plan.updates).toHaveLength(1);
      for (const u of plan.updates) c.record(u);
      expect(c.spread()).toEqual(new Array(8).fill(0));
      expect(c.counts[0][0]).toBe(step + 1);
    }
  });

  it("spos counters drift apart, so the fairness check can fail", () => {
    const c = new FairnessCounter(8, 6);
    for (let step = 0; step < 50; step++) {
      for (const u of planStep({ name: "spos", layers: 8, choices: 6, seed: 3 }, step).updates)
        c.record(u);
    }
    expect(Math.max(...c.spread())).toBeGreaterThan(0);
    expect(c.counts.flat().reduce((a, b) => a + b, 0)).toBe(50 * 8);
  });

  it("plans are a pure function of (seed, step)", () => {
    const a = planStep({ name: "fair", layers: 5, choices: 6, seed: 11 }, 42);
    const b = planStep({ name: "fair", layers: 5, choices: 6, seed: 11 }, 42);
    const c = planStep({ name: "fair", layers: 5, choices: 6, seed: 12 }, 42);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it("ef trains one path for m updates; ef-lr divides the learning rate by m", () => {
    const ef = planStep({ name: "ef", layers: 4, choices: 6, seed: 1 }, 0);
    expect(ef.updates).toHaveLength(6);
    for (const u of ef.updates) expect(u).toEqual(ef.updates[0]);
    expect(ef.lrScale).toBe(1);
    expect(planStep({ name: "ef-lr", layers: 4, choices: 6, seed: 1 }, 0).lrScale).toBeCloseTo(
      1 / 6,
    );
  });
});
