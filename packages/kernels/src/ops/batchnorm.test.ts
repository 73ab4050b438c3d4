import { afterEach, describe, expect, it } from "vitest";
import { dot, expectClose, finiteDiff, randn, testGpu } from "../testing.ts";
import {
  batchNormBackwardRef,
  batchNormInferRef,
  batchNormStatsRef,
  batchNormTrainRef,
} from "../reference/batchnorm.ts";
import {
  batchNormBackward,
  batchNormInfer,
  batchNormStats,
  batchNormTrain,
  forceBatchNormVariant,
  type BnVariant,
} from "./batchnorm.ts";
import type { Gpu } from "../runtime/gpu.ts";
import { setLaneSpread } from "../runtime/spread.ts";

const gpu = await testGpu();
const TOL = { atol: 2e-4, rtol: 2e-4 };

function f32(a: ArrayLike<number>): Float32Array {
  return Float32Array.from(a);
}

/**
 * Random BN inputs with f32-exact values, so the float64 reference sees what the GPU sees.
 * With `relu6` gamma (about 3) and beta (about 2) are larger, so the normalized values
 * (|x_hat| rarely above 3) cross both ReLU6 kinks: x_hat above about 1.3 lands past 6.
 */
function inputs(M: number, C: number, seed: number, relu6 = false) {
  const x = f32(randn(M * C, seed, 2).map((v, i) => v + (i % C) * 0.5));
  const gamma = f32(randn(C, seed + 1, 0.5).map((v) => v + (relu6 ? 3 : 1)));
  const beta = f32(randn(C, seed + 2, 0.5).map((v) => v + (relu6 ? 2 : 0)));
  const runningMean = f32(randn(C, seed + 3, 0.3));
  const runningVar = f32(randn(C, seed + 4, 0.3).map((v) => 1 + Math.abs(v)));
  const dy = f32(randn(M * C, seed + 5));
  return { x, gamma, beta, runningMean, runningVar, dy };
}

type Inputs = ReturnType<typeof inputs>;

function upload(g: Gpu, shape: number[], d: Inputs) {
  const C = shape[shape.length - 1];
  return {
    x: g.tensor(shape, d.x, "x"),
    dy: g.tensor(shape, d.dy, "dy"),
    p: {
      gamma: g.tensor([C], d.gamma, "gamma"),
      beta: g.tensor([C], d.beta, "beta"),
      runningMean: g.tensor([C], d.runningMean, "runningMean"),
      runningVar: g.tensor([C], d.runningVar, "runningVar"),
    },
  };
}

const SHAPES: number[][] = [
  [2, 3, 5, 7],
  [1, 3, 3, 8],
  [3, 5, 5, 12],
  [1, 37, 41, 16],
  [1, 19, 23, 3],
  [9, 6],
  [2, 1, 1, 4],
  // 16 and 19 columns, which lavapipe's lane spread deals out (vec4 and scalar).
  [1, 5, 3, 64],
  [2, 7, 5, 76],
];
const VARIANTS: BnVariant[] = ["naive", "scalar", "vec4"];

describe.runIf(gpu)("batch norm on the GPU", () => {
  afterEach(() => {
    forceBatchNormVariant(null);
    setLaneSpread(undefined);
  });

  for (const variant of VARIANTS) {
    for (const shape of SHAPES) {
      const C = shape[shape.length - 1];
      const M = shape.reduce((a, b) => a * b) / C;
      if (variant === "vec4" && C % 4 !== 0) continue;
      // The widest shape also runs in order (SPREAD 1, a GPU's default).
      const runs =
        C === 76
          ? [false, true].flatMap((relu6) => [1, 0].map((spread) => ({ relu6, spread })))
          : [false, true].map((relu6) => ({ relu6, spread: 0 }));
      for (const { relu6, spread } of runs) {
        const tags = `${relu6 ? "relu6 " : ""}${spread ? `spread${spread} ` : ""}`;
        const name = `batchnorm ${variant} ${tags}[${shape.join(",")}] M${M} C${C}`;

        it(`${name} train, infer, backward, stats`, async () => {
          const g = gpu!;
          forceBatchNormVariant(variant);
          setLaneSpread(spread || undefined);
          const d = inputs(M, C, M * 31 + C, relu6);
          const t = upload(g, shape, d);
          const opts = { momentum: 0.1, eps: 1e-5, relu6 };
          const ref = batchNormTrainRef(d.x, M, C, d, opts);
          if (relu6 && M >= 9) {
            // Values on both sides of both kinks, or a mask that ignores one goes untested.
            const z = batchNormTrainRef(d.x, M, C, d, { ...opts, relu6: false }).y;
            expect(z.some((v) => v > 6)).toBe(true);
            expect(z.some((v) => v < 0)).toBe(true);
          }
          if (relu6) {
            // No value so near a kink that float32 rounding on another device
            // (about 1e-6 of |z| <= 10) could put it on the other side.
            const z = batchNormTrainRef(d.x, M, C, d, { ...opts, relu6: false }).y;
            const nearest = Math.min(...z.map((v) => Math.min(Math.abs(v), Math.abs(v - 6))));
            expect(nearest).toBeGreaterThan(2e-5);
          }
          const back = batchNormBackwardRef(d.x, d.dy, M, C, d, opts);

          const { y, saved } = batchNormTrain(g, t.x, t.p, opts);
          const dgamma = g.tensor([C], new Float32Array(C).fill(1), "dgamma");
          const dbeta = g.tensor([C], new Float32Array(C).fill(-1), "dbeta");
          const dx = batchNormBackward(
            g,
            t.x,
            t.dy,
            t.p,
            saved,
            { dgamma, dbeta },
            { relu6, accumulate: true },
          );
          const stats = batchNormStats(g, t.x);

          expectClose("y", await g.read(y), ref.y, TOL);
          expectClose("mean", await g.read(saved.mean), ref.mean, TOL);
          expectClose("invStd", await g.read(saved.invStd), ref.invStd, TOL);
          expectClose("runningMean", await g.read(t.p.runningMean), ref.runningMean, TOL);
          expectClose("runningVar", await g.read(t.p.runningVar), ref.runningVar, TOL);
          expectClose("dx", await g.read(dx), back.dx, { atol: 1e-3, rtol: 1e-3 });
          expectClose(
            "dgamma (accumulated)",
            await g.read(dgamma),
            back.dgamma.map((v) => v + 1),
            { atol: 2e-3, rtol: 1e-3 },
          );
          expectClose(
            "dbeta (accumulated)",
            await g.read(dbeta),
            back.dbeta.map((v) => v - 1),
            { atol: 2e-3, rtol: 1e-3 },
          );
          expectClose("stats.mean", await g.read(stats.mean), ref.mean, TOL);
          expectClose("stats.variance", await g.read(stats.variance), ref.variance, TOL);

          // Inference reads the updated running stats.
          const yi = batchNormInfer(g, t.x, t.p, { eps: 1e-5, relu6 });
          const running = { ...d, runningMean: ref.runningMean, runningVar: ref.runningVar };
          expectClose(
            "y infer",
            await g.read(yi),
            batchNormInferRef(d.x, M, C, running, opts),
            TOL,
          );
          for (const v of [
            y,
            dx,
            dgamma,
            dbeta,
            yi,
            saved.mean,
            saved.invStd,
            stats.mean,
            stats.variance,
            t.x,
            t.dy,
            ...Object.values(t.p),
          ])
            v.dispose();
        });
      }
    }

    it(`batchnorm ${variant} stable variance C4 M8 around 3000`, async () => {
      const g = gpu!;
      forceBatchNormVariant(variant);
      // Channel 0 holds 3000 + 0.01 i; the others are ordinary.
      const M = 8;
      const C = 4;
      const xs = new Float32Array(M * C);
      for (let i = 0; i < M; i++) {
        xs[i * C] = 3000 + 0.01 * i;
        for (let c = 1; c < C; c++) xs[i * C + c] = Math.sin(i * c);
      }
      const x = g.tensor([M, C], xs);
      const ref = batchNormStatsRef(xs, M, C);
      expect(ref.variance[0]).toBeGreaterThan(5.1e-4);
      expect(ref.variance[0]).toBeLessThan(5.4e-4);
      const s = batchNormStats(g, x);
      const v = await g.read(s.variance);
      expect(v[0]).toBeGreaterThanOrEqual(0);
      expect(Math.abs(v[0] - ref.variance[0])).toBeLessThan(2e-5);
      expectClose("variance", v, ref.variance, { atol: 2e-5, rtol: 1e-4 });
      expectClose("mean", await g.read(s.mean), ref.mean, { atol: 1e-6, rtol: 1e-6 });
      for (const t of [x, s.mean, s.variance]) t.dispose();
    });
  }

  it("batchnorm accumulate false overwrites dgamma and dbeta [2,3,3,5]", async () => {
    const g = gpu!;
    const shape = [2, 3, 3, 5];
    const d = inputs(18, 5, 7);
    const t = upload(g, shape, d);
    const opts = { momentum: 0.1, eps: 1e-5, updateRunning: false };
    const { y, saved } = batchNormTrain(g, t.x, t.p, opts);
    const dgamma = g.tensor([5], new Float32Array(5).fill(100));
    const dbeta = g.tensor([5], new Float32Array(5).fill(100));
    const dx = batchNormBackward(
      g,
      t.x,
      t.dy,
      t.p,
      saved,
      { dgamma, dbeta },
      { accumulate: false },
    );
    const back = batchNormBackwardRef(d.x, d.dy, 18, 5, d, opts);
    expectClose("dgamma", await g.read(dgamma), back.dgamma, { atol: 1e-3, rtol: 1e-3 });
    expectClose("dbeta", await g.read(dbeta), back.dbeta, { atol: 1e-3, rtol: 1e-3 });
    // updateRunning: false leaves the running stats alone.
    expectClose("runningMean", await g.read(t.p.runningMean), d.runningMean, { atol: 0, rtol: 0 });
    expectClose("runningVar", await g.read(t.p.runningVar), d.runningVar, { atol: 0, rtol: 0 });
    for (const v of [
      y,
      dx,
      dgamma,
      dbeta,
      saved.mean,
      saved.invStd,
      t.x,
      t.dy,
      ...Object.values(t.p),
    ])
      v.dispose();
  });

  it("batchnorm refuses aliased outputs before recording anything [2,3,3,4]", async () => {
    const g = gpu!;
    const shape = [2, 3, 3, 4];
    const d = inputs(18, 4, 11);
    const t = upload(g, shape, d);
    const train = { momentum: 0.1, eps: 1e-5 };
    const first = batchNormTrain(g, t.x, t.p, { ...train, updateRunning: false });
    const { saved } = first;
    const dbeta = g.zeros([4], "dbeta");
    const dgamma = g.zeros([4], "dgamma");
    const grads = { dgamma, dbeta };
    const acc = { accumulate: true };
    const want = await g.read(first.y);
    const dispatches = g.counters.dispatches;
    const live = g.pool.stats().inUseBytes;
    const refused: [() => unknown, RegExp][] = [
      [
        () => batchNormTrain(g, t.x, t.p, train, t.x),
        /^batchNormTrain: y \(x\) must not alias x \(x\)$/,
      ],
      [
        () => batchNormTrain(g, t.x, { ...t.p, runningMean: t.p.gamma }, train),
        /batchNormTrain: runningMean \(gamma\) must not alias gamma/,
      ],
      [
        () => batchNormTrain(g, t.x, { ...t.p, runningVar: t.p.runningMean }, train),
        /batchNormTrain: runningMean .* must not alias runningVar/,
      ],
      [
        () => batchNormInfer(g, t.x, t.p, { eps: 1e-5 }, t.x),
        /batchNormInfer: y .* must not alias x/,
      ],
      [
        () => batchNormBackward(g, t.x, t.dy, t.p, saved, grads, acc, t.dy),
        /batchNormBackward: dx .* must not alias dy/,
      ],
      [
        () => batchNormBackward(g, t.x, t.dy, t.p, saved, { dgamma: t.p.gamma, dbeta }, acc),
        /batchNormBackward: dgamma .* must not alias gamma/,
      ],
      [
        () => batchNormBackward(g, t.x, t.dy, t.p, saved, { dgamma, dbeta: saved.invStd }, acc),
        /batchNormBackward: dbeta .* must not alias saved.invStd/,
      ],
      [
        () => batchNormBackward(g, t.x, t.dy, t.p, saved, { dgamma, dbeta: dgamma }, acc),
        /batchNormBackward: dgamma .* must not alias dbeta/,
      ],
    ];
    for (const [call, msg] of refused) expect(call).toThrow(msg);
    expect(g.counters.dispatches).toBe(dispatches);
    expect(g.pool.stats().inUseBytes).toBe(live);
    // Nothing was recorded: the running stats are untouched and a valid call runs cleanly.
    expectClose("runningMean", await g.read(t.p.runningMean), d.runningMean, { atol: 0, rtol: 0 });
    const again = batchNormTrain(g, t.x, t.p, { ...train, updateRunning: false });
    expect(await g.read(again.y)).toEqual(want);
    for (const v of [
      first.y,
      again.y,
      again.saved.mean,
      again.saved.invStd,
      saved.mean,
      saved.invStd,
      dgamma,
      dbeta,
      t.x,
      t.dy,
      ...Object.values(t.p),
    ])
      v.dispose();
  });

  it("batchnorm rejects bad shapes", () => {
    const g = gpu!;
    const d = inputs(6, 3, 1);
    const t = upload(g, [2, 3, 3], d);
    const bad = g.zeros([4]);
    expect(() =>
      batchNormTrain(g, t.x, { ...t.p, gamma: bad }, { momentum: 0.1, eps: 1e-5 }),
    ).toThrow(/batchNormTrain: gamma has shape \[4\], expected \[3\]/);
    const one = g.zeros([1, 3]);
    expect(() => batchNormTrain(g, one, t.p, { momentum: 0.1, eps: 1e-5 })).toThrow(
      /more than one value per channel/,
    );
    forceBatchNormVariant("vec4");
    expect(() => batchNormStats(g, t.x)).toThrow(/vec4 variant needs C % 4 == 0, got C=3/);
    for (const v of [bad, one, t.x, t.dy, ...Object.values(t.p)]) v.dispose();
  });

  it("batchnorm refuses a bad eps or momentum before recording anything [2,3,3]", async () => {
    const g = gpu!;
    const d = inputs(6, 3, 2);
    const t = upload(g, [2, 3, 3], d);
    const dispatches = g.counters.dispatches;
    const train = (momentum: number, eps: number) => () =>
      batchNormTrain(g, t.x, t.p, { momentum, eps });
    expect(train(0.1, -1e-5)).toThrow(
      /^batchNormTrain: eps must be a finite number >= 0, got -0\.00001$/,
    );
    expect(train(0.1, NaN)).toThrow(/^batchNormTrain: eps must be a finite number >= 0, got NaN$/);
    expect(train(0.1, Infinity)).toThrow(/batchNormTrain: eps .* got Infinity$/);
    expect(train(1.5, 1e-5)).toThrow(/^batchNormTrain: momentum must be in \[0, 1\], got 1\.5$/);
    expect(train(-0.1, 1e-5)).toThrow(/^batchNormTrain: momentum .* got -0\.1$/);
    expect(train(NaN, 1e-5)).toThrow(/^batchNormTrain: momentum .* got NaN$/);
    expect(() => batchNormInfer(g, t.x, t.p, { eps: -1 })).toThrow(
      /^batchNormInfer: eps must be a finite number >= 0, got -1$/,
    );
    expect(g.counters.dispatches).toBe(dispatches);
    // The running statistics were not touched.
    expectClose("runningMean", await g.read(t.p.runningMean), d.runningMean, TOL);
    for (const v of [t.x, t.dy, ...Object.values(t.p)]) v.dispose();
  });
});

describe("batch norm reference", () => {
  for (const relu6 of [false, true]) {
    it(`batchnorm backward matches finite differences M6 C3${relu6 ? " relu6" : ""}`, () => {
      const M = 6;
      const C = 3;
      const d = inputs(M, C, 11, relu6);
      const x = Float64Array.from(d.x);
      const gamma = Float64Array.from(d.gamma);
      const beta = Float64Array.from(d.beta);
      const r = Float64Array.from(d.dy);
      const opts = { momentum: 0.1, eps: 1e-5, relu6 };
      const p = (gm: Float64Array, bt: Float64Array) => ({ ...d, gamma: gm, beta: bt });
      const loss = (xv: Float64Array, gm: Float64Array, bt: Float64Array) =>
        dot(batchNormTrainRef(xv, M, C, p(gm, bt), opts).y, r);
      const back = batchNormBackwardRef(x, r, M, C, p(gamma, beta), opts);
      const fdx = finiteDiff((v) => loss(v, gamma, beta), x);
      const fdg = finiteDiff((v) => loss(x, v, beta), gamma);
      const fdb = finiteDiff((v) => loss(x, gamma, v), beta);
      expectClose("dx fd", back.dx, fdx, { atol: 1e-6, rtol: 1e-5 });
      expectClose("dgamma fd", back.dgamma, fdg, { atol: 1e-6, rtol: 1e-5 });
      expectClose("dbeta fd", back.dbeta, fdb, { atol: 1e-6, rtol: 1e-5 });
      // With relu6 some outputs must sit in each clamped region, or the mask goes untested.
      if (relu6) {
        const z = batchNormTrainRef(x, M, C, p(gamma, beta), { ...opts, relu6: false }).y;
        expect(z.some((v) => v < 0)).toBe(true);
        expect(z.some((v) => v > 6)).toBe(true);
      }
    });
  }
});
