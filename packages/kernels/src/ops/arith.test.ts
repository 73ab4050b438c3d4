import { describe, expect, it } from "vitest";
import { expectClose, randn, testGpu } from "../testing.ts";
import { addRef, scaleRef } from "../reference/arith.ts";
import {
  add,
  addInto,
  addIntoWith,
  addWith,
  scaleInto,
  scaleIntoWith,
  selectArithVec,
} from "./arith.ts";

const gpu = await testGpu();
const TOL = { atol: 1e-6, rtol: 1e-6 };

describe.runIf(gpu)("element-wise arithmetic on the GPU", () => {
  for (const shape of [[1], [7], [2, 3, 5], [4, 6, 6, 8], [3, 70001]]) {
    const count = shape.reduce((a, b) => a * b);
    const vecs: (1 | 4)[] = count % 4 === 0 ? [1, 4] : [1];
    for (const vec of vecs) {
      it(`add, addInto, scaleInto vec${vec} shape [${shape.join(", ")}]`, async () => {
        const g = gpu!;
        const as = Float32Array.from(randn(count, 31));
        const bs = Float32Array.from(randn(count, 32));
        const a = g.tensor(shape, as);
        const b = g.tensor(shape, bs);
        const sum = addWith(g, vec, a, b);
        const dst = g.tensor(shape, as);
        addIntoWith(g, vec, dst, b);
        const scaled = g.tensor(shape, as);
        scaleIntoWith(g, vec, scaled, -0.375);
        const sumRef = addRef(as, bs);
        expectClose("add", await g.read(sum), sumRef, TOL);
        expectClose("addInto", await g.read(dst), sumRef, TOL);
        expectClose("scaleInto", await g.read(scaled), scaleRef(as, -0.375), TOL);
        for (const t of [a, b, sum, dst, scaled]) t.dispose();
      });
    }
  }

  it("public add, addInto and scaleInto compose: (a + b + b) * 2 shape [5, 3]", async () => {
    const g = gpu!;
    const as = Float32Array.from(randn(15, 33));
    const bs = Float32Array.from(randn(15, 34));
    const a = g.tensor([5, 3], as);
    const b = g.tensor([5, 3], bs);
    const out = g.empty([5, 3]);
    expect(add(g, a, b, out)).toBe(out);
    addInto(g, out, b);
    scaleInto(g, out, 2);
    expectClose("(a+b+b)*2", await g.read(out), scaleRef(addRef(addRef(as, bs), bs), 2), TOL);
    for (const t of [a, b, out]) t.dispose();
  });

  it("arith rejects mismatched shapes and aliasing", () => {
    const g = gpu!;
    const a = g.zeros([2, 3]);
    const b = g.zeros([3, 2]);
    expect(() => add(g, a, b)).toThrow(/add: b has shape \[3, 2\], expected \[2, 3\]/);
    expect(() => addInto(g, a, b)).toThrow(/addInto: src has shape \[3, 2\], expected \[2, 3\]/);
    expect(() => add(g, a, a, a)).toThrow(/add: out .* aliases an input/);
    expect(() => addInto(g, a, a)).toThrow(/addInto: src and dst are the same tensor/);
    expect(() => addWith(g, 4, a, a)).toThrow(/vec4 needs a multiple of 4 elements, got 6/);
    a.dispose();
    b.dispose();
  });
});

describe("arith selection", () => {
  it("uses vec4 only for whole vectors", () => {
    expect(selectArithVec(8)).toBe(4);
    expect(selectArithVec(6)).toBe(1);
  });
});
