import { afterEach, describe, expect, it } from "vitest";
import { dot, expectClose, finiteDiff, randn, testGpu } from "../testing.ts";
import {
  channelScaleBackwardRef,
  channelScaleRef,
  reluBackwardRef,
  reluRef,
  sigmoidBackwardRef,
  sigmoidRef,
} from "../reference/se.ts";
import {
  channelScale,
  channelScaleBackward,
  forceSeVariant,
  relu,
  reluBackward,
  sigmoid,
  sigmoidBackward,
  type SeVariant,
} from "./se.ts";

const gpu = await testGpu();
const TOL = { atol: 1e-5, rtol: 1e-4 };

function f32(a: ArrayLike<number>): Float32Array {
  return Float32Array.from(a);
}

describe.runIf(gpu)("squeeze-and-excitation pieces on the GPU", () => {
  afterEach(() => forceSeVariant(null));

  const SHAPES: [number, number, number, number][] = [
    [1, 1, 1, 4],
    [2, 3, 5, 7],
    [1, 7, 7, 8],
    [3, 4, 5, 12],
    [2, 9, 11, 3],
    [1, 20, 20, 16],
  ];
  for (const variant of ["scalar", "vec4"] as SeVariant[]) {
    for (const [N, H, W, C] of SHAPES) {
      if (variant === "vec4" && C % 4 !== 0) continue;
      const tag = `N${N} H${H} W${W} C${C}`;
      it(`se ${variant} channelScale, sigmoid, relu forward and backward ${tag}`, async () => {
        const g = gpu!;
        forceSeVariant(variant);
        const shape = [N, H, W, C];
        const size = N * H * W * C;
        const xs = f32(randn(size, size + C, 3));
        const ss = f32(randn(N * C, C, 1));
        const dys = f32(randn(size, size + 1));
        const dss = f32(randn(N * C, C + 2));
        const x = g.tensor(shape, xs, "x");
        const s = g.tensor([N, C], ss, "s");
        const dy = g.tensor(shape, dys, "dy");
        const sdy = g.tensor([N, C], dss, "sdy");

        const y = channelScale(g, x, s);
        const b = channelScaleBackward(g, x, s, dy);
        const ySig = sigmoid(g, s);
        const dSig = sigmoidBackward(g, ySig, sdy);
        const yRelu = relu(g, x);
        const dRelu = reluBackward(g, x, dy);

        const HW = H * W;
        const rb = channelScaleBackwardRef(xs, ss, dys, N, HW, C);
        expectClose("channelScale.y", await g.read(y), channelScaleRef(xs, ss, N, HW, C), TOL);
        expectClose("channelScale.dx", await g.read(b.dx), rb.dx, TOL);
        expectClose("channelScale.ds", await g.read(b.ds), rb.ds, { atol: 1e-4, rtol: 1e-4 });
        const sig = await g.read(ySig);
        expectClose("sigmoid.y", sig, sigmoidRef(ss), TOL);
        expectClose("sigmoid.dx", await g.read(dSig), sigmoidBackwardRef(sig, dss), TOL);
        expectClose("relu.y", await g.read(yRelu), reluRef(xs), TOL);
        expectClose("relu.dx", await g.read(dRelu), reluBackwardRef(xs, dys), TOL);
        for (const t of [x, s, dy, sdy, y, b.dx, b.ds, ySig, dSig, yRelu, dRelu]) t.dispose();
      });
    }
  }

  it("se flat ops on odd sizes count1 count7 count1001", async () => {
    const g = gpu!;
    for (const count of [1, 7, 1001]) {
      const xs = f32(randn(count, count, 4));
      const x = g.tensor([count], xs, "x");
      const y = sigmoid(g, x);
      const r = relu(g, x);
      expectClose(`sigmoid.y count${count}`, await g.read(y), sigmoidRef(xs), TOL);
      expectClose(`relu.y count${count}`, await g.read(r), reluRef(xs), TOL);
      for (const t of [x, y, r]) t.dispose();
    }
  });

  it("sigmoid saturates without NaN at +-1000", async () => {
    const g = gpu!;
    const x = g.tensor([4], [-1000, -50, 50, 1000]);
    const y = await g.read(sigmoid(g, x));
    expectClose("sigmoid extremes", y, sigmoidRef([-1000, -50, 50, 1000]), {
      atol: 1e-7,
      rtol: 1e-6,
    });
    x.dispose();
  });

  it("se refuses outputs aliasing an input before recording anything", async () => {
    const g = gpu!;
    const x = g.tensor([2, 3, 3, 4], randn(72, 1), "x");
    const dy = g.tensor([2, 3, 3, 4], randn(72, 2), "dy");
    const s = g.tensor([2, 4], randn(8, 3), "s");
    const want = await g.read(sigmoid(g, x));
    const dispatches = g.counters.dispatches;
    const live = g.pool.stats().inUseBytes;
    const refused: [() => unknown, RegExp][] = [
      [() => channelScale(g, x, s, x), /^channelScale: y \(x\) must not alias x \(x\)$/],
      [() => sigmoid(g, x, x), /sigmoid: y .* must not alias x/],
      [() => sigmoidBackward(g, x, dy, dy), /sigmoidBackward: dx .* must not alias dy/],
      [() => sigmoidBackward(g, x, dy, x), /sigmoidBackward: dx .* must not alias y/],
      [() => relu(g, x, x), /relu: y .* must not alias x/],
      [() => reluBackward(g, x, dy, dy), /reluBackward: dx .* must not alias dy/],
    ];
    for (const [call, msg] of refused) expect(call).toThrow(msg);
    expect(g.counters.dispatches).toBe(dispatches);
    expect(g.pool.stats().inUseBytes).toBe(live);
    // Nothing was left recorded: a valid call afterwards runs and reads back cleanly.
    const y = sigmoid(g, x);
    expect(await g.read(y)).toEqual(want);
    for (const t of [x, dy, s, y]) t.dispose();
  });

  it("se rejects bad shapes", () => {
    const g = gpu!;
    const x = g.zeros([2, 3, 3, 4]);
    const s = g.zeros([2, 5]);
    expect(() => channelScale(g, x, s)).toThrow(
      /channelScale: s has shape \[2, 5\], expected \[2, 4\]/,
    );
    const dy = g.zeros([5]);
    expect(() => reluBackward(g, x, dy)).toThrow(
      /reluBackward: dy has shape \[5\], expected \[2, 3, 3, 4\]/,
    );
    for (const t of [x, s, dy]) t.dispose();
  });
});

describe("squeeze-and-excitation reference", () => {
  it("channelScale backward matches finite differences N2 HW3 C2", () => {
    const [N, HW, C] = [2, 3, 2];
    const x = randn(N * HW * C, 1);
    const s = randn(N * C, 2);
    const r = randn(N * HW * C, 3);
    const b = channelScaleBackwardRef(x, s, r, N, HW, C);
    expectClose(
      "dx fd",
      b.dx,
      finiteDiff((v) => dot(channelScaleRef(v, s, N, HW, C), r), x),
      { atol: 1e-8, rtol: 1e-6 },
    );
    expectClose(
      "ds fd",
      b.ds,
      finiteDiff((v) => dot(channelScaleRef(x, v, N, HW, C), r), s),
      { atol: 1e-8, rtol: 1e-6 },
    );
  });

  it("sigmoid and relu backward match finite differences count6", () => {
    const x = Float64Array.from([-2.5, -0.3, 0.2, 0.7, 1.9, 4]);
    const r = randn(6, 4);
    const fdS = finiteDiff((v) => dot(sigmoidRef(v), r), x);
    expectClose("sigmoid fd", sigmoidBackwardRef(sigmoidRef(x), r), fdS, {
      atol: 1e-8,
      rtol: 1e-6,
    });
    const fdR = finiteDiff((v) => dot(reluRef(v), r), x);
    expectClose("relu fd", reluBackwardRef(x, r), fdR, { atol: 1e-8, rtol: 1e-6 });
  });
});
