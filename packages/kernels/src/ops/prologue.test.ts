// The fused batch-norm paths. The prologue (BnPrologue): pointwise and
// depthwise kernels that apply a deferred batch norm (+ReLU6) to x as they
// load it must equal the same kernel on the materialized normalized tensor,
// for every kernel variant (the ones without a prologue materialize it
// themselves). The fused residuals: BN apply + skip, the pointwise forward +
// skip, and the pointwise input gradient + skip gradient. All against float64
// references.
import { describe, expect, it } from "vitest";
import { bnApplyRef, bnTable, expectClose, randn, testGpu } from "../testing.ts";
import { dwconvBackwardWeightRef, dwconvRef, type DwconvGeometry } from "../reference/dwconv.ts";
import { pwconvBackwardInputRef, pwconvBackwardWeightRef, pwconvRef } from "../reference/pwconv.ts";
import type { Gpu } from "../runtime/gpu.ts";
import { batchNormApply, type BnPrologue } from "./batchnorm.ts";
import { dwconvBackwardWeightWith, dwconvWith, type DwconvKernel } from "./dwconv.ts";
import {
  pwconv,
  pwconvBackwardInput,
  pwconvBackwardInputWith,
  pwconvBackwardWeightWith,
  pwconvForwardWith,
  selectPwconvVariant,
  type PwconvPass,
  type PwconvVariant,
} from "./pwconv.ts";

const gpu = await testGpu();
const TOL = { atol: 1e-4, rtol: 1e-4 };

const f32 = (a: Float64Array): Float64Array => Float64Array.from(Float32Array.from(a));

function prologue(g: Gpu, coef: Float64Array, C: number, relu6: boolean): BnPrologue {
  return { coef: g.tensor([3, C], coef), relu6 };
}

describe.runIf(gpu)("batch-norm prologue", () => {
  it("batchNormApply matches the reference, and refuses a table of the wrong width", async () => {
    const g = gpu!;
    const C = 12;
    const xs = f32(randn(5 * C, 1, 3));
    const coef = bnTable(C, 2);
    const x = g.tensor([5, C], xs);
    for (const relu6 of [false, true]) {
      const pre = prologue(g, coef, C, relu6);
      const y = batchNormApply(g, x, pre);
      expectClose(`apply relu6=${relu6}`, await g.read(y), bnApplyRef(xs, coef, C, relu6), TOL);
      y.dispose();
      pre.coef.dispose();
    }
    const bad = prologue(g, bnTable(8, 3), 8, false);
    expect(() => batchNormApply(g, x, bad)).toThrow(/coef/);
    bad.coef.dispose();
    x.dispose();
  });

  for (const C of [12, 6]) {
    const width = C % 4 === 0 ? "vec4" : "scalar";
    it(`batchNormApply with a fused residual, C${C} (${width})`, async () => {
      const g = gpu!;
      const xs = f32(randn(7 * C, C, 3));
      const rs = f32(randn(7 * C, C + 1));
      const coef = bnTable(C, C + 2);
      const x = g.tensor([7, C], xs);
      const r = g.tensor([7, C], rs);
      const pre = prologue(g, coef, C, false);
      const y = batchNormApply(g, x, pre, undefined, r);
      const ref = bnApplyRef(xs, coef, C, false).map((v, i) => v + rs[i]);
      expectClose(`applyAdd C${C}`, await g.read(y), ref, TOL);
      const pre6 = prologue(g, coef, C, true);
      expect(() => batchNormApply(g, x, pre6, undefined, r)).toThrow(/ReLU6/);
      for (const t of [x, r, y, pre.coef, pre6.coef]) t.dispose();
    });
  }

  it("refuses aliased outputs and bad tables before allocating anything", () => {
    const g = gpu!;
    const C = 8;
    const x = g.tensor([6, C], randn(6 * C, 1));
    const r = g.tensor([6, C], randn(6 * C, 2));
    const w = g.tensor([C, C], randn(C * C, 3));
    const pre = prologue(g, bnTable(C, 4), C, false);
    const pre6 = prologue(g, bnTable(C, 4), C, true);
    const bad = prologue(g, bnTable(4, 5), 4, false);
    const none = g.empty([0, C]);
    const before = g.pool.stats().inUseBytes;
    const refused: [() => unknown, RegExp][] = [
      [() => batchNormApply(g, x, pre, x), /y .* must not alias x/],
      [() => batchNormApply(g, x, pre, r, r), /y .* must not alias residual/],
      [() => batchNormApply(g, x, pre6, undefined, r), /ReLU6/],
      [() => batchNormApply(g, x, bad), /coef/],
      [() => pwconv(g, x, w, x), /y .* must not alias x/],
      [() => pwconv(g, x, w, undefined, bad), /coef/],
      [() => pwconvBackwardInput(g, x, w, r, r), /dx .* must not alias residual/],
      [() => pwconvBackwardInput(g, x, w, x), /dx .* must not alias dy/],
      [() => pwconvBackwardInput(g, x, w, undefined, w), /residual/],
      [() => pwconv(g, none, w), /\[0, 8\] is empty/],
      [() => batchNormApply(g, none, pre), /\[0, 8\] is empty/],
    ];
    for (const [call, msg] of refused) expect(call).toThrow(msg);
    expect(g.pool.stats().inUseBytes).toBe(before);
    for (const t of [x, r, w, none, pre.coef, pre6.coef, bad.coef]) t.dispose();
  });

  // The input gradient with a fused residual, each variant by name (the
  // tiled one needs Ci % 4 == 0; the rows one is in pwconv-rows.test.ts),
  // then through the public function, which on a software adapter may pick
  // the rows kernel instead.
  for (const [M, ci, co] of [
    [37, 8, 12],
    [21, 12, 5],
    [19, 6, 8],
  ] as const) {
    it(`pwconvBackwardInput + residual M${M} Ci${ci} Co${co}`, async () => {
      const g = gpu!;
      const dys = f32(randn(M * co, M));
      const ws = f32(randn(ci * co, ci, 0.5));
      const rs = f32(randn(M * ci, co));
      const dy = g.tensor([M, co], dys);
      const w = g.tensor([ci, co], ws);
      const r = g.tensor([M, ci], rs);
      const ref = pwconvBackwardInputRef(dys, ws, M, ci, co).map((v, i) => v + rs[i]);
      const variants: PwconvVariant[] = ci % 4 === 0 ? ["naive", "tiled"] : ["naive"];
      for (const v of variants) {
        const dxv = g.empty([M, ci]);
        pwconvBackwardInputWith(g, v, dy, w, dxv, { M, CI: ci, CO: co }, r);
        expectClose(`dx + r ${v} M${M} Ci${ci} Co${co}`, await g.read(dxv), ref, TOL);
        dxv.dispose();
      }
      const dx = pwconvBackwardInput(g, dy, w, undefined, r);
      expectClose(`dx + r public M${M} Ci${ci} Co${co}`, await g.read(dx), ref, TOL);
      expect(() => pwconvBackwardInput(g, dy, w, undefined, dy)).toThrow(/residual/);
      for (const t of [dy, w, r, dx]) t.dispose();
    });
  }

  // Ci off the vec4 grid takes the naive kernels (materialized prologue).
  const PW: readonly [number, number, number][] = [
    [37, 8, 12],
    [70, 24, 8],
    [19, 12, 20],
    [23, 6, 8],
  ];
  for (const [M, ci, co] of PW) {
    for (const variant of ["naive", "tiled"] as PwconvVariant[]) {
      for (const relu6 of [false, true]) {
        const tag = `pwconv ${variant} M${M} Ci${ci} Co${co} relu6=${relu6}`;
        it(`${tag} forward (plain and + residual) and weight gradient`, async () => {
          const g = gpu!;
          const xs = f32(randn(M * ci, M + ci, 3));
          const ws = f32(randn(ci * co, co, 0.5));
          const dys = f32(randn(M * co, M + co + 1));
          const rs = f32(randn(M * co, M + co + 2));
          const coef = bnTable(ci, ci + co);
          const pre = prologue(g, coef, ci, relu6);
          const x = g.tensor([M, ci], xs);
          const w = g.tensor([ci, co], ws);
          const dy = g.tensor([M, co], dys);
          const r = g.tensor([M, co], rs);
          const y = g.empty([M, co]);
          const yr = g.empty([M, co]);
          const dw = g.empty([ci, co]);
          const gm = { M, CI: ci, CO: co };
          const pick = (pass: PwconvPass): PwconvVariant =>
            variant === "tiled" ? selectPwconvVariant(pass, ci, co) : "naive";
          pwconvForwardWith(g, pick("forward"), x, w, y, gm, { pre });
          pwconvForwardWith(g, pick("forward"), x, w, yr, gm, { pre, residual: r });
          pwconvBackwardWeightWith(g, pick("backward-weight"), x, dy, dw, false, gm, pre);
          const a = bnApplyRef(xs, coef, ci, relu6);
          const yRef = pwconvRef(a, ws, M, ci, co);
          expectClose(`${tag} y`, await g.read(y), yRef, TOL);
          const yrRef = yRef.map((v, i) => v + rs[i]);
          expectClose(`${tag} y + residual`, await g.read(yr), yrRef, TOL);
          const dwRef = pwconvBackwardWeightRef(a, dys, M, ci, co);
          expectClose(`${tag} dw`, await g.read(dw), dwRef, TOL);
          for (const t of [x, w, dy, r, y, yr, dw, pre.coef]) t.dispose();
        });
      }
    }
  }

  const DW: readonly DwconvGeometry[] = [
    { N: 2, H: 9, W: 13, C: 8, K: 5, S: 1 },
    { N: 1, H: 3, W: 5, C: 4, K: 7, S: 2 },
    { N: 3, H: 10, W: 6, C: 12, K: 3, S: 2 },
    { N: 2, H: 5, W: 7, C: 5, K: 3, S: 1 },
  ];
  // The supernet's blocks run the slide kernels with a BN + ReLU6 prologue
  // (the expand BN), each strip height its own generated kernel. These
  // reach heights the shapes above do not: 3x3 stride 1 past SMALL_MAP
  // (4-row strips, the commonest block), 3x3 stride 2 in 2-row strips and
  // 5x5 stride 2 in 7-row strips with the tap-row parity split (CIFAR's
  // 32 -> 16 stage), and a 7x7 map (8-row strips, FMNIST's 7x7 blocks).
  const SLIDE_BN6: readonly DwconvGeometry[] = [
    { N: 2, H: 17, W: 5, C: 8, K: 3, S: 1 },
    { N: 1, H: 17, W: 6, C: 8, K: 3, S: 2 },
    { N: 1, H: 21, W: 5, C: 4, K: 5, S: 2 },
    { N: 2, H: 7, W: 7, C: 4, K: 5, S: 1 },
  ];
  const SLIDE: DwconvKernel = { variant: "slide", vec: 4 };
  const dwRuns: { geo: DwconvGeometry; k: DwconvKernel; relu6: boolean }[] = [
    ...DW.flatMap((geo) => {
      const kernels: DwconvKernel[] =
        geo.C % 4 === 0 ? [SLIDE, { variant: "tiled", vec: 4 }] : [{ variant: "tiled", vec: 1 }];
      return kernels.flatMap((k) => [false, true].map((relu6) => ({ geo, k, relu6 })));
    }),
    ...SLIDE_BN6.map((geo) => ({ geo, k: SLIDE, relu6: true })),
  ];
  for (const { geo, k, relu6 } of dwRuns) {
    const { N, H, W, C, K, S } = geo;
    const tag =
      `dwconv ${k.variant}/${k.vec} N${N} H${H} W${W} C${C} K${K} S${S}` + ` relu6=${relu6}`;
    it(`${tag} forward and weight gradient (padding stays zero)`, async () => {
      const g = gpu!;
      const OH = Math.floor((H - 1) / S) + 1;
      const OW = Math.floor((W - 1) / S) + 1;
      const xs = f32(randn(N * H * W * C, H * W + C, 3));
      const ws = f32(randn(K * K * C, K + C, 0.5));
      const dys = f32(randn(N * OH * OW * C, OH + OW));
      const coef = bnTable(C, C + K);
      const pre = prologue(g, coef, C, relu6);
      const x = g.tensor([N, H, W, C], xs);
      const w = g.tensor([K, K, C], ws);
      const dy = g.tensor([N, OH, OW, C], dys);
      const dw = g.empty([K, K, C]);
      const y = dwconvWith(g, k, x, w, { stride: S, pre });
      dwconvBackwardWeightWith(g, k, x, dy, dw, { stride: S, pre }, false);
      const a = bnApplyRef(xs, coef, C, relu6);
      expectClose(`${tag} y`, await g.read(y), dwconvRef(geo, a, ws), TOL);
      expectClose(`${tag} dw`, await g.read(dw), dwconvBackwardWeightRef(geo, a, dys), TOL);
      for (const t of [x, w, dy, y, dw, pre.coef]) t.dispose();
    });
  }
});
