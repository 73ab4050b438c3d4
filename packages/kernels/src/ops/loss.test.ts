import { describe, expect, it } from "vitest";
import { expectClose, finiteDiff, randn, testGpu } from "../testing.ts";
import { softmaxCrossEntropyRef } from "../reference/loss.ts";
import { softmaxCrossEntropy } from "./loss.ts";
import { Rng } from "../rng.ts";

const gpu = await testGpu();

function labelsFor(N: number, K: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: N }, () => Math.floor(rng.next() * K) % K);
}

function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

describe.runIf(gpu)("softmax cross-entropy on the GPU", () => {
  const CASES: [number, number, number][] = [
    [1, 1, 0],
    [1, 10, 0.1],
    [7, 3, 0],
    [33, 100, 0.1],
    [130, 17, 0.2],
  ];
  for (const [N, K, eps] of CASES) {
    it(`cross-entropy N${N} K${K} smoothing${eps}`, async () => {
      const g = gpu!;
      const z = Float32Array.from(randn(N * K, N * 7 + K, 3));
      const y = labelsFor(N, K, N + K);
      const ref = softmaxCrossEntropyRef(z, y, N, K, eps);
      const logits = g.tensor([N, K], z);
      const labels = g.tensor([N], y);
      const stats = g.tensor([2], [5, 2]);
      const dlogits = g.empty([N, K]);
      softmaxCrossEntropy(g, logits, labels, { smoothing: eps, stats, dlogits });
      expectClose("dlogits", await g.read(dlogits), ref.dlogits, { atol: 1e-6, rtol: 1e-4 });
      expectClose("stats", await g.read(stats), [5 + sum(ref.loss), 2 + sum(ref.correct)], {
        atol: 1e-4,
        rtol: 1e-5,
      });
      for (const t of [logits, labels, stats, dlogits]) t.dispose();
    });
  }

  it("cross-entropy is stable for logits [1000, 0] and [0, 1000] N2 K2", async () => {
    const g = gpu!;
    const logits = g.tensor([2, 2], [1000, 0, 0, 1000]);
    const labels = g.tensor([2], [0, 0]);
    const stats = g.zeros([2]);
    const dlogits = g.empty([2, 2]);
    softmaxCrossEntropy(g, logits, labels, { smoothing: 0, stats, dlogits });
    const s = await g.read(stats);
    // Row 0 is right with loss 0; row 1 is wrong with loss 1000.
    expectClose("stats", s, [1000, 1], { atol: 1e-3, rtol: 1e-6 });
    expectClose("dlogits", await g.read(dlogits), [0, 0, -0.5, 0.5], { atol: 1e-7, rtol: 0 });
    for (const t of [logits, labels, stats, dlogits]) t.dispose();
  });

  it("cross-entropy ties go to the lowest index N3 K3", async () => {
    const g = gpu!;
    const logits = g.tensor([3, 3], [1, 1, 1, 0, 2, 2, 5, 5, 0]);
    const labels = g.tensor([3], [1, 1, 0]);
    const stats = g.zeros([2]);
    softmaxCrossEntropy(g, logits, labels, { smoothing: 0, stats });
    const s = await g.read(stats);
    expect(s[1]).toBe(2);
    const ref = softmaxCrossEntropyRef([1, 1, 1, 0, 2, 2, 5, 5, 0], [1, 1, 0], 3, 3, 0);
    expect(s[0]).toBeCloseTo(sum(ref.loss), 5);
    for (const t of [logits, labels, stats]) t.dispose();
  });

  it("cross-entropy labels outside [0, K) give smoothing-only loss, no hit N3 K4", async () => {
    const g = gpu!;
    const z = [3, 1, 0, -1, 0.5, 0.5, 2, 0, 1, 2, 3, 4];
    const logits = g.tensor([3, 4], z);
    const labels = g.tensor([3], [-1, 4, 3]);
    const stats = g.zeros([2]);
    const dlogits = g.empty([3, 4]);
    softmaxCrossEntropy(g, logits, labels, { smoothing: 0.1, stats, dlogits });
    const ref = softmaxCrossEntropyRef(z, [-1, 4, 3], 3, 4, 0.1);
    expectClose("stats", await g.read(stats), [sum(ref.loss), 1], { atol: 1e-5, rtol: 1e-5 });
    expectClose("dlogits", await g.read(dlogits), ref.dlogits, { atol: 1e-6, rtol: 1e-4 });
    for (const t of [logits, labels, stats, dlogits]) t.dispose();
  });

  it("cross-entropy rejects bad shapes", () => {
    const g = gpu!;
    const logits = g.zeros([4, 3]);
    const labels = g.zeros([3]);
    expect(() => softmaxCrossEntropy(g, logits, labels, { smoothing: 0 })).toThrow(
      /softmaxCrossEntropy: labels has shape \[3\], expected \[4\]/,
    );
    logits.dispose();
    labels.dispose();
  });

  it("cross-entropy with host labels equals device labels N5 K4 smoothing0.1", async () => {
    const g = gpu!;
    const z = Float32Array.from(randn(20, 4, 2));
    const y = [3, 0, 1, 1, 2];
    const ref = softmaxCrossEntropyRef(z, y, 5, 4, 0.1);
    const logits = g.tensor([5, 4], z);
    const stats = g.zeros([2]);
    const dlogits = g.empty([5, 4]);
    const live = g.pool.stats().inUseBytes;
    softmaxCrossEntropy(g, logits, y, { smoothing: 0.1, stats, dlogits });
    expectClose("dlogits", await g.read(dlogits), ref.dlogits, { atol: 1e-6, rtol: 1e-4 });
    expectClose("stats", await g.read(stats), [sum(ref.loss), sum(ref.correct)], {
      atol: 1e-5,
      rtol: 1e-5,
    });
    // The uploaded labels went back to the pool.
    expect(g.pool.stats().inUseBytes).toBe(live);
    for (const t of [logits, stats, dlogits]) t.dispose();
  });

  it("cross-entropy refuses host labels that are not class ids N3 K4", async () => {
    const g = gpu!;
    const logits = g.zeros([3, 4]);
    const stats = g.zeros([2]);
    const dispatches = g.counters.dispatches;
    const bad: [number[], RegExp][] = [
      [[0, 1.5, 2], /^softmaxCrossEntropy: labels\[1\] is 1\.5, not a class id in \[0, 4\)$/],
      [[0, 1, 4], /^softmaxCrossEntropy: labels\[2\] is 4, not a class id in \[0, 4\)$/],
      [[-1, 1, 2], /^softmaxCrossEntropy: labels\[0\] is -1, not a class id/],
      [[0, NaN, 2], /^softmaxCrossEntropy: labels\[1\] is NaN, not a class id/],
      [[0, 1, Infinity], /^softmaxCrossEntropy: labels\[2\] is Infinity, not a class id/],
      [[0, 1], /^softmaxCrossEntropy: 2 labels given for logits \[3, 4\]$/],
    ];
    for (const [labels, message] of bad) {
      expect(() => softmaxCrossEntropy(g, logits, labels, { smoothing: 0, stats })).toThrow(
        message,
      );
    }
    expect(g.counters.dispatches).toBe(dispatches);
    expect(await g.read(stats)).toEqual(new Float32Array(2));
    for (const t of [logits, stats]) t.dispose();
  });

  it("cross-entropy refuses dlogits aliasing the logits before recording anything", async () => {
    const g = gpu!;
    const logits = g.tensor([3, 3], randn(9, 1), "logits");
    const labels = g.tensor([3], [0, 2, 1], "labels");
    const stats = g.zeros([2], "stats");
    const dispatches = g.counters.dispatches;
    const live = g.pool.stats().inUseBytes;
    expect(() =>
      softmaxCrossEntropy(g, logits, labels, { smoothing: 0, stats, dlogits: logits }),
    ).toThrow(/^softmaxCrossEntropy: dlogits \(logits\) must not alias logits \(logits\)$/);
    expect(g.counters.dispatches).toBe(dispatches);
    expect(g.pool.stats().inUseBytes).toBe(live);
    // Nothing was left recorded: the stats are untouched and a valid call runs cleanly.
    expect(await g.read(stats)).toEqual(new Float32Array(2));
    softmaxCrossEntropy(g, logits, labels, { smoothing: 0, stats });
    expect((await g.read(stats))[0]).toBeGreaterThan(0);
    for (const t of [logits, labels, stats]) t.dispose();
  });
});

describe("softmax cross-entropy reference", () => {
  for (const eps of [0, 0.1]) {
    it(`cross-entropy gradient matches finite differences N3 K5 smoothing${eps}`, () => {
      const N = 3;
      const K = 5;
      const z = randn(N * K, 9, 2);
      const y = [4, 0, 2];
      const mean = (v: Float64Array) => sum(softmaxCrossEntropyRef(v, y, N, K, eps).loss) / N;
      const fd = finiteDiff(mean, z);
      expectClose("dlogits fd", softmaxCrossEntropyRef(z, y, N, K, eps).dlogits, fd, {
        atol: 1e-8,
        rtol: 1e-6,
      });
    });
  }
});

describe.runIf(gpu)("softmaxCrossEntropy non-finite logits", () => {
  it("an infinite logit makes the summed loss NaN, so training can stop on it", async () => {
    const g = gpu!;
    const logits = g.tensor([2, 3], [0, 1, 2, Number.POSITIVE_INFINITY, 0, 0]);
    const labels = g.tensor([2], [0, 1]);
    const stats = g.zeros([2]);
    softmaxCrossEntropy(g, logits, labels, { smoothing: 0, stats });
    const [loss] = await g.read(stats);
    expect(Number.isNaN(loss)).toBe(true);
    for (const t of [logits, labels, stats]) t.dispose();
  });
});
