import { describe, expect, it } from "vitest";
import { archToString, randomArch } from "../space/arch.ts";
import { blockCost, costOf } from "../space/cost.ts";
import { getSpace } from "../space/presets.ts";
import { resolveSpace } from "../space/spec.ts";
import { Rng } from "@fairnas/kernels";
import { distinctMadds, maddsRange, stratifiedSample } from "./stratified.ts";

const space = resolveSpace(getSpace("fmnist"));

describe("stratified sampling over MAdds", () => {
  it("maddsRange fmnist equals the all-smallest and all-largest networks", () => {
    const { min, max } = maddsRange(space);
    const costs = space.spec.choices.map(
      (_, c) =>
        costOf(
          space,
          space.layers.map(() => c),
        ).madds,
    );
    expect(min).toBe(Math.min(...costs));
    expect(max).toBe(Math.max(...costs));
  });

  it("distinctMadds fmnist equals the count over all 6^8 networks, and stops at its cap", () => {
    const m = space.spec.choices.length;
    const L = space.layers.length;
    const table = space.layers.map((_, l) =>
      Array.from({ length: m }, (__, c) => blockCost(space, l, c).madds),
    );
    const base = costOf(
      space,
      space.layers.map(() => 0),
    ).madds;
    const rng = new Rng(5);
    // Costs add per layer (checked on random networks), so enumerating the table is exact.
    for (let i = 0; i < 50; i++) {
      const a = randomArch(space, rng);
      const sum = a.reduce((s, c, l) => s + table[l][c] - table[l][0], base);
      expect(costOf(space, a).madds).toBe(sum);
    }
    const all = new Set<number>();
    const a = new Array<number>(L).fill(0);
    for (let i = 0; i < m ** L; i++) {
      let r = i;
      for (let l = 0; l < L; l++) {
        a[l] = r % m;
        r = Math.floor(r / m);
      }
      all.add(a.reduce((s, c, l) => s + table[l][c] - table[l][0], base));
    }
    expect(distinctMadds(space, 10 ** 9)).toBe(all.size);
    expect(all.size).toBe(14552);
    expect(distinctMadds(space, 100)).toBe(100);
  });

  it("fmnist N20 seed 3: one architecture per bin, bins tile [min, max]", () => {
    const r = stratifiedSample(space, { count: 20, seed: 3 });
    expect(r.ok).toBe(true);
    expect(r.archs).toHaveLength(20);
    const { min, max } = maddsRange(space);
    expect(r.bins).toHaveLength(20);
    expect(r.bins[0].lo).toBe(min);
    expect(r.bins[19].hi).toBe(max);
    // Equal widths, each bin starting where the one before ends.
    r.bins.forEach((bin, b) => {
      expect(bin.hi - bin.lo).toBeCloseTo((max - min) / 20, 6);
      if (b > 0) expect(bin.lo).toBe(r.bins[b - 1].hi);
    });
    r.archs.forEach((a, b) => {
      const m = costOf(space, a).madds;
      expect(m).toBeGreaterThanOrEqual(r.bins[b].lo);
      // Half-open bins, the last one closed at max.
      if (b < 19) expect(m).toBeLessThan(r.bins[b].hi);
      else expect(m).toBeLessThanOrEqual(r.bins[b].hi);
    });
    // The sample spans the range: its extremes lie in the outermost bins.
    const madds = r.archs.map((a) => costOf(space, a).madds);
    expect(Math.min(...madds) - min).toBeLessThan((max - min) / 20);
    expect(max - Math.max(...madds)).toBeLessThan((max - min) / 20);
  });

  it("fmnist N12: same seed same sample, seeds 1 and 2 differ", () => {
    const key = (s: number) =>
      stratifiedSample(space, { count: 12, seed: s })
        .archs.map((a) => archToString(space, a))
        .join(" ");
    expect(key(1)).toBe(key(1));
    expect(key(1)).not.toBe(key(2));
  });

  it("fmnist N16: distinct, and disjoint from an excluded set", () => {
    const first = stratifiedSample(space, { count: 16, seed: 5 });
    const exclude = new Set(first.archs.map((a) => archToString(space, a)));
    const rng = Rng.derive(9, 1);
    for (let i = 0; i < 50; i++) exclude.add(archToString(space, randomArch(space, rng)));
    const second = stratifiedSample(space, { count: 16, seed: 5, exclude });
    expect(second.ok).toBe(true);
    const keys = second.archs.map((a) => archToString(space, a));
    expect(new Set(keys).size).toBe(16);
    for (const k of keys) expect(exclude.has(k)).toBe(false);
  });

  it("a bin that cannot be filled is a typed failure naming it", () => {
    // Two bins and no draws allowed: both stay empty.
    const r = stratifiedSample(space, { count: 2, seed: 1, maxTries: 0 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(/2 of 2 MAdds bins left empty/);
  });
});
