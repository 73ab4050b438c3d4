import { describe, expect, it } from "vitest";
import { Rng } from "@fairnas/kernels";
import {
  averageRanks,
  bootstrapCi,
  type Corr,
  erfc,
  incompleteBeta,
  kendallTauB,
  kendallTauBNaive,
  normalTwoSidedP,
  spearman,
  studentTTwoSidedP,
  topKOverlap,
} from "./stats.ts";

function value(c: Corr): number {
  if (!c.defined) throw new Error(`expected a defined result, got: ${c.reason}`);
  return c.value;
}

function pValue(c: Corr): number {
  if (!c.defined) throw new Error(`expected a defined result, got: ${c.reason}`);
  return c.pValue;
}

/** n values drawn from `levels` distinct levels: heavy ties. */
function tiedSample(rng: Rng, n: number, levels: number): number[] {
  return Array.from({ length: n }, () => rng.int(levels) * 0.5);
}

describe("special functions", () => {
  // Reference values of erfc to 16 digits.
  const known: [number, number][] = [
    [0.5, 0.4795001221869535],
    [1, 0.15729920705028516],
    [2, 0.004677734981047266],
    [3, 2.2090496998585445e-5],
    [5, 1.5374597944280347e-12],
  ];
  for (const [x, want] of known) {
    it(`erfc(${x})`, () => {
      expect(erfc(x)).toBeCloseTo(want, 14);
      expect(Math.abs(erfc(x) - want) / want).toBeLessThan(1e-12);
      expect(erfc(-x)).toBeCloseTo(2 - want, 14);
    });
  }

  it("normalTwoSidedP at z 1.959963985 is 0.05", () => {
    expect(normalTwoSidedP(1.959963984540054)).toBeCloseTo(0.05, 12);
    expect(normalTwoSidedP(0)).toBe(1);
  });

  // Closed forms: df 1 is Cauchy, df 2 has p = 1 - |t| / sqrt(2 + t^2).
  for (const t of [0.1, 0.57735, 1, 3.5, 20]) {
    it(`student t two-sided df1 df2 t${t}`, () => {
      const cauchy = 1 - (2 / Math.PI) * Math.atan(t);
      expect(studentTTwoSidedP(t, 1)).toBeCloseTo(cauchy, 12);
      expect(studentTTwoSidedP(-t, 2)).toBeCloseTo(1 - t / Math.sqrt(2 + t * t), 12);
    });
  }

  it("student t two-sided df7 t2.5, df30 t0.3, df3 t4 (tabulated)", () => {
    expect(studentTTwoSidedP(2.5, 7)).toBeCloseTo(0.04099221858575289, 12);
    expect(studentTTwoSidedP(0.3, 30)).toBeCloseTo(0.7662461052843528, 12);
    expect(studentTTwoSidedP(4, 3)).toBeCloseTo(0.028008456010146152, 12);
  });

  it("incompleteBeta symmetric case I_0.5(a, a) = 0.5 for a 0.5 2 7.5", () => {
    for (const a of [0.5, 2, 7.5]) expect(incompleteBeta(0.5, a, a)).toBeCloseTo(0.5, 13);
    // I_x(1, b) = 1 - (1 - x)^b
    expect(incompleteBeta(0.3, 1, 4)).toBeCloseTo(1 - 0.7 ** 4, 13);
  });
});

describe("kendall tau-b", () => {
  it("x [1,0,0] y [0,0,1] gives -0.5 with p from the normal formula", () => {
    // S = -1; tie-corrected var(S) = (66 - 18 - 18)/18 + 2*2/(2*3*2) = 2.
    const want = erfc(1 / Math.sqrt(2) / Math.SQRT2); // P(|Z| >= 1/sqrt(2))
    for (const f of [kendallTauB, kendallTauBNaive]) {
      const r = f([1, 0, 0], [0, 0, 1]);
      expect(value(r)).toBeCloseTo(-0.5, 15);
      expect(pValue(r)).toBeCloseTo(want, 14);
      expect(pValue(r)).toBeCloseTo(0.4795001221869535, 14); // erfc(0.5)
    }
  });

  it("x [1,3,2] y [3,1,2] gives -1", () => {
    expect(value(kendallTauB([1, 3, 2], [3, 1, 2]))).toBe(-1);
    expect(value(kendallTauBNaive([1, 3, 2], [3, 1, 2]))).toBe(-1);
  });

  it("n4 one swap: tau 2/3, p from S 4 and var 26/3", () => {
    const r = kendallTauB([1, 2, 3, 4], [1, 2, 4, 3]);
    expect(value(r)).toBeCloseTo(2 / 3, 15);
    // z = 4 / sqrt(4*3*13/18) = 1.35873...; P(|Z| >= z) = 0.174231...
    expect(pValue(r)).toBeCloseTo(0.1742313882480252, 13);
  });

  it("n10 identical order: tau 1, p from S 45 and var 125", () => {
    const x = Array.from({ length: 10 }, (_, i) => i);
    const r = kendallTauB(
      x,
      x.map((v) => 3 * v + 1),
    );
    expect(value(r)).toBe(1);
    expect(pValue(r)).toBeCloseTo(5.699411623331858e-5, 16);
  });

  it("n8 ties in both lists: tau 0.84615, tie-corrected p 0.0050179", () => {
    const x = [1, 2, 2, 3, 4, 4, 5, 6];
    const y = [2, 1, 3, 3, 5, 4, 6, 6];
    const r = kendallTauB(x, y);
    expect(value(r)).toBeCloseTo(0.8461538461538463, 14);
    expect(pValue(r)).toBeCloseTo(0.005017926146218106, 14);
  });

  it("O(n log n) equals O(n^2) on heavily tied data, 300 seeds, n 3..200", () => {
    for (let seed = 0; seed < 300; seed++) {
      const rng = new Rng(seed, 11);
      const n = 3 + rng.int(198);
      const levels = 2 + rng.int(5);
      const x = tiedSample(rng, n, levels);
      const y =
        seed % 3 === 0
          ? x.map((v) => (rng.next() < 0.7 ? v : rng.int(levels)))
          : tiedSample(rng, n, levels);
      const fast = kendallTauB(x, y);
      const slow = kendallTauBNaive(x, y);
      expect(fast.defined, `seed ${seed} n ${n}`).toBe(slow.defined);
      if (fast.defined && slow.defined) {
        expect(Math.abs(fast.value - slow.value), `seed ${seed} n ${n}`).toBeLessThan(1e-12);
        expect(Math.abs(fast.pValue - slow.pValue), `seed ${seed}`).toBeLessThan(1e-12);
      }
    }
  });

  it("lower is better reverses the sign only", () => {
    const x = [0.3, 0.1, 0.9, 0.5, 0.5];
    const y = [1, 2, 3, 3, 0];
    const neg = kendallTauB(
      x,
      y.map((v) => -v),
    );
    expect(value(neg)).toBeCloseTo(-value(kendallTauB(x, y)), 15);
    expect(pValue(neg)).toBeCloseTo(pValue(kendallTauB(x, y)), 15);
  });

  it("degenerate input is undefined with a reason, mismatch throws", () => {
    for (const f of [kendallTauB, kendallTauBNaive, spearman]) {
      const flatX = f([2, 2, 2, 2], [1, 2, 3, 4]);
      expect(flatX.defined).toBe(false);
      if (!flatX.defined) expect(flatX.reason).toMatch(/all x equal/);
      const flatY = f([1, 2, 3], [5, 5, 5]);
      if (flatY.defined) throw new Error("constant y must be undefined");
      expect(flatY.reason).toMatch(/all y equal/);
      const short = f([1, 2], [2, 1]);
      if (short.defined) throw new Error("n 2 must be undefined");
      expect(short.reason).toMatch(/fewer than 3 points \(n=2\)/);
      expect(() => f([1, 2, 3], [1, 2])).toThrow(/x: \[3\], y: \[2\]/);
      expect(() => f([1, NaN, 3], [1, 2, 3])).toThrow(/index 1/);
    }
  });
});

describe("spearman", () => {
  it("average ranks with ties [10,20,20,5] -> [2,3.5,3.5,1]", () => {
    expect(averageRanks([10, 20, 20, 5])).toEqual([2, 3.5, 3.5, 1]);
  });

  it("n3 x [1,2,3] y [1,3,2]: rho 0.5, p 2/3 (t with df 1 is Cauchy)", () => {
    const r = spearman([1, 2, 3], [1, 3, 2]);
    expect(value(r)).toBeCloseTo(0.5, 15);
    // t = 0.5 sqrt(1 / 0.75) = tan(pi/6); p = 1 - (2/pi)(pi/6) = 2/3.
    expect(pValue(r)).toBeCloseTo(2 / 3, 13);
  });

  it("n8 with ties: rho 0.93293, p 0.00071693", () => {
    const r = spearman([1, 2, 2, 3, 4, 4, 5, 6], [2, 1, 3, 3, 5, 4, 6, 6]);
    expect(value(r)).toBeCloseTo(0.9329268292682928, 14);
    expect(pValue(r)).toBeCloseTo(0.0007169340592285256, 13);
  });

  it("n10 no ties equals 1 - 6 sum d^2 / (n (n^2 - 1))", () => {
    const x = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const y = [2, 1, 4, 3, 7, 5, 6, 10, 8, 9];
    const d2 = x.reduce((s, v, i) => s + (v - y[i]) ** 2, 0);
    const r = spearman(x, y);
    expect(value(r)).toBeCloseTo(1 - (6 * d2) / (10 * 99), 14);
    expect(pValue(r)).toBeCloseTo(0.0003436121977632824, 13);
  });

  it("perfect monotone gives rho 1 and p 0", () => {
    const r = spearman([1, 2, 3, 4], [1, 4, 9, 16]);
    expect(value(r)).toBe(1);
    expect(pValue(r)).toBe(0);
  });
});

describe("bootstrap and top-k", () => {
  it("bootstrapCi kendall n40 level 0.9 contains the estimate, seeded", () => {
    const rng = new Rng(7);
    const x = Array.from({ length: 40 }, () => rng.next());
    const y = x.map((v) => v + 0.3 * rng.normal());
    const tau = value(kendallTauB(x, y));
    const opts = { resamples: 400, level: 0.9 };
    const ci = bootstrapCi(x, y, kendallTauB, { ...opts, rng: new Rng(3) });
    if ("defined" in ci) throw new Error(ci.reason);
    expect(ci.lo).toBeLessThan(tau);
    expect(ci.hi).toBeGreaterThan(tau);
    expect(ci.hi - ci.lo).toBeGreaterThan(0.05);
    expect(ci.hi - ci.lo).toBeLessThan(0.6);
    expect(ci.resamples).toBe(400);
    // Same seed, same interval; different seed, a different one.
    const again = bootstrapCi(x, y, kendallTauB, { ...opts, rng: new Rng(3) });
    expect(again).toEqual(ci);
    const other = bootstrapCi(x, y, kendallTauB, { ...opts, rng: new Rng(4) });
    expect(other).not.toEqual(ci);
  });

  it("bootstrapCi n3 spearman counts undefined (constant) resamples", () => {
    const ci = bootstrapCi([1, 2, 3], [1, 3, 2], spearman, {
      resamples: 270,
      level: 0.95,
      rng: new Rng(1),
    });
    // A draw of 3 from 3 is constant (undefined) with chance 3/27 = 1/9.
    if ("defined" in ci) throw new Error(ci.reason);
    expect(ci.undefinedCount).toBeGreaterThan(12);
    expect(ci.undefinedCount).toBeLessThan(50);
    expect(ci.lo).toBeGreaterThanOrEqual(-1);
    expect(ci.hi).toBe(1);
  });

  it("bootstrapCi undefined on the data or on most resamples", () => {
    const opts = { resamples: 50, level: 0.95, rng: new Rng(1) };
    const flat = bootstrapCi([1, 1, 1, 1], [1, 2, 3, 4], kendallTauB, opts);
    expect("defined" in flat && flat.reason).toMatch(/all x equal/);
    // Defined only when the draw starts with the point x = 1 (1 in 5).
    const picky = (x: readonly number[], y: readonly number[]): Corr =>
      x[0] === 1 ? kendallTauB(x, y) : { defined: false, reason: "picky" };
    const x = [1, 2, 3, 4, 5];
    const rare = bootstrapCi(x, [2, 1, 4, 3, 5], picky, opts);
    expect("defined" in rare && rare.reason).toMatch(/undefined on \d+ of 50 resamples \(n=5\)/);
    expect(() => bootstrapCi(x, x, kendallTauB, { ...opts, level: 1 })).toThrow(/level/);
  });

  it("topKOverlap n6 k3 higher and lower is better", () => {
    const x = [0.9, 0.8, 0.1, 0.7, 0.2, 0.3];
    const y = [10, 1, 2, 9, 8, 0];
    // top3 x: {0,1,3}; top3 y: {0,3,4} -> 2/3.
    expect(topKOverlap(x, y, 3)).toBeCloseTo(2 / 3, 15);
    // bottom3 x: {2,4,5}; bottom3 y: {5,1,2} -> 2/3.
    expect(topKOverlap(x, y, 3, false)).toBeCloseTo(2 / 3, 15);
    expect(topKOverlap(x, y, 1)).toBe(1);
    expect(topKOverlap(x, y, 6)).toBe(1);
    expect(() => topKOverlap(x, y, 0)).toThrow(/k must be an integer in \[1, 6\]/);
    expect(() => topKOverlap(x, y.slice(1), 2)).toThrow(/x: \[6\], y: \[5\]/);
  });
});
