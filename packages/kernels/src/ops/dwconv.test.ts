import { afterEach, describe, expect, it } from "vitest";
import { dot, expectClose, finiteDiff, randn, testGpu } from "../testing.ts";
import {
  dwconvBackwardInputRef,
  dwconvBackwardWeightRef,
  dwconvOutSize,
  dwconvRef,
  type DwconvGeometry,
} from "../reference/dwconv.ts";
import {
  dwconv,
  dwconvBackwardInput,
  dwconvBackwardInputWith,
  dwconvBackwardWeight,
  dwconvBackwardWeightWith,
  dwconvWith,
  selectDwconv,
  type DwconvKernel,
} from "./dwconv.ts";

import { slideBackwardWeightWgsl } from "./dwconv-slide.ts";
import { setLaneSpread } from "../runtime/spread.ts";
const gpu = await testGpu();
const TOL = { atol: 1e-4, rtol: 1e-4 };

// Awkward shapes: odd H and W smaller than a tile, C not a multiple of 4,
// N = 1, widths that leave a partial tile, an image smaller than the kernel.
const SHAPES: readonly DwconvGeometry[] = [
  { N: 1, H: 7, W: 7, C: 8, K: 5, S: 2 },
  { N: 2, H: 5, W: 9, C: 5, K: 3, S: 1 },
  { N: 1, H: 3, W: 3, C: 4, K: 7, S: 1 },
  { N: 2, H: 6, W: 11, C: 12, K: 7, S: 2 },
  { N: 3, H: 10, W: 6, C: 24, K: 3, S: 2 },
  { N: 1, H: 1, W: 1, C: 3, K: 3, S: 1 },
  { N: 2, H: 13, W: 5, C: 7, K: 5, S: 1 },
  { N: 1, H: 9, W: 14, C: 16, K: 5, S: 2 },
  // vec4 channels with strips cut short (H, OH not multiples of the strip
  // heights), an image smaller than the kernel, and several partial-sum groups.
  { N: 2, H: 9, W: 13, C: 8, K: 5, S: 1 },
  { N: 1, H: 2, W: 2, C: 4, K: 3, S: 1 },
  { N: 1, H: 3, W: 5, C: 4, K: 7, S: 2 },
  { N: 5, H: 17, W: 9, C: 12, K: 3, S: 1 },
  { N: 3, H: 19, W: 7, C: 8, K: 7, S: 2 },
  // 7x7 stride 1 on a map past SMALL_MAP rows (7-row strips, the last cut short).
  { N: 2, H: 11, W: 6, C: 8, K: 7, S: 1 },
  // At least 16 channel vectors, so lavapipe's lane spread permutes them:
  // 16 (all dealt out with stride 2) and 19 (16 dealt out, 3 in order).
  { N: 1, H: 6, W: 5, C: 64, K: 3, S: 1 },
  { N: 2, H: 9, W: 7, C: 76, K: 7, S: 2 },
  // 3x3 stride 2 past SMALL_MAP output rows (CIFAR's first stage, 32 -> 16):
  // the 2-row strips of the forward and weight gradient, which no shape
  // above reaches; 9 output rows, so the last strip is cut short. (5x5
  // stride 2 in 7-row strips is in prologue.test.ts, with the BN + ReLU6
  // prologue the supernet always gives it.)
  { N: 1, H: 17, W: 6, C: 8, K: 3, S: 2 },
];

function kernelsFor(C: number): DwconvKernel[] {
  const ks: DwconvKernel[] = [
    { variant: "naive", vec: 1 },
    { variant: "tiled", vec: 1 },
  ];
  if (C % 4 === 0) ks.push({ variant: "tiled", vec: 4 }, { variant: "slide", vec: 4 });
  return ks;
}

function name(g: DwconvGeometry): string {
  const P = (g.K - 1) / 2;
  return `N${g.N} H${g.H} W${g.W} C${g.C} K${g.K} S${g.S} P${P}`;
}

function outShape(g: DwconvGeometry): number[] {
  return [g.N, dwconvOutSize(g.H, g.K, g.S), dwconvOutSize(g.W, g.K, g.S), g.C];
}

describe.runIf(gpu)("dwconv on the GPU", () => {
  afterEach(() => setLaneSpread(undefined));
  for (const g of SHAPES) {
    const runs = kernelsFor(g.C).flatMap((k) =>
      k.variant !== "slide"
        ? [{ k, spread: 0 }]
        : // In order (a GPU's default) on the 3x3 shapes only: every spread
          // is another set of lavapipe compiles.
          (g.K === 3 ? [1, 8] : [8]).map((spread) => ({ k, spread })),
    );
    for (const { k, spread } of runs) {
      const tag = `${k.variant}${spread ? ` spread${spread}` : ""} vec${k.vec} ${name(g)}`;
      it(`dwconv forward, backward-input, backward-weight ${tag}`, async () => {
        const G = gpu!;
        setLaneSpread(spread || undefined);
        const yShape = outShape(g);
        const xs = Float32Array.from(randn(g.N * g.H * g.W * g.C, 1));
        const ws = Float32Array.from(randn(g.K * g.K * g.C, 2));
        const dys = Float32Array.from(
          randn(
            yShape.reduce((a, b) => a * b),
            3,
          ),
        );
        const dw0 = Float32Array.from(randn(ws.length, 4));
        const x = G.tensor([g.N, g.H, g.W, g.C], xs);
        const w = G.tensor([g.K, g.K, g.C], ws);
        const dy = G.tensor(yShape, dys);
        const dwSet = G.tensor([g.K, g.K, g.C], dw0);
        const dwAcc = G.tensor([g.K, g.K, g.C], dw0);
        const opts = { stride: g.S };

        const y = dwconvWith(G, k, x, w, opts);
        const dx = dwconvBackwardInputWith(G, k, dy, w, { ...opts, inputShape: x.shape });
        dwconvBackwardWeightWith(G, k, x, dy, dwSet, opts, false);
        dwconvBackwardWeightWith(G, k, x, dy, dwAcc, opts, true);

        const dwRef = dwconvBackwardWeightRef(g, xs, dys);
        expectClose(`y ${tag}`, await G.read(y), dwconvRef(g, xs, ws), TOL);
        expectClose(`dx ${tag}`, await G.read(dx), dwconvBackwardInputRef(g, dys, ws), TOL);
        expectClose(`dw ${tag}`, await G.read(dwSet), dwRef, TOL);
        expectClose(
          `dw accumulate ${tag}`,
          await G.read(dwAcc),
          dwRef.map((v, i) => v + dw0[i]),
          TOL,
        );
        for (const t of [x, w, dy, dwSet, dwAcc, y, dx]) t.dispose();
      });
    }
  }

  it("dwconv public functions use the selected kernel N2 H8 W8 C6 K3 S1", async () => {
    const G = gpu!;
    const g: DwconvGeometry = { N: 2, H: 8, W: 8, C: 6, K: 3, S: 1 };
    const xs = Float32Array.from(randn(g.N * g.H * g.W * g.C, 5));
    const ws = Float32Array.from(randn(g.K * g.K * g.C, 6));
    const x = G.tensor([g.N, g.H, g.W, g.C], xs);
    const w = G.tensor([g.K, g.K, g.C], ws);
    const y = dwconv(G, x, w, { stride: 1 });
    const dx = dwconvBackwardInput(G, y, w, { stride: 1, inputShape: x.shape });
    const dw = G.zeros([g.K, g.K, g.C]);
    dwconvBackwardWeight(G, x, y, dw, { stride: 1 }, false);
    const yRef = dwconvRef(g, xs, ws);
    expectClose("y", await G.read(y), yRef, TOL);
    expectClose("dx", await G.read(dx), dwconvBackwardInputRef(g, yRef, ws), TOL);
    expectClose("dw", await G.read(dw), dwconvBackwardWeightRef(g, xs, yRef), {
      atol: 1e-3,
      rtol: 1e-4,
    });
    for (const t of [x, w, y, dx, dw]) t.dispose();
  });

  it("dwconv backward matches finite differences N1 H5 W6 C4 K3 S2", async () => {
    const G = gpu!;
    const g: DwconvGeometry = { N: 1, H: 5, W: 6, C: 4, K: 3, S: 2 };
    const yShape = outShape(g);
    const xs = Float32Array.from(randn(g.N * g.H * g.W * g.C, 7));
    const ws = Float32Array.from(randn(g.K * g.K * g.C, 8));
    const r = Float32Array.from(
      randn(
        yShape.reduce((a, b) => a * b),
        9,
      ),
    );
    const x64 = Float64Array.from(xs);
    const w64 = Float64Array.from(ws);
    const fdX = finiteDiff((v) => dot(dwconvRef(g, v, w64), r), x64);
    const fdW = finiteDiff((v) => dot(dwconvRef(g, x64, v), r), w64);
    const x = G.tensor([g.N, g.H, g.W, g.C], xs);
    const w = G.tensor([g.K, g.K, g.C], ws);
    const dy = G.tensor(yShape, r);
    const dw = G.empty([g.K, g.K, g.C]);
    const dx = dwconvBackwardInput(G, dy, w, { stride: g.S, inputShape: x.shape });
    dwconvBackwardWeight(G, x, dy, dw, { stride: g.S }, false);
    expectClose("dx vs fd", await G.read(dx), fdX, { atol: 1e-4, rtol: 1e-3 });
    expectClose("dw vs fd", await G.read(dw), fdW, { atol: 1e-4, rtol: 1e-3 });
    for (const t of [x, w, dy, dw, dx]) t.dispose();
  });

  it("dwconv refuses outputs aliasing an input before recording anything", async () => {
    const G = gpu!;
    const C = 8;
    const x = G.tensor([1, 6, 6, C], randn(6 * 6 * C, 1), "x");
    const w = G.tensor([3, 3, C], randn(9 * C, 2), "w");
    const dy = G.tensor([1, 6, 6, C], randn(6 * 6 * C, 3), "dy");
    const coef = G.tensor(
      [3, C],
      [...Array(C).fill(0.1), ...Array(C).fill(1.5), ...Array(C).fill(-0.2)],
    );
    const pre = { coef, relu6: true };
    const opts = { stride: 1 };
    const back = { ...opts, inputShape: x.shape };
    const want = await G.read(dwconv(G, x, w, opts));
    const dispatches = G.counters.dispatches;
    const live = G.pool.stats().inUseBytes;
    expect(() => dwconv(G, x, w, opts, x)).toThrow(/^dwconv: y \(x\) must not alias x \(x\)$/);
    expect(() => dwconvBackwardInput(G, dy, w, back, dy)).toThrow(
      /^dwconvBackwardInput: dx \(dy\) must not alias dy \(dy\)$/,
    );
    const kernels: DwconvKernel[] = [
      { variant: "slide", vec: 4 },
      { variant: "tiled", vec: 4 },
      { variant: "tiled", vec: 1 },
      { variant: "naive", vec: 1 },
    ];
    for (const k of kernels) {
      expect(() => dwconvWith(G, k, x, w, opts, x)).toThrow(/dwconv: y .* must not alias x/);
      // With a prologue the non-slide kernels would materialize it first: refused before that.
      expect(() => dwconvWith(G, k, x, w, { ...opts, pre }, x)).toThrow(
        /dwconv: y .* must not alias x/,
      );
      expect(() => dwconvBackwardInputWith(G, k, dy, w, back, dy)).toThrow(
        /dwconvBackwardInput: dx .* must not alias dy/,
      );
    }
    expect(G.counters.dispatches).toBe(dispatches);
    expect(G.pool.stats().inUseBytes).toBe(live);
    // Nothing was left recorded: a valid call afterwards runs and reads back cleanly.
    const y = dwconv(G, x, w, opts);
    expect(await G.read(y)).toEqual(want);
    for (const t of [x, w, dy, coef, y]) t.dispose();
  });

  it("dwconv rejects unsupported kernels, strides and mismatched shapes", () => {
    const G = gpu!;
    const x = G.zeros([1, 4, 4, 8]);
    const w4 = G.zeros([4, 4, 8]);
    const w3 = G.zeros([3, 3, 8]);
    const w3c6 = G.zeros([3, 3, 6]);
    expect(() => dwconv(G, x, w4, { stride: 1 })).toThrow(
      /dwconv: w has shape \[4, 4, 8\]; kernel size/,
    );
    expect(() => dwconv(G, x, w3, { stride: 3 })).toThrow(/dwconv: stride 3 unsupported/);
    expect(() => dwconv(G, x, w3c6, { stride: 1 })).toThrow(
      /input shape \[1, 4, 4, 8\] does not match w \[3, 3, 6\]/,
    );
    expect(() => dwconvBackwardInput(G, x, w3, { stride: 2, inputShape: [1, 4, 4, 8] })).toThrow(
      /dwconvBackwardInput: dy has shape \[1, 4, 4, 8\], expected \[1, 2, 2, 8\]/,
    );
    expect(() =>
      dwconvWith(G, { variant: "tiled", vec: 4 }, G.zeros([1, 4, 4, 6]), w3c6, { stride: 1 }),
    ).toThrow(/vec4 kernel needs C % 4 == 0/);
    for (const t of [x, w4, w3, w3c6]) t.dispose();
  });

  it("dwconvBackwardInput without inputShape names the missing option N1 H4 W4 C8 K3", () => {
    const G = gpu!;
    const dy = G.zeros([1, 4, 4, 8]);
    const w = G.zeros([3, 3, 8]);
    const live = G.pool.stats().inUseBytes;
    expect(() => dwconvBackwardInput(G, dy, w, { stride: 1 } as never)).toThrow(
      /^dwconvBackwardInput: opts\.inputShape \(x's shape \[N, H, W, C\]\) is required, got undef/,
    );
    expect(G.pool.stats().inUseBytes).toBe(live);
    for (const t of [dy, w]) t.dispose();
  });
});

describe("dwconv reference", () => {
  it("backward matches finite differences N2 H4 W5 C3 K5 S1 and N1 H7 W5 C2 K7 S2", () => {
    for (const g of [
      { N: 2, H: 4, W: 5, C: 3, K: 5, S: 1 },
      { N: 1, H: 7, W: 5, C: 2, K: 7, S: 2 },
    ]) {
      const x = randn(g.N * g.H * g.W * g.C, 11);
      const w = randn(g.K * g.K * g.C, 12);
      const r = randn(
        outShape(g).reduce((a, b) => a * b),
        13,
      );
      const fdX = finiteDiff((v) => dot(dwconvRef(g, v, w), r), x);
      const fdW = finiteDiff((v) => dot(dwconvRef(g, x, v), r), w);
      expectClose(`dx ${name(g)}`, dwconvBackwardInputRef(g, r, w), fdX, {
        atol: 1e-6,
        rtol: 1e-6,
      });
      expectClose(`dw ${name(g)}`, dwconvBackwardWeightRef(g, x, r), fdW, {
        atol: 1e-6,
        rtol: 1e-6,
      });
    }
  });

  it("splits the stride-2 weight gradient into tap-row halves that cover every tap once", () => {
    const K = 7;
    const TH = 7;
    const R = (TH - 1) * 2 + K;
    const stored = (code: string) =>
      [...code.matchAll(/partial\[o \+ (\d+)u \* p\.CV\] = g(\d)_(\d);/g)].map((m) => {
        expect(Number(m[1])).toBe(Number(m[2]) * K + Number(m[3]));
        return Number(m[1]);
      });
    const windowRows = (code: string) =>
      new Set([...code.matchAll(/\bc\d_(\d+)\b/g)].map((m) => Number(m[1])));
    const halves = ([0, 1] as const).map((par) => slideBackwardWeightWgsl(K, 2, TH, "bn6", par));
    halves.forEach((code, par) => {
      expect(stored(code).every((t) => Math.floor(t / K) % 2 === par)).toBe(true);
      const rows = windowRows(code);
      expect([...rows].every((r) => r % 2 === par)).toBe(true);
      expect(rows.size).toBe(Math.ceil((R - par) / 2));
    });
    const all = [...stored(halves[0]), ...stored(halves[1])].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: K * K }, (_, t) => t));
    expect(stored(slideBackwardWeightWgsl(K, 2, TH)).length).toBe(K * K);
    expect(() => slideBackwardWeightWgsl(5, 1, 2, "none", 0)).toThrow(/needs stride 2/);
  });

  it("selects vec4 only when channels come in whole vectors", () => {
    expect(selectDwconv(96)).toEqual({ variant: "slide", vec: 4 });
    expect(selectDwconv(72)).toEqual({ variant: "slide", vec: 4 });
    expect(selectDwconv(5)).toEqual({ variant: "tiled", vec: 1 });
  });
});
