import { describe, expect, it } from "vitest";
import { Rng } from "@fairnas/kernels";
import {
  constrainedDominates,
  crowdingDistance,
  dominates,
  environmentalSelection,
  fastNonDominatedSort,
  mutateLayers,
  rankAndCrowding,
  tournament,
  uniformCrossover,
} from "./nsga2.ts";

const zip = (f1: number[], f2: number[]): number[][] => f1.map((x, i) => [x, f2[i]]);

describe("nsga2 sorting", () => {
  it("fastNonDominatedSort 2 objectives 6 points 3 fronts", () => {
    // (1,5) (2,3) (4,1) first; (3,4) (5,2) second; (6,6) third.
    const objs = [
      [3, 4],
      [1, 5],
      [6, 6],
      [2, 3],
      [5, 2],
      [4, 1],
    ];
    expect(fastNonDominatedSort(objs)).toEqual([[1, 3, 5], [0, 4], [2]]);
  });

  it("fastNonDominatedSort equal points share a front", () => {
    expect(
      fastNonDominatedSort([
        [1, 1],
        [1, 1],
        [0, 2],
      ]),
    ).toEqual([[0, 1, 2]]);
  });

  it("fastNonDominatedSort matches brute-force ranks 40 random points 3 objectives", () => {
    const rng = new Rng(7);
    const objs = Array.from({ length: 40 }, () => [rng.int(6), rng.int(6), rng.int(6)]);
    const fronts = fastNonDominatedSort(objs);
    expect(fronts.flat().sort((a, b) => a - b)).toEqual([...Array(40).keys()]);
    // Rank by definition: 0 if undominated, else 1 + max rank of dominators.
    const rank = new Array<number>(40).fill(-1);
    fronts.forEach((f, r) =>
      f.forEach((i) => {
        rank[i] = r;
      }),
    );
    for (let i = 0; i < 40; i++) {
      const dominators = objs.map((_, j) => j).filter((j) => dominates(objs[j], objs[i]));
      const expected =
        dominators.length === 0 ? 0 : 1 + Math.max(...dominators.map((j) => rank[j]));
      expect(rank[i], `point ${i} ${objs[i]}`).toBe(expected);
    }
  });
});

describe("nsga2 crowding", () => {
  it("crowding f1=[0,1,2,10] f2=[10,5,1,0] is [inf, 1.1, 1.4, inf]", () => {
    const objs = zip([0, 1, 2, 10], [10, 5, 1, 0]);
    const d = crowdingDistance(objs, [0, 1, 2, 3]);
    expect(d[0]).toBe(Infinity);
    expect(d[3]).toBe(Infinity);
    expect(d[1]).toBeCloseTo(1.1, 12);
    expect(d[2]).toBeCloseTo(1.4, 12);
  });

  it("truncating f1=[0,1,2,10] f2=[10,5,1,0] to 3 keeps {0, 3, 2}", () => {
    const kept = environmentalSelection(zip([0, 1, 2, 10], [10, 5, 1, 0]), 3);
    expect(new Set(kept)).toEqual(new Set([0, 3, 2]));
  });

  it("crowding of a sub-front uses only that front's range", () => {
    // Points 1..3 alone: f1 range 9, f2 range 5; point 2 gets 9/9 + 5/5.
    const objs = zip([0, 1, 2, 10], [10, 5, 1, 0]);
    expect(crowdingDistance(objs, [1, 2, 3])).toEqual([Infinity, 2, Infinity]);
  });

  it("environmentalSelection fills whole fronts before cutting P4 of 6", () => {
    const objs = [
      [3, 4],
      [1, 5],
      [6, 6],
      [2, 3],
      [5, 2],
      [4, 1],
    ];
    const kept = environmentalSelection(objs, 4);
    expect(kept.slice(0, 3)).toEqual([1, 3, 5]);
    expect([0, 4]).toContain(kept[3]);
  });
});

describe("nsga2 constrained domination", () => {
  it("feasible beats infeasible even when Pareto-worse", () => {
    expect(constrainedDominates([9, 9], [0, 0], 0, 0.1)).toBe(true);
    expect(constrainedDominates([0, 0], [9, 9], 0.1, 0)).toBe(false);
  });

  it("two infeasible: smaller violation wins regardless of objectives", () => {
    expect(constrainedDominates([9, 9], [0, 0], 0.2, 0.5)).toBe(true);
    expect(constrainedDominates([0, 0], [9, 9], 0.5, 0.2)).toBe(false);
    expect(constrainedDominates([0, 0], [9, 9], 0.3, 0.3)).toBe(false);
  });

  it("two feasible: Pareto", () => {
    expect(constrainedDominates([1, 2], [2, 2], 0, 0)).toBe(true);
    expect(constrainedDominates([1, 3], [2, 2], 0, 0)).toBe(false);
  });

  it("sort with violations puts feasible first, infeasible by violation", () => {
    const objs = [
      [0, 0],
      [5, 5],
      [1, 1],
      [6, 6],
    ];
    const fronts = fastNonDominatedSort(objs, [0.5, 0, 0.1, 0]);
    expect(fronts).toEqual([[1], [3], [2], [0]]);
  });
});

describe("nsga2 variation", () => {
  it("tournament prefers lower rank then wider crowding", () => {
    const rc = rankAndCrowding(zip([0, 1, 2, 10, 3], [10, 5, 1, 0, 6]));
    // Point 4 (3,6) is dominated by point 1 (1,5): rank 1, never wins a mixed pair.
    const rng = new Rng(3);
    const wins = new Array<number>(5).fill(0);
    for (let k = 0; k < 4000; k++) wins[tournament(rng, rc)]++;
    expect(wins[4]).toBeLessThan(4000 / 25 + 60);
    expect(wins[2]).toBeGreaterThan(wins[1]);
  });

  it("uniformCrossover L64 takes each layer from a parent, both used", () => {
    const a = new Array<number>(64).fill(0);
    const b = new Array<number>(64).fill(1);
    const c = uniformCrossover(new Rng(1), a, b);
    const ones = c.filter((x) => x === 1).length;
    expect(ones).toBeGreaterThan(16);
    expect(ones).toBeLessThan(48);
  });

  it("mutateLayers m3 rate1 always changes every layer, rate0 none", () => {
    const rng = new Rng(2);
    const arch = [0, 1, 2, 0, 1, 2];
    const all = mutateLayers(rng, arch, 3, 1);
    all.forEach((c, l) => {
      expect(c).not.toBe(arch[l]);
      expect(c).toBeGreaterThanOrEqual(0);
      expect(c).toBeLessThan(3);
    });
    expect(mutateLayers(rng, arch, 3, 0)).toEqual(arch);
  });
});
