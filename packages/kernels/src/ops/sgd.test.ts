import { afterEach, describe, expect, it } from "vitest";
import { expectClose, randn, testGpu } from "../testing.ts";
import { sgdUpdateRef } from "../reference/sgd.ts";
import { forceSgdVariant, sgdUpdate, type SgdVariant } from "./sgd.ts";

const gpu = await testGpu();

describe.runIf(gpu)("sgd on the GPU", () => {
  afterEach(() => forceSgdVariant(null));

  const OPTS = [
    { lr: 0.1, momentum: 0.9, weightDecay: 4e-5, nesterov: true },
    { lr: 0.05, momentum: 0.9, weightDecay: 1e-3, nesterov: false },
    { lr: 0.5, momentum: 0, weightDecay: 0, nesterov: false },
  ];
  for (const variant of ["naive", "vec4"] as SgdVariant[]) {
    for (const count of [1, 3, 4, 7, 1001, 4096, 70003]) {
      if (variant === "vec4" && count < 4) continue;
      for (const [k, o] of OPTS.entries()) {
        const nesterov = o.nesterov ? " nesterov" : "";
        const hyper = `lr${o.lr} mu${o.momentum} wd${o.weightDecay}${nesterov}`;
        it(`sgd ${variant} count${count} ${hyper}`, async () => {
          const g = gpu!;
          forceSgdVariant(variant);
          const ws = Float32Array.from(randn(count, count + k, 1));
          const gs = Float32Array.from(randn(count, count + k + 1, 0.1));
          const ms = Float32Array.from(randn(count, count + k + 2, 0.1));
          const w = g.tensor([count], ws);
          const gr = g.tensor([count], gs);
          const m = g.tensor([count], ms);
          // Two steps, so the second sees the first's momentum.
          sgdUpdate(g, w, gr, m, o);
          sgdUpdate(g, w, gr, m, o);
          const r1 = sgdUpdateRef(ws, gs, ms, o);
          const r2 = sgdUpdateRef(r1.w, gs, r1.m, o);
          expectClose("w", await g.read(w), r2.w);
          expectClose("m", await g.read(m), r2.m);
          for (const t of [w, gr, m]) t.dispose();
        });
      }
    }
  }

  it("sgd treats tensors as flat arrays [3, 5] and rejects size mismatches", async () => {
    const g = gpu!;
    const o = OPTS[0];
    const ws = Float32Array.from(randn(15, 1));
    const w = g.tensor([3, 5], ws);
    const gr = g.tensor([15], randn(15, 2));
    const m = g.zeros([5, 3]);
    sgdUpdate(g, w, gr, m, o);
    expectClose(
      "w",
      await g.read(w),
      sgdUpdateRef(ws, Float32Array.from(randn(15, 2)), new Float32Array(15), o).w,
    );
    const bad = g.zeros([14]);
    expect(() => sgdUpdate(g, w, bad, m, o)).toThrow(
      /sgdUpdate: w \[3, 5\], g \[14\] and m \[5, 3\]/,
    );
    for (const t of [w, gr, m, bad]) t.dispose();
  });

  it("sgd refuses a gradient or momentum that is the weight itself", async () => {
    const g = gpu!;
    const o = OPTS[0];
    const ws = Float32Array.from(randn(9, 3));
    const gs = Float32Array.from(randn(9, 4, 0.1));
    const ms = Float32Array.from(randn(9, 5, 0.1));
    const w = g.tensor([9], ws, "w");
    const gr = g.tensor([9], gs, "g");
    const m = g.tensor([9], ms, "m");
    const dispatches = g.counters.dispatches;
    expect(() => sgdUpdate(g, w, w, m, o)).toThrow(/^sgdUpdate: w \(w\) must not alias g \(w\)$/);
    expect(() => sgdUpdate(g, w, gr, w, o)).toThrow(/sgdUpdate: w \(w\) must not alias m \(w\)/);
    expect(() => sgdUpdate(g, w, gr, gr, o)).toThrow(/sgdUpdate: m \(g\) must not alias g \(g\)/);
    expect(() => sgdUpdate(g, w, w, w, o)).toThrow(/sgdUpdate: w .* must not alias g/);
    expect(g.counters.dispatches).toBe(dispatches);
    // Nothing was left recorded: a valid step afterwards runs and reads back cleanly.
    sgdUpdate(g, w, gr, m, o);
    const ref = sgdUpdateRef(ws, gs, ms, o);
    expectClose("w", await g.read(w), ref.w);
    expectClose("m", await g.read(m), ref.m);
    for (const t of [w, gr, m]) t.dispose();
  });
});
