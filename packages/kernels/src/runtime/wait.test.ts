import { describe, expect, it } from "vitest";
import { WAIT_CONFIG, WaitEstimator, type Sleep } from "./wait.ts";

const NONE: Sleep = { ms: 0, fromEstimate: true };

/** An estimator that has learned `per` ms per dispatch from one unslept batch of 100. */
function learned(per: number): WaitEstimator {
  const w = new WaitEstimator();
  w.submitted(100, false, 0);
  w.done(100 * per, NONE, 100 * per);
  return w;
}

/**
 * Runs `waits` batches of `n` dispatches whose real cost is `realPer` ms each:
 * the host sleeps as told, the await returns when the work is done (or at
 * once, 0.1 ms, if it already was). Returns the total wall time.
 */
function simulate(w: WaitEstimator, waits: number, n: number, realPer: number): number {
  let t = 0;
  for (let i = 0; i < waits; i++) {
    const start = t;
    w.submitted(n, false, start);
    const slept = w.sleep(0, t);
    t += slept.ms;
    const end = start + n * realPer;
    const awaited = t >= end ? 0.1 : end - t;
    t += awaited;
    w.done(t, slept, awaited);
  }
  return t;
}

describe("wait estimator", () => {
  it("learns the per-dispatch cost from a batch it did not sleep through", () => {
    const w = learned(0.5);
    expect(w.perDispatchMs).toBeCloseTo(0.5, 12);
    w.submitted(100, false, 1000);
    const s = w.sleep(0, 1010);
    // 100 x 0.5 ms expected, 10 ms already elapsed: sleep 85% of the remaining 40.
    expect(s.fromEstimate).toBe(true);
    expect(s.ms).toBeCloseTo(40 * WAIT_CONFIG.SLEEP_FRACTION, 9);
    // The work ended 20 ms after the sleep: a true measurement, 1 ms per dispatch.
    w.done(1100, s, 20);
    const r = WAIT_CONFIG.LEARN_RATE;
    expect(w.perDispatchMs).toBeCloseTo((1 - r) * 0.5 + r * 1, 12);
  });

  it("ignores batches that first ran a pipeline (compile time) and small batches", () => {
    const w = learned(0.5);
    w.submitted(100, true, 0);
    w.done(5000, NONE, 5000);
    expect(w.perDispatchMs).toBe(0.5);
    w.submitted(WAIT_CONFIG.MIN_BATCH - 1, false, 0);
    w.done(1000, NONE, 1000);
    expect(w.perDispatchMs).toBe(0.5);
    // A first use anywhere in the batch, even in an earlier submit of it, counts.
    w.submitted(50, true, 0);
    w.submitted(50, false, 1);
    w.done(900, NONE, 900);
    expect(w.perDispatchMs).toBe(0.5);
  });

  it("halves its estimate when the work was done before the sleep ended", () => {
    const w = learned(0.5);
    w.submitted(100, false, 0);
    const s = w.sleep(0, 0);
    expect(s.ms).toBeCloseTo(50 * WAIT_CONFIG.SLEEP_FRACTION, 9);
    w.done(s.ms + 0.1, s, 0.1);
    expect(w.perDispatchMs).toBeCloseTo(Math.min(0.5, (s.ms + 0.1) / 100) / 2, 12);
  });

  it("learns nothing from oversleeping a time the caller gave", () => {
    const w = learned(0.5);
    w.submitted(100, false, 0);
    const s = w.sleep(300, 0);
    expect(s).toEqual({ ms: 300 * WAIT_CONFIG.SLEEP_FRACTION, fromEstimate: false });
    w.done(s.ms + 0.1, s, 0.1);
    expect(w.perDispatchMs).toBe(0.5);
  });

  it("does not sleep for expected times of a few ms", () => {
    const w = learned(0.01);
    w.submitted(100, false, 0);
    expect(w.sleep(0, 0).ms).toBe(0);
    expect(w.sleep(WAIT_CONFIG.MIN_SLEEP_MS, 0).ms).toBe(0);
  });

  it("recovers from an estimate 1000x too high within a few waits", () => {
    // 50 ms per dispatch learned (a slow batch), then work that costs 0.05:
    // with 100-dispatch batches the first wait oversleeps by ~4 s, and each
    // later one by half as much; a self-sustaining estimate would keep
    // sleeping seconds per wait.
    const w = learned(50);
    const total = simulate(w, 30, 100, 0.05);
    expect(total).toBeLessThan(12_000);
    expect(w.perDispatchMs).toBeGreaterThan(0.02);
    expect(w.perDispatchMs).toBeLessThan(0.1);
    // Once recovered, waits cost about the work itself.
    const steady = simulate(w, 20, 100, 0.05);
    expect(steady).toBeLessThan(20 * 100 * 0.05 * 1.5);
  });

  it("follows work that gets slower without oversleeping it", () => {
    const w = learned(0.05);
    const t = simulate(w, 20, 100, 0.5);
    // Each wait lasts at least its work (1000 ms of work in all) and sleeps
    // at most the estimate, which never passes the true cost.
    expect(t).toBeGreaterThanOrEqual(1000);
    expect(t).toBeLessThan(1000 + 20 * 0.2);
    expect(w.perDispatchMs).toBeGreaterThan(0.45);
    expect(w.perDispatchMs).toBeLessThanOrEqual(0.5 + 1e-9);
  });
});
