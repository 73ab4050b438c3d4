import { describe, expect, it } from "vitest";
import { dot, expectClose, finiteDiff, randn, testGpu } from "../testing.ts";
import {
  conv2dBackwardInputRef,
  conv2dBackwardWeightRef,
  conv2dOutDims,
  conv2dRef,
  type Conv2dDims,
} from "../reference/conv2d.ts";
import {
  conv2d,
  conv2dBackwardInput,
  conv2dBackwardWeight,
  conv2dBackwardWeightWith,
  conv2dForwardWith,
  selectConv2dVariant,
  type Conv2dVariant,
} from "./conv2d.ts";

const gpu = await testGpu();
const TOL = { atol: 1e-4, rtol: 1e-4 };

function f32(a: Float64Array): Float64Array {
  return Float64Array.from(Float32Array.from(a));
}

function name(d: Conv2dDims): string {
  return `N${d.N} H${d.H} W${d.W} Ci${d.CI} Co${d.CO} K${d.K} S${d.S} P${(d.K - 1) / 2}`;
}

// Odd and tiny images, N=1, Co off the vec4 grid, every K, both strides,
// and one shape with enough output pixels for several dw slices.
const CASES: readonly Conv2dDims[] = [
  { N: 1, H: 7, W: 7, CI: 3, CO: 16, K: 3, S: 2 },
  { N: 2, H: 5, W: 6, CI: 1, CO: 8, K: 3, S: 1 },
  { N: 1, H: 3, W: 3, CI: 3, CO: 5, K: 5, S: 1 },
  { N: 1, H: 9, W: 7, CI: 2, CO: 4, K: 7, S: 2 },
  { N: 2, H: 4, W: 5, CI: 3, CO: 12, K: 1, S: 2 },
  { N: 1, H: 1, W: 1, CI: 1, CO: 4, K: 3, S: 1 },
  { N: 1, H: 6, W: 5, CI: 3, CO: 6, K: 7, S: 1 },
  { N: 2, H: 33, W: 33, CI: 1, CO: 4, K: 3, S: 1 },
  // K and S are pipeline constants: every pair the vec4 kernels take
  // (5x5 and 7x7 at stride 1 had only the naive kernel, 5x5 stride 2 and
  // 1x1 stride 1 nothing).
  { N: 1, H: 6, W: 7, CI: 2, CO: 8, K: 5, S: 1 },
  { N: 1, H: 9, W: 6, CI: 2, CO: 12, K: 5, S: 2 },
  { N: 2, H: 5, W: 6, CI: 3, CO: 4, K: 7, S: 1 },
  { N: 1, H: 3, W: 5, CI: 4, CO: 8, K: 1, S: 1 },
];

describe.runIf(gpu)("conv2d on the GPU", () => {
  for (const d of CASES) {
    const [OH, OW] = conv2dOutDims(d);
    const variants: Conv2dVariant[] = ["naive"];
    if (selectConv2dVariant(d.CO) === "vec4") variants.push("vec4");
    for (const v of variants) {
      it(`conv2d ${v} ${name(d)} forward, backward-input, backward-weight`, async () => {
        const g = gpu!;
        const xs = f32(randn(d.N * d.H * d.W * d.CI, d.H + d.CI));
        const ws = f32(randn(d.K * d.K * d.CI * d.CO, d.K + d.CO, 0.5));
        const dys = f32(randn(d.N * OH * OW * d.CO, d.CO + 3));
        const dw0 = f32(randn(ws.length, 9));
        const opts = { stride: d.S };
        const x = g.tensor([d.N, d.H, d.W, d.CI], xs);
        const w = g.tensor([d.K, d.K, d.CI, d.CO], ws);
        const dy = g.tensor([d.N, OH, OW, d.CO], dys);
        const y = g.empty([d.N, OH, OW, d.CO]);
        const dw = g.empty(w.shape);
        const dwAcc = g.tensor(w.shape, dw0);
        conv2dForwardWith(g, v, x, w, y, opts);
        const dx = conv2dBackwardInput(g, dy, w, { ...opts, inputShape: x.shape });
        conv2dBackwardWeightWith(g, v, x, dy, dw, opts, false);
        conv2dBackwardWeightWith(g, v, x, dy, dwAcc, opts, true);

        expectClose("y", await g.read(y), conv2dRef(xs, ws, d), TOL);
        expectClose("dx", await g.read(dx), conv2dBackwardInputRef(dys, ws, d), TOL);
        const dwRef = conv2dBackwardWeightRef(xs, dys, d);
        expectClose("dw", await g.read(dw), dwRef, TOL);
        expectClose(
          "dw accumulate",
          await g.read(dwAcc),
          dwRef.map((e, i) => e + dw0[i]),
          TOL,
        );
        for (const t of [x, w, dy, y, dw, dwAcc, dx]) t.dispose();
      });
    }
  }

  for (const d of [
    { N: 1, H: 4, W: 5, CI: 2, CO: 4, K: 3, S: 2 },
    { N: 1, H: 3, W: 4, CI: 1, CO: 3, K: 5, S: 1 },
  ] as const) {
    it(`conv2d backward matches finite differences ${name(d)}`, async () => {
      const g = gpu!;
      const [OH, OW] = conv2dOutDims(d);
      const xs = f32(randn(d.N * d.H * d.W * d.CI, 41));
      const ws = f32(randn(d.K * d.K * d.CI * d.CO, 42));
      const r = f32(randn(d.N * OH * OW * d.CO, 43));
      const fdX = finiteDiff((v) => dot(conv2dRef(v, ws, d), r), xs.slice());
      const fdW = finiteDiff((v) => dot(conv2dRef(xs, v, d), r), ws.slice());
      const tol = { atol: 1e-5, rtol: 1e-4 };
      expectClose("ref dx vs fd", conv2dBackwardInputRef(r, ws, d), fdX, tol);
      expectClose("ref dw vs fd", conv2dBackwardWeightRef(xs, r, d), fdW, tol);

      const x = g.tensor([d.N, d.H, d.W, d.CI], xs);
      const w = g.tensor([d.K, d.K, d.CI, d.CO], ws);
      const dy = g.tensor([d.N, OH, OW, d.CO], r);
      const dw = g.empty(w.shape);
      const dx = conv2dBackwardInput(g, dy, w, { stride: d.S, inputShape: x.shape });
      conv2dBackwardWeight(g, x, dy, dw, { stride: d.S }, false);
      expectClose("gpu dx vs fd", await g.read(dx), fdX, tol);
      expectClose("gpu dw vs fd", await g.read(dw), fdW, tol);
      for (const t of [x, w, dy, dw, dx]) t.dispose();
    });
  }

  it("conv2d public API allocates y[N, OH, OW, Co] N2 H28 W28 Ci1 Co16 K3 S2", async () => {
    const g = gpu!;
    const d = { N: 2, H: 28, W: 28, CI: 1, CO: 16, K: 3, S: 2 };
    const xs = f32(randn(2 * 28 * 28, 5));
    const ws = f32(randn(9 * 16, 6));
    const x = g.tensor([2, 28, 28, 1], xs);
    const w = g.tensor([3, 3, 1, 16], ws);
    const y = conv2d(g, x, w, { stride: 2 });
    expect(y.shape).toEqual([2, 14, 14, 16]);
    expectClose("y", await g.read(y), conv2dRef(xs, ws, d), TOL);
    for (const t of [x, w, y]) t.dispose();
  });

  it("rejects unsupported kernels, strides and mismatched shapes", () => {
    const g = gpu!;
    const x = g.zeros([1, 8, 8, 3]);
    const w4 = g.zeros([4, 4, 3, 8]);
    const w3 = g.zeros([3, 3, 3, 8]);
    const wBad = g.zeros([3, 3, 1, 8]);
    expect(() => conv2d(g, x, w4, { stride: 1 })).toThrow(
      /conv2d: w has shape \[4, 4, 3, 8\]; kernel must be KxK with K in/,
    );
    expect(() => conv2d(g, x, w3, { stride: 3 })).toThrow(/conv2d: stride 3 unsupported/);
    expect(() => conv2d(g, x, wBad, { stride: 1 })).toThrow(
      /conv2d: input shape \[1, 8, 8, 3\] does not match w \[3, 3, 1, 8\]/,
    );
    const dy = g.zeros([1, 8, 8, 8]);
    expect(() => conv2dBackwardInput(g, dy, w3, { stride: 2, inputShape: x.shape })).toThrow(
      /conv2dBackwardInput: dy has shape \[1, 8, 8, 8\], expected \[1, 4, 4, 8\]/,
    );
    const live = g.pool.stats().inUseBytes;
    expect(() => conv2dBackwardInput(g, dy, w3, { stride: 1 } as never)).toThrow(
      /^conv2dBackwardInput: opts\.inputShape \(x's shape \[N, H, W, Cin\]\) is required/,
    );
    expect(g.pool.stats().inUseBytes).toBe(live);
    for (const t of [x, w4, w3, wBad, dy]) t.dispose();
  });

  it("refuses outputs aliasing an input before recording anything", async () => {
    const g = gpu!;
    const opts = { stride: 1 };
    // x, w, y, dy and dw all [3, 3, 3, 3] (N = H = W = K, Ci = Co), so every
    // pairing passes the shape checks.
    const shape = [3, 3, 3, 3];
    const x = g.tensor(shape, randn(81, 1), "x");
    const w = g.tensor(shape, randn(81, 2, 0.5), "w");
    const dy = g.tensor(shape, randn(81, 3), "dy");
    const want = await g.read(conv2d(g, x, w, opts));
    const dispatches = g.counters.dispatches;
    const live = g.pool.stats().inUseBytes;
    const back = { ...opts, inputShape: shape };
    const refused: [() => unknown, RegExp][] = [
      [() => conv2d(g, x, w, opts, x), /^conv2d: y \(x\) must not alias x \(x\)$/],
      [() => conv2d(g, x, w, opts, w), /conv2d: y \(w\) must not alias w \(w\)/],
      [() => conv2dForwardWith(g, "naive", x, w, x, opts), /conv2d: y .* must not alias x/],
      [
        () => conv2dBackwardInput(g, dy, w, back, dy),
        /conv2dBackwardInput: dx .* must not alias dy/,
      ],
      [() => conv2dBackwardInput(g, dy, w, back, w), /conv2dBackwardInput: dx .* must not alias w/],
      [
        () => conv2dBackwardWeight(g, x, dy, x, opts, false),
        /conv2dBackwardWeight: dw .* must not alias x/,
      ],
      [
        () => conv2dBackwardWeight(g, x, dy, dy, opts, true),
        /conv2dBackwardWeight: dw .* must not alias dy/,
      ],
      [
        () => conv2dBackwardWeightWith(g, "naive", x, dy, dy, opts, false),
        /conv2dBackwardWeight: dw .* must not alias dy/,
      ],
    ];
    for (const [call, msg] of refused) expect(call).toThrow(msg);
    expect(g.counters.dispatches).toBe(dispatches);
    expect(g.pool.stats().inUseBytes).toBe(live);
    // Nothing was left recorded: a valid call afterwards runs and reads back cleanly.
    const y = conv2d(g, x, w, opts);
    expect(await g.read(y)).toEqual(want);
    for (const t of [x, w, dy, y]) t.dispose();
  });
});

describe("conv2d reference", () => {
  it("backward matches finite differences N1 H5 W4 Ci2 Co3 K3 S2 P1", () => {
    const d = { N: 1, H: 5, W: 4, CI: 2, CO: 3, K: 3, S: 2 };
    const [OH, OW] = conv2dOutDims(d);
    const xs = randn(d.N * d.H * d.W * d.CI, 51);
    const ws = randn(d.K * d.K * d.CI * d.CO, 52);
    const r = randn(d.N * OH * OW * d.CO, 53);
    const tol = { atol: 1e-6, rtol: 1e-6 };
    const fdX = finiteDiff((v) => dot(conv2dRef(v, ws, d), r), xs.slice());
    expectClose("dx fd", conv2dBackwardInputRef(r, ws, d), fdX, tol);
    const fdW = finiteDiff((v) => dot(conv2dRef(xs, v, d), r), ws.slice());
    expectClose("dw fd", conv2dBackwardWeightRef(xs, r, d), fdW, tol);
  });
});
