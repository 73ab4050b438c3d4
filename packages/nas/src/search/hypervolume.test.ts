import { describe, expect, it } from "vitest";
import { Rng } from "@fairnas/kernels";
import { hypervolume } from "./hypervolume.ts";

/** Counts unit cells [x, x+1) x ... below ref dominated by some integer point. */
function gridVolume(points: number[][], ref: number[]): number {
  const D = ref.length;
  let count = 0;
  const cell = new Array<number>(D).fill(0);
  const walk = (d: number): void => {
    if (d === D) {
      if (points.some((p) => p.every((x, i) => x <= cell[i]))) count++;
      return;
    }
    for (let v = 0; v < ref[d]; v++) {
      cell[d] = v;
      walk(d + 1);
    }
  };
  walk(0);
  return count;
}

function randomPoints(rng: Rng, n: number, D: number, hi: number): number[][] {
  return Array.from({ length: n }, () => Array.from({ length: D }, () => rng.int(hi)));
}

describe("hypervolume", () => {
  it("2 objectives single point (1,2) ref (4,5) is 9", () => {
    expect(hypervolume([[1, 2]], [4, 5])).toBe(9);
  });

  it("2 objectives staircase (1,3) (2,2) (3,1) ref (4,4) is 6", () => {
    expect(
      hypervolume(
        [
          [1, 3],
          [2, 2],
          [3, 1],
        ],
        [4, 4],
      ),
    ).toBe(6);
  });

  it("3 objectives two boxes by inclusion-exclusion", () => {
    // |A| = 2*2*2, |B| = 1*3*1, |A and B| = 1*2*1 -> 8 + 3 - 2 = 9.
    expect(
      hypervolume(
        [
          [1, 1, 1],
          [2, 0, 2],
        ],
        [3, 3, 3],
      ),
    ).toBe(9);
  });

  it("points not beating the reference are ignored", () => {
    expect(
      hypervolume(
        [
          [1, 1],
          [5, 0],
          [0, 4],
        ],
        [4, 4],
      ),
    ).toBe(9);
    expect(hypervolume([[4, 0, 0]], [4, 4, 4])).toBe(0);
    expect(hypervolume([], [1, 1, 1])).toBe(0);
  });

  for (const [D, n, seed] of [
    [2, 12, 1],
    [2, 30, 2],
    [3, 8, 3],
    [3, 20, 4],
  ]) {
    it(`matches grid count D${D} n${n} seed${seed} ref 8`, () => {
      const rng = new Rng(seed);
      const points = randomPoints(rng, n, D, 9); // some land on or past ref
      const ref = new Array<number>(D).fill(8);
      expect(hypervolume(points, ref)).toBe(gridVolume(points, ref));
    });
  }

  it("unchanged by adding dominated and duplicate points D3", () => {
    const base = [
      [1, 4, 2],
      [3, 1, 3],
      [2, 2, 1],
    ];
    const ref = [5, 5, 5];
    const more = [...base, [3, 4, 3], [1, 4, 2], [4, 4, 4]];
    expect(hypervolume(more, ref)).toBe(hypervolume(base, ref));
  });
});
