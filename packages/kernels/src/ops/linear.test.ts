import { describe, expect, it } from "vitest";
import { dot, expectClose, finiteDiff, randn, testGpu } from "../testing.ts";
import { linearBackwardInputRef, linearBackwardParamsRef, linearRef } from "../reference/linear.ts";
import { linear, linearBackwardInput, linearBackwardParams } from "./linear.ts";

const gpu = await testGpu();
const TOL = { atol: 1e-4, rtol: 1e-4 };

function f32(a: Float64Array): Float64Array {
  return Float64Array.from(Float32Array.from(a));
}

// N, Ci, Co: the 10-class head, N=1, odd widths, and vec4-aligned widths
// (which take the tiled pointwise kernels in the backward).
const CASES: readonly [number, number, number][] = [
  [64, 32, 10],
  [1, 7, 3],
  [5, 16, 8],
  [3, 1, 1],
  [9, 40, 12],
];

describe.runIf(gpu)("linear on the GPU", () => {
  for (const [n, ci, co] of CASES) {
    it(`linear forward and backward N${n} Ci${ci} Co${co}`, async () => {
      const g = gpu!;
      const xs = f32(randn(n * ci, n + ci));
      const ws = f32(randn(ci * co, co, 0.5));
      const bs = f32(randn(co, 5));
      const dys = f32(randn(n * co, n + co + 2));
      const dw0 = f32(randn(ci * co, 6));
      const db0 = f32(randn(co, 7));
      const x = g.tensor([n, ci], xs);
      const w = g.tensor([ci, co], ws);
      const b = g.tensor([co], bs);
      const dy = g.tensor([n, co], dys);
      const dw = g.tensor([ci, co], dw0);
      const db = g.tensor([co], db0);
      const dwAcc = g.tensor([ci, co], dw0);
      const dbAcc = g.tensor([co], db0);
      const y = linear(g, x, w, b);
      const dx = linearBackwardInput(g, dy, w);
      linearBackwardParams(g, x, dy, dw, db, false);
      linearBackwardParams(g, x, dy, dwAcc, dbAcc, true);

      expect(y.shape).toEqual([n, co]);
      expect(dx.shape).toEqual([n, ci]);
      expectClose("y", await g.read(y), linearRef(xs, ws, bs, n, ci, co), TOL);
      expectClose("dx", await g.read(dx), linearBackwardInputRef(dys, ws, n, ci, co), TOL);
      const ref = linearBackwardParamsRef(xs, dys, n, ci, co);
      expectClose("dw", await g.read(dw), ref.dw, TOL);
      expectClose("db", await g.read(db), ref.db, TOL);
      expectClose(
        "dw accumulate",
        await g.read(dwAcc),
        ref.dw.map((v, i) => v + dw0[i]),
        TOL,
      );
      expectClose(
        "db accumulate",
        await g.read(dbAcc),
        ref.db.map((v, i) => v + db0[i]),
        TOL,
      );
      for (const t of [x, w, b, dy, dw, db, dwAcc, dbAcc, y, dx]) t.dispose();
    });
  }

  it("linear backward matches finite differences N2 Ci3 Co2", async () => {
    const g = gpu!;
    const [n, ci, co] = [2, 3, 2];
    const xs = f32(randn(n * ci, 21));
    const ws = f32(randn(ci * co, 22));
    const bs = f32(randn(co, 23));
    const r = f32(randn(n * co, 24));
    const fdX = finiteDiff((v) => dot(linearRef(v, ws, bs, n, ci, co), r), xs.slice());
    const fdW = finiteDiff((v) => dot(linearRef(xs, v, bs, n, ci, co), r), ws.slice());
    const fdB = finiteDiff((v) => dot(linearRef(xs, ws, v, n, ci, co), r), bs.slice());
    const x = g.tensor([n, ci], xs);
    const w = g.tensor([ci, co], ws);
    const dy = g.tensor([n, co], r);
    const dw = g.empty([ci, co]);
    const db = g.empty([co]);
    const dx = linearBackwardInput(g, dy, w);
    linearBackwardParams(g, x, dy, dw, db, false);
    const tol = { atol: 1e-5, rtol: 1e-4 };
    expectClose("dx vs fd", await g.read(dx), fdX, tol);
    expectClose("dw vs fd", await g.read(dw), fdW, tol);
    expectClose("db vs fd", await g.read(db), fdB, tol);
    for (const t of [x, w, dy, dw, db, dx]) t.dispose();
  });

  it("rejects mismatched shapes with the op and shapes named", () => {
    const g = gpu!;
    const x = g.zeros([4, 8]);
    const w = g.zeros([6, 10]);
    const b = g.zeros([9]);
    expect(() => linear(g, x, w, b)).toThrow(/linear: w has shape \[6, 10\], expected \[8, 10\]/);
    const w2 = g.zeros([8, 10]);
    expect(() => linear(g, x, w2, b)).toThrow(/linear: b has shape \[9\], expected \[10\]/);
    for (const t of [x, w, b, w2]) t.dispose();
  });

  it("refuses outputs aliasing an input before recording anything", async () => {
    const g = gpu!;
    // N = Ci = Co, so every pairing passes the shape checks.
    const n = 4;
    const x = g.tensor([n, n], randn(n * n, 1), "x");
    const w = g.tensor([n, n], randn(n * n, 2), "w");
    const b = g.tensor([n], randn(n, 3), "b");
    const dy = g.tensor([n, n], randn(n * n, 4), "dy");
    const db = g.zeros([n], "db");
    const want = await g.read(linear(g, x, w, b));
    const dispatches = g.counters.dispatches;
    const live = g.pool.stats().inUseBytes;
    const refused: [() => unknown, RegExp][] = [
      [() => linear(g, x, w, b, x), /^linear: y \(x\) must not alias x \(x\)$/],
      [() => linear(g, x, w, b, w), /linear: y \(w\) must not alias w \(w\)/],
      [() => linearBackwardInput(g, dy, w, dy), /linearBackwardInput: dx .* must not alias dy/],
      [() => linearBackwardInput(g, dy, w, w), /linearBackwardInput: dx .* must not alias w/],
      [
        () => linearBackwardParams(g, x, dy, x, db, false),
        /linearBackwardParams: dw .* must not alias x/,
      ],
      [
        () => linearBackwardParams(g, x, dy, dy, db, true),
        /linearBackwardParams: dw .* must not alias dy/,
      ],
    ];
    for (const [call, msg] of refused) expect(call).toThrow(msg);
    expect(g.counters.dispatches).toBe(dispatches);
    expect(g.pool.stats().inUseBytes).toBe(live);
    // Nothing was left recorded: a valid call afterwards runs and reads back cleanly.
    const y = linear(g, x, w, b);
    expect(await g.read(y)).toEqual(want);
    for (const t of [x, w, b, dy, db, y]) t.dispose();
  });
});

describe("linear reference", () => {
  it("backward matches finite differences N2 Ci3 Co2", () => {
    const [n, ci, co] = [2, 3, 2];
    const xs = randn(n * ci, 31);
    const ws = randn(ci * co, 32);
    const bs = randn(co, 33);
    const r = randn(n * co, 34);
    const tol = { atol: 1e-6, rtol: 1e-6 };
    const fdX = finiteDiff((v) => dot(linearRef(v, ws, bs, n, ci, co), r), xs.slice());
    expectClose("dx fd", linearBackwardInputRef(r, ws, n, ci, co), fdX, tol);
    const ref = linearBackwardParamsRef(xs, r, n, ci, co);
    const fdW = finiteDiff((v) => dot(linearRef(xs, v, bs, n, ci, co), r), ws.slice());
    expectClose("dw fd", ref.dw, fdW, tol);
    const fdB = finiteDiff((v) => dot(linearRef(xs, ws, v, n, ci, co), r), bs.slice());
    expectClose("db fd", ref.db, fdB, tol);
  });
});
