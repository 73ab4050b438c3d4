import { describe, expect, it } from "vitest";
import { Rng } from "@fairnas/kernels";
import { applyAction, PpoPolicy, type PpoSample } from "./ppo.ts";

/** Collects `n` one-step samples from `policy` with `reward(parent, child)`. */
function rollout(
  policy: PpoPolicy,
  rng: Rng,
  n: number,
  layers: number,
  m: number,
  reward: (child: number[]) => number,
): PpoSample[] {
  return Array.from({ length: n }, () => {
    const state = Array.from({ length: layers }, () => rng.int(m));
    const act = policy.act(rng, state);
    return { state, action: act.action, logProb: act.logProb, reward: reward(act.child) };
  });
}

describe("ppo", () => {
  it("applyAction keeps on slot 0 and sets choice c on slot 1 + c", () => {
    expect(applyAction([2, 0, 1], [0, 1, 3])).toEqual([2, 0, 2]);
  });

  it("initial policy L5 m3 keeps each layer with p 1 - 1/L", () => {
    const policy = new PpoPolicy({ layers: 5, numChoices: 3, seed: 1 });
    for (const row of policy.distribution([0, 1, 2, 0, 1])) {
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      expect(row[0]).toBeCloseTo(0.8, 1);
    }
  });

  it("toy L1 m2: always rewarding choice 1 converges to it (p > 0.9) in 20 updates of 32 default lr", () => {
    const policy = new PpoPolicy({ layers: 1, numChoices: 2, seed: 11 });
    const rng = new Rng(5);
    const before = policy.distribution([0])[0][2];
    let last = null;
    for (let u = 0; u < 20; u++) {
      last = policy.update(rollout(policy, rng, 32, 1, 2, (c) => (c[0] === 1 ? 1 : 0)));
    }
    // From parent 0 only slot "choice 1" yields 1; from parent 1, keep does too.
    const from0 = policy.distribution([0])[0];
    const from1 = policy.distribution([1])[0];
    expect(before).toBeLessThan(0.5);
    expect(from0[2]).toBeGreaterThan(0.9);
    expect(from1[0] + from1[2]).toBeGreaterThan(0.9);
    expect(last!.meanReward).toBeGreaterThan(0.85);
  });

  it("toy L4 m3: rewarding choice 2 at every layer raises mean reward above 0.8", () => {
    const policy = new PpoPolicy({ layers: 4, numChoices: 3, seed: 4, lr: 1e-2 });
    const rng = new Rng(6);
    const reward = (c: number[]): number => c.filter((x) => x === 2).length / 4;
    const first = policy.update(rollout(policy, rng, 64, 4, 3, reward));
    for (let u = 0; u < 60; u++) policy.update(rollout(policy, rng, 64, 4, 3, reward));
    const last = policy.update(rollout(policy, rng, 64, 4, 3, reward));
    expect(first.meanReward).toBeLessThan(0.5);
    expect(last.meanReward).toBeGreaterThan(0.8);
    expect(last.entropy).toBeLessThan(first.entropy);
  });

  it("same seed and samples give identical parameters L3 m2", () => {
    const run = (): number[][] => {
      const policy = new PpoPolicy({ layers: 3, numChoices: 2, seed: 9 });
      const rng = new Rng(2);
      for (let u = 0; u < 3; u++) {
        policy.update(rollout(policy, rng, 20, 3, 2, (c) => c[0]));
      }
      return policy.distribution([0, 1, 0]);
    };
    expect(run()).toEqual(run());
  });

  it("value head learns a constant reward 0.7 L2 m2", () => {
    const policy = new PpoPolicy({ layers: 2, numChoices: 2, seed: 3, lr: 1e-2 });
    const rng = new Rng(8);
    for (let u = 0; u < 40; u++) policy.update(rollout(policy, rng, 32, 2, 2, () => 0.7));
    expect(policy.value([0, 1])).toBeCloseTo(0.7, 1);
    expect(policy.value([1, 1])).toBeCloseTo(0.7, 1);
  });
});

describe("ppo gradient", () => {
  it("lossAndGrad matches central differences L3 m3 H8 batch 6", () => {
    const policy = new PpoPolicy({
      layers: 3,
      numChoices: 3,
      seed: 12,
      hidden: 8,
      entropyCoef: 0.05,
    });
    const rng = new Rng(13);
    // Samples from the current policy: ratio 1, inside the clip region.
    const batch = rollout(policy, rng, 6, 3, 3, (c) => c[1] - 0.5 * c[2]);
    const adv = batch.map((s, k) => s.reward - 0.1 * k);
    const { grads } = policy.lossAndGrad(batch, adv);
    const eps = 1e-6;
    let checked = 0;
    policy.parameters().forEach((p, a) => {
      for (let i = 0; i < p.length; i += Math.max(1, Math.floor(p.length / 7))) {
        const keep = p[i];
        p[i] = keep + eps;
        const up = policy.lossAndGrad(batch, adv).loss;
        p[i] = keep - eps;
        const down = policy.lossAndGrad(batch, adv).loss;
        p[i] = keep;
        const fd = (up - down) / (2 * eps);
        expect(
          Math.abs(grads[a][i] - fd),
          `param ${a}[${i}] analytic ${grads[a][i]} fd ${fd}`,
        ).toBeLessThan(1e-6 + 1e-4 * Math.abs(fd));
        checked++;
      }
    });
    expect(checked).toBeGreaterThan(30);
  });
});
