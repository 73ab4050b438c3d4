import { describe, expect, it } from "vitest";
import { dot, expectClose, finiteDiff, randn, testGpu } from "../testing.ts";
import { relu6BackwardRef, relu6Ref } from "../reference/elementwise.ts";
import { relu6, relu6Backward } from "./elementwise.ts";

const gpu = await testGpu();

describe.runIf(gpu)("relu6 on the GPU", () => {
  for (const count of [1, 7, 1000, 70001]) {
    it(`relu6 forward and backward count${count}`, async () => {
      const g = gpu!;
      const xs = randn(count, count, 4);
      const dys = randn(count, count + 1);
      const x = g.tensor([count], xs);
      const dy = g.tensor([count], dys);
      const y = relu6(g, x);
      const dx = relu6Backward(g, x, dy);
      expectClose("relu6.y", await g.read(y), relu6Ref(Float32Array.from(xs)));
      expectClose("relu6.dx", await g.read(dx), relu6BackwardRef(Float32Array.from(xs), dys));
      for (const t of [x, dy, y, dx]) t.dispose();
    });
  }

  it("rejects a mismatched gradient shape", () => {
    const g = gpu!;
    const x = g.zeros([2, 3]);
    const dy = g.zeros([3, 2]);
    expect(() => relu6Backward(g, x, dy)).toThrow(
      /relu6Backward: dy has shape \[3, 2\], expected \[2, 3\]/,
    );
    x.dispose();
    dy.dispose();
  });

  it("refuses an output aliasing an input before recording anything", async () => {
    const g = gpu!;
    const x = g.tensor([37], randn(37, 1, 4));
    const dy = g.tensor([37], randn(37, 2));
    const want = [await g.read(relu6(g, x)), await g.read(relu6Backward(g, x, dy))];
    const dispatches = g.counters.dispatches;
    const live = g.pool.stats().inUseBytes;
    expect(() => relu6(g, x, x)).toThrow(/^relu6: y \(tensor\) must not alias x \(tensor\)$/);
    expect(() => relu6Backward(g, x, dy, dy)).toThrow(/relu6Backward: dx .* must not alias dy/);
    expect(() => relu6Backward(g, x, dy, x)).toThrow(/relu6Backward: dx .* must not alias x/);
    expect(g.counters.dispatches).toBe(dispatches);
    expect(g.pool.stats().inUseBytes).toBe(live);
    // Nothing was left recorded: valid calls afterwards run and read back cleanly.
    const y = relu6(g, x);
    const dx = relu6Backward(g, x, dy);
    expect([await g.read(y), await g.read(dx)]).toEqual(want);
    for (const t of [x, dy, y, dx]) t.dispose();
  });
});

describe("relu6 reference", () => {
  it("backward matches finite differences away from the kinks", () => {
    const x = Float64Array.from([-1, 0.5, 3, 5.5, 7]);
    const r = Float64Array.from([1, 2, 3, 4, 5]);
    const fd = finiteDiff((v) => dot(relu6Ref(v), r), x);
    expectClose("relu6 fd", relu6BackwardRef(x, r), fd, { atol: 1e-6, rtol: 1e-6 });
  });
});
