import { describe, expect, it } from "vitest";
import { bestWithin, comparePoints } from "./ponas-compare.ts";
import type { SweepRecordPoint } from "./ponas-sweep.ts";
import type { ParetoEntry } from "./search-stage.ts";

const entry = (arch: string, top1: number, madds: number): ParetoEntry => ({
  algo: "nsga2-ppo",
  arch,
  hash: arch,
  top1,
  madds,
  params: madds / 10,
  latencyMs: null,
});

const front = [entry("a", 0.8, 100), entry("b", 0.85, 150), entry("c", 0.9, 300)];

describe("bestWithin", () => {
  it("picks the most accurate member inside the budget", () => {
    expect(bestWithin(front, 99)).toBeNull();
    expect(bestWithin(front, 100)?.arch).toBe("a");
    expect(bestWithin(front, 299.9)?.arch).toBe("b");
    expect(bestWithin(front, 1e9)?.arch).toBe("c");
  });

  it("breaks accuracy ties by fewer MAdds", () => {
    expect(bestWithin([entry("x", 0.8, 200), entry("y", 0.8, 120)], 250)?.arch).toBe("y");
  });
});

describe("comparePoints", () => {
  const point = (budget: number, measured: number | undefined): SweepRecordPoint => ({
    key: "madds",
    budget,
    predicted: 0.83,
    ...(measured === undefined ? {} : { measured }),
    arch: `p${budget}`,
    madds: budget - 1,
    params: 7,
    predictedLoss: 0.01,
    greedyArch: null,
    greedyPredicted: null,
  });

  it("pairs every MAdds sweep point with the front and signs the delta search minus PONAS", () => {
    const pts = comparePoints([point(90, 0.7), point(160, 0.8), point(400, undefined)], front);
    expect(pts).toHaveLength(3);
    expect(pts[0].search).toBeNull();
    expect(pts[0].delta).toBeNull();
    expect(pts[1].search?.arch).toBe("b");
    expect(pts[1].delta).toBeCloseTo(0.05, 12);
    expect(pts[1].ponas).toEqual({
      arch: "p160",
      madds: 159,
      params: 7,
      predicted: 0.83,
      measured: 0.8,
    });
    expect(pts[2].search?.arch).toBe("c");
    expect(pts[2].ponas.measured).toBeNull();
    expect(pts[2].delta).toBeNull();
  });

  it("leaves out sweeps over other keys", () => {
    expect(comparePoints([{ ...point(160, 0.8), key: "params" }], front)).toEqual([]);
  });
});
