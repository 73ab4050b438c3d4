import { describe, expect, it } from "vitest";
import { randn, testGpu } from "@fairnas/kernels/testing";
import { getSpace } from "../space/presets.ts";
import { resolveSpace } from "../space/spec.ts";
import { Supernet } from "../supernet/network.ts";
import { channelCosine, featureSimilarity } from "./similarity.ts";

const gpu = await testGpu();

describe("channel-wise cosine (host)", () => {
  it("N1 H1 W2 C2: identical 1, negated -1, orthogonal per channel 0", () => {
    const a = Float32Array.from([1, 2, 3, 4]); // pixels (1,2) and (3,4), channels interleaved
    expect(channelCosine(a, a, 2)).toBeCloseTo(1, 12);
    expect(
      channelCosine(
        a,
        a.map((v) => -v),
        2,
      ),
    ).toBeCloseTo(-1, 12);
    // channel 0: (1,3)·(3,-1)=0; channel 1: (2,4)·(-4,2)=0
    const b = Float32Array.from([3, -4, -1, 2]);
    expect(channelCosine(a, b, 2)).toBeCloseTo(0, 12);
  });

  it("channels zero in one map are skipped, not counted as 0", () => {
    const a = Float32Array.from([1, 0, 2, 0]);
    const b = Float32Array.from([2, 5, 4, 7]);
    expect(channelCosine(a, b, 2)).toBeCloseTo(1, 12);
  });
});

describe.skipIf(!gpu)("feature similarity on a supernet", () => {
  it("fmnist N8 layers 0, 2: symmetric, unit diagonal, distinct pairs, path honoured", async () => {
    const g = gpu!;
    const space = resolveSpace(getSpace("fmnist"));
    const net = new Supernet(g, space, 4);
    const x = g.tensor([8, 28, 28, 1], Float32Array.from(randn(8 * 28 * 28, 2)), "x");
    try {
      const matrices: number[][][] = [];
      for (const layer of [0, 2]) {
        const s = await featureSimilarity(g, net, x, layer);
        expect(s.layer).toBe(space.layers[layer].label);
        expect(s.path).toEqual(new Array(layer).fill(0)); // the default path: choice 0
        expect(s.choices).toEqual(space.tokens);
        expect(s.images).toBe(8);
        expect(s.matrix).toHaveLength(6);
        s.matrix.forEach((row, i) => {
          expect(row).toHaveLength(6);
          expect(row[i]).toBeCloseTo(1, 5);
          row.forEach((v, j) => {
            expect(v).toBeCloseTo(s.matrix[j][i], 12);
            expect(Math.abs(v)).toBeLessThanOrEqual(1 + 1e-9);
          });
        });
        // Distinct blocks give distinct maps: no pair of choices is identical.
        const off = s.matrix.flatMap((row, i) => row.filter((_, j) => j !== i));
        expect(Math.max(...off)).toBeLessThan(0.999);
        expect(new Set(off.map((v) => v.toFixed(6))).size).toBeGreaterThan(1);
        matrices.push(s.matrix.map((r) => [...r]));
      }
      // Another path into layer 2 feeds its blocks another input.
      const other = await featureSimilarity(g, net, x, 2, [1, 1, 0, 0, 0, 0, 0, 0]);
      expect(other.path).toEqual([1, 1]);
      expect(other.matrix).not.toEqual(matrices[1]);
      await expect(featureSimilarity(g, net, x, 8)).rejects.toThrow(/layer 8 not in \[0, 8\)/);
    } finally {
      x.dispose();
      net.dispose();
    }
  });
});
