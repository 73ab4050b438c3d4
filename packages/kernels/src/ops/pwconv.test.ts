import { describe, expect, it } from "vitest";
import { dot, expectClose, finiteDiff, randn, testGpu } from "../testing.ts";
import { pwconvBackwardInputRef, pwconvBackwardWeightRef, pwconvRef } from "../reference/pwconv.ts";
import {
  pwconv,
  pwconvBackwardInput,
  pwconvBackwardInputWith,
  pwconvBackwardWeight,
  pwconvBackwardWeightWith,
  pwconvForwardWith,
  pwconvSlices,
  selectPwconvVariant,
  type PwconvPass,
  type PwconvVariant,
} from "./pwconv.ts";

const gpu = await testGpu();
const TOL = { atol: 1e-4, rtol: 1e-4 };

// [leading dims], Ci, Co: odd spatial sizes, rows not a multiple of the tile,
// channels off the vec4 grid, odd vec4 group counts (a half-used 8-wide
// tile), and enough rows for several dw slices.
const CASES: readonly [readonly number[], number, number][] = [
  [[1, 3, 5], 8, 12],
  [[2, 7, 7], 16, 24],
  [[1, 1, 1], 4, 4],
  [[1, 5, 3], 3, 10],
  [[2, 3, 3], 12, 5],
  [[37], 6, 4],
  [[2, 25, 23], 8, 16],
  [[3, 17, 11], 24, 8],
  [[3, 5, 7], 12, 20],
];

function f32(a: Float64Array): Float64Array {
  return Float64Array.from(Float32Array.from(a));
}

describe.runIf(gpu)("pwconv on the GPU", () => {
  for (const [lead, ci, co] of CASES) {
    const M = lead.reduce((a, b) => a * b, 1);
    const passes: PwconvPass[] = ["forward", "backward-input", "backward-weight"];
    const variants: PwconvVariant[] = ["naive"];
    if (passes.some((pass) => selectPwconvVariant(pass, ci, co) === "tiled"))
      variants.push("tiled");
    for (const v of variants) {
      // Each pass runs this variant where the shape allows it, else naive.
      const pick = (pass: PwconvPass): PwconvVariant =>
        v === "tiled" ? selectPwconvVariant(pass, ci, co) : "naive";
      const tag = `pwconv ${v} x[${lead.join(",")},${ci}] Ci${ci} Co${co} M${M}`;

      it(`${tag} forward, backward-input, backward-weight`, async () => {
        const g = gpu!;
        const xs = f32(randn(M * ci, M + ci));
        const ws = f32(randn(ci * co, co, 0.5));
        const dys = f32(randn(M * co, M + co + 1));
        const dw0 = f32(randn(ci * co, 7));
        const x = g.tensor([...lead, ci], xs);
        const w = g.tensor([ci, co], ws);
        const dy = g.tensor([...lead, co], dys);
        const y = g.empty([...lead, co]);
        const dx = g.empty([...lead, ci]);
        const dw = g.empty([ci, co]);
        const dwAcc = g.tensor([ci, co], dw0);
        const gm = { M, CI: ci, CO: co };
        pwconvForwardWith(g, pick("forward"), x, w, y, gm);
        pwconvBackwardInputWith(g, pick("backward-input"), dy, w, dx, gm);
        pwconvBackwardWeightWith(g, pick("backward-weight"), x, dy, dw, false, gm);
        pwconvBackwardWeightWith(g, pick("backward-weight"), x, dy, dwAcc, true, gm);

        expectClose(`${tag} y`, await g.read(y), pwconvRef(xs, ws, M, ci, co), TOL);
        expectClose(`${tag} dx`, await g.read(dx), pwconvBackwardInputRef(dys, ws, M, ci, co), TOL);
        const dwRef = pwconvBackwardWeightRef(xs, dys, M, ci, co);
        expectClose(`${tag} dw`, await g.read(dw), dwRef, TOL);
        const accRef = dwRef.map((d, i) => d + dw0[i]);
        expectClose(`${tag} dw accumulate`, await g.read(dwAcc), accRef, TOL);
        for (const t of [x, w, dy, y, dx, dw, dwAcc]) t.dispose();
      });
    }
  }

  it("pwconv public API picks a variant and allocates outputs x[2,5,3,8] Co12", async () => {
    const g = gpu!;
    const [M, ci, co] = [30, 8, 12];
    const xs = f32(randn(M * ci, 1));
    const ws = f32(randn(ci * co, 2));
    const x = g.tensor([2, 5, 3, ci], xs);
    const w = g.tensor([ci, co], ws);
    const y = pwconv(g, x, w);
    expect(y.shape).toEqual([2, 5, 3, co]);
    const dx = pwconvBackwardInput(g, y, w);
    expect(dx.shape).toEqual([2, 5, 3, ci]);
    const dw = g.zeros([ci, co]);
    pwconvBackwardWeight(g, x, y, dw, true);
    const yRef = pwconvRef(xs, ws, M, ci, co);
    expectClose("y", await g.read(y), yRef, TOL);
    expectClose("dx", await g.read(dx), pwconvBackwardInputRef(yRef, ws, M, ci, co), TOL);
    expectClose("dw", await g.read(dw), pwconvBackwardWeightRef(xs, yRef, M, ci, co), TOL);
    for (const t of [x, w, y, dx, dw]) t.dispose();
  });

  it("split dw is bit-for-bit repeatable M2000 Ci8 Co8", async () => {
    const g = gpu!;
    expect(pwconvSlices(2000).slices).toBeGreaterThan(1);
    const x = g.tensor([2000, 8], randn(16000, 3));
    const dy = g.tensor([2000, 8], randn(16000, 4));
    const a = g.empty([8, 8]);
    const b = g.empty([8, 8]);
    pwconvBackwardWeight(g, x, dy, a, false);
    pwconvBackwardWeight(g, x, dy, b, false);
    expect(Array.from(await g.read(a))).toEqual(Array.from(await g.read(b)));
    for (const t of [x, dy, a, b]) t.dispose();
  });

  it("rejects mismatched shapes with the op and shapes named", () => {
    const g = gpu!;
    const x = g.zeros([2, 3, 8]);
    const w = g.zeros([4, 8]);
    const dy = g.zeros([2, 3, 5]);
    const dw = g.zeros([8, 6]);
    expect(() => pwconv(g, x, w)).toThrow(/pwconv: w has shape \[4, 8\], expected \[8, Co\]/);
    expect(() => pwconvBackwardInput(g, dy, w)).toThrow(
      /pwconvBackwardInput: w has shape \[4, 8\]/,
    );
    expect(() => pwconvBackwardWeight(g, x, dy, dw, false)).toThrow(
      /pwconvBackwardWeight: dw has shape \[8, 6\], expected \[8, 5\]/,
    );
    for (const t of [x, w, dy, dw]) t.dispose();
  });
});

describe("pwconv reference", () => {
  const [M, ci, co] = [3, 2, 3];
  const xs = randn(M * ci, 11);
  const ws = randn(ci * co, 12);
  const r = randn(M * co, 13);

  it("backward-input matches finite differences M3 Ci2 Co3", () => {
    const fd = finiteDiff((v) => dot(pwconvRef(v, ws, M, ci, co), r), Float64Array.from(xs));
    expectClose("dx fd", pwconvBackwardInputRef(r, ws, M, ci, co), fd, { atol: 1e-6, rtol: 1e-6 });
  });

  it("backward-weight matches finite differences M3 Ci2 Co3", () => {
    const fd = finiteDiff((v) => dot(pwconvRef(xs, v, M, ci, co), r), Float64Array.from(ws));
    expectClose("dw fd", pwconvBackwardWeightRef(xs, r, M, ci, co), fd, { atol: 1e-6, rtol: 1e-6 });
  });
});
