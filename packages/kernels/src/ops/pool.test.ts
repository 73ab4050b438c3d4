import { describe, expect, it } from "vitest";
import { dot, expectClose, finiteDiff, randn, testGpu } from "../testing.ts";
import { globalAvgPoolBackwardRef, globalAvgPoolRef } from "../reference/pool.ts";
import {
  globalAvgPool,
  globalAvgPoolBackward,
  globalAvgPoolBackwardWith,
  globalAvgPoolWith,
  selectPoolVec,
} from "./pool.ts";

const gpu = await testGpu();
const TOL = { atol: 1e-5, rtol: 1e-4 };

const SHAPES: readonly (readonly number[])[] = [
  [1, 1, 1, 3],
  [2, 7, 7, 8],
  [3, 5, 3, 5],
  [1, 28, 28, 96],
  [4, 3, 6, 12],
  [2, 2, 3, 1],
];

describe.runIf(gpu)("global average pooling on the GPU", () => {
  for (const shape of SHAPES) {
    const [N, H, W, C] = shape;
    const vecs: (1 | 4)[] = C % 4 === 0 ? [1, 4] : [1];
    for (const vec of vecs) {
      it(`globalAvgPool forward and backward vec${vec} N${N} H${H} W${W} C${C}`, async () => {
        const g = gpu!;
        const xs = Float32Array.from(randn(N * H * W * C, 21));
        const dys = Float32Array.from(randn(N * C, 22));
        const x = g.tensor(shape, xs);
        const dy = g.tensor([N, C], dys);
        const y = globalAvgPoolWith(g, vec, x);
        const dx = globalAvgPoolBackwardWith(g, vec, dy, shape);
        expectClose("y", await g.read(y), globalAvgPoolRef(shape, xs), TOL);
        expectClose("dx", await g.read(dx), globalAvgPoolBackwardRef(shape, dys), TOL);
        for (const t of [x, dy, y, dx]) t.dispose();
      });
    }
  }

  it("globalAvgPool public functions and finite differences N2 H3 W5 C4", async () => {
    const g = gpu!;
    const shape = [2, 3, 5, 4];
    const xs = randn(120, 23);
    const r = randn(8, 24);
    const x = g.tensor(shape, xs);
    const dy = g.tensor([2, 4], r);
    const y = globalAvgPool(g, x);
    const dx = globalAvgPoolBackward(g, dy, shape);
    const fd = finiteDiff((v) => dot(globalAvgPoolRef(shape, v), r), xs);
    expectClose("y", await g.read(y), globalAvgPoolRef(shape, Float32Array.from(xs)), TOL);
    expectClose("dx vs fd", await g.read(dx), fd, { atol: 1e-6, rtol: 1e-4 });
    for (const t of [x, dy, y, dx]) t.dispose();
  });

  it("globalAvgPool rejects bad shapes", () => {
    const g = gpu!;
    const x = g.zeros([2, 3, 3]);
    const dy = g.zeros([2, 5]);
    expect(() => globalAvgPool(g, x)).toThrow(
      /globalAvgPool: input must be \[N, H, W, C\].*\[2, 3, 3\]/,
    );
    expect(() => globalAvgPoolBackward(g, dy, [2, 3, 3, 4])).toThrow(
      /globalAvgPoolBackward: dy has shape \[2, 5\], expected \[2, 4\]/,
    );
    x.dispose();
    dy.dispose();
  });
});

describe("global average pooling reference", () => {
  it("backward matches finite differences N1 H2 W3 C2", () => {
    const shape = [1, 2, 3, 2];
    const x = randn(12, 25);
    const r = randn(2, 26);
    const fd = finiteDiff((v) => dot(globalAvgPoolRef(shape, v), r), x);
    expectClose("dx", globalAvgPoolBackwardRef(shape, r), fd, { atol: 1e-8, rtol: 1e-6 });
    expect(selectPoolVec(96)).toBe(4);
    expect(selectPoolVec(5)).toBe(1);
  });
});
