import { afterEach, describe, expect, it } from "vitest";
import { expectClose, randn, testGpu } from "../testing.ts";
import { dropoutMaskRef, dropoutRef } from "../reference/dropout.ts";
import { dropout, dropoutBackward, forceDropoutVariant, type DropoutVariant } from "./dropout.ts";

const gpu = await testGpu();

describe.runIf(gpu)("dropout on the GPU", () => {
  afterEach(() => forceDropoutVariant(null));

  for (const variant of ["scalar", "vec4"] as DropoutVariant[]) {
    for (const [count, rate, seed] of [
      [8, 0.5, 1],
      [1000, 0.2, 7],
      [4096, 0.5, 123456789],
      [20000, 0.9, -3],
    ]) {
      it(`dropout ${variant} count${count} rate${rate} seed${seed}`, async () => {
        const g = gpu!;
        forceDropoutVariant(variant);
        const xs = Float32Array.from(randn(count, count, 2));
        const dys = Float32Array.from(randn(count, count + 1));
        const x = g.tensor([count], xs);
        const dy = g.tensor([count], dys);
        const y = dropout(g, x, { rate, seed });
        const dx = dropoutBackward(g, dy, { rate, seed });
        expectClose("dropout.y", await g.read(y), dropoutRef(xs, rate, seed));
        expectClose("dropout.dx", await g.read(dx), dropoutRef(dys, rate, seed));
        for (const t of [x, dy, y, dx]) t.dispose();
      });
    }
  }

  it("dropout scalar fallback count7 rate0.3 and rate 0 keeps everything", async () => {
    const g = gpu!;
    const xs = Float32Array.from([1, 2, 3, 4, 5, 6, 7]);
    const x = g.tensor([7], xs);
    expectClose(
      "count7",
      await g.read(dropout(g, x, { rate: 0.3, seed: 5 })),
      dropoutRef(xs, 0.3, 5),
    );
    expectClose("rate0", await g.read(dropout(g, x, { rate: 0, seed: 5 })), xs, {
      atol: 0,
      rtol: 0,
    });
    expect(() => dropout(g, x, { rate: 1, seed: 5 })).toThrow(
      /dropout: rate must be in \[0, 1\), got 1/,
    );
    x.dispose();
  });

  it("dropout refuses an output aliasing its input before recording anything", async () => {
    const g = gpu!;
    const opts = { rate: 0.5, seed: 3 };
    const xs = Float32Array.from(randn(40, 8));
    const x = g.tensor([40], xs, "x");
    const dispatches = g.counters.dispatches;
    const live = g.pool.stats().inUseBytes;
    expect(() => dropout(g, x, opts, x)).toThrow(/^dropout: y \(x\) must not alias x \(x\)$/);
    expect(() => dropoutBackward(g, x, opts, x)).toThrow(
      /dropoutBackward: dx .* must not alias dy/,
    );
    // A bad rate is refused before the output is allocated.
    expect(() => dropout(g, x, { rate: 2, seed: 3 })).toThrow(/rate must be in/);
    expect(g.counters.dispatches).toBe(dispatches);
    expect(g.pool.stats().inUseBytes).toBe(live);
    // Nothing was left recorded: a valid call afterwards runs and reads back cleanly.
    const y = dropout(g, x, opts);
    expectClose("dropout.y", await g.read(y), dropoutRef(xs, 0.5, 3));
    for (const t of [x, y]) t.dispose();
  });
});

describe("dropout reference", () => {
  it("dropout mask keeps about 1 - rate, differs across seeds count100000", () => {
    for (const rate of [0.1, 0.5, 0.8]) {
      const m = dropoutMaskRef(100000, rate, 42);
      const kept = m.reduce((a, b) => a + b, 0) / m.length;
      expect(Math.abs(kept - (1 - rate))).toBeLessThan(0.01);
    }
    const a = dropoutMaskRef(1000, 0.5, 1);
    const b = dropoutMaskRef(1000, 0.5, 2);
    const same = a.reduce((acc, v, i) => acc + (v === b[i] ? 1 : 0), 0);
    expect(same).toBeGreaterThan(400);
    expect(same).toBeLessThan(600);
  });
});
