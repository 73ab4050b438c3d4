// How long to sleep before awaiting submitted GPU work. While a Dawn
// promise is pending, Node's main thread polls hard and takes CPU from a
// software device (PERF-NOTES), so a wait first sleeps through most of the
// work's expected time. The expectation is the in-flight dispatch count
// times a per-dispatch cost learned from earlier waits.
//
// Learning only from waits that measured the work matters: a batch that
// first ran a pipeline includes its compile (seconds on a software device
// with a cold shader cache), and a wait that slept past the work's end
// measures the sleep, not the work. Learning from either inflates the
// estimate, the next waits oversleep by as much, and each oversleep keeps
// the estimate up. So:
//   - batches under MIN_BATCH dispatches, or that ran a pipeline for the
//     first time, teach nothing;
//   - a wait whose await returned at once after sleeping (the work was done
//     before the sleep ended) halves the estimate;
//   - any other wait moves it toward what it measured.

export const WAIT_CONFIG = {
  /** Batches smaller than this teach nothing (their cost is mostly overhead). */
  MIN_BATCH: 16,
  /** Fraction of the expected time slept before awaiting. */
  SLEEP_FRACTION: 0.85,
  /** Expected times at or below this (ms) are awaited without sleeping. */
  MIN_SLEEP_MS: 2,
  /** An await after a sleep that returns within this (ms) found the work already done. */
  DONE_AT_WAKE_MS: 0.5,
  /** Weight of a new measurement in the running estimate. */
  LEARN_RATE: 0.3,
} as const;

/** What a wait did: how long it slept, and whether the sleep came from the learned estimate. */
export interface Sleep {
  readonly ms: number;
  readonly fromEstimate: boolean;
}

export class WaitEstimator {
  private msPerDispatch = 0;
  private inFlight = 0;
  private since = 0;
  private firstUse = false;

  /** The learned cost of one dispatch, ms (0 until a wait has measured one). */
  get perDispatchMs(): number {
    return this.msPerDispatch;
  }

  /** `dispatches` were submitted at `now`; `firstUse` if one ran a pipeline for the first time. */
  submitted(dispatches: number, firstUse: boolean, now: number): void {
    if (this.inFlight === 0) this.since = now;
    this.inFlight += dispatches;
    this.firstUse ||= firstUse;
  }

  /** How long to sleep at `now` before awaiting: `expectedMs` when the caller knows it. */
  sleep(expectedMs: number, now: number): Sleep {
    const fromEstimate = !(expectedMs > 0);
    const estimate = fromEstimate
      ? this.inFlight * this.msPerDispatch - (now - this.since)
      : expectedMs;
    const ms = estimate > WAIT_CONFIG.MIN_SLEEP_MS ? estimate * WAIT_CONFIG.SLEEP_FRACTION : 0;
    return { ms, fromEstimate };
  }

  /** All submitted work was seen complete at `now`, after `slept` and an await of `awaitedMs`. */
  done(now: number, slept: Sleep, awaitedMs: number): void {
    const n = this.inFlight;
    const firstUse = this.firstUse;
    this.inFlight = 0;
    this.firstUse = false;
    if (n < WAIT_CONFIG.MIN_BATCH || firstUse) return;
    const per = (now - this.since) / n;
    if (slept.ms > 0 && awaitedMs < WAIT_CONFIG.DONE_AT_WAKE_MS) {
      // Done before the sleep ended: `per` is only an upper bound. When the
      // sleep came from the estimate, the estimate was too high.
      if (slept.fromEstimate) this.msPerDispatch = Math.min(this.msPerDispatch, per) / 2;
      return;
    }
    const r = WAIT_CONFIG.LEARN_RATE;
    this.msPerDispatch = this.msPerDispatch === 0 ? per : (1 - r) * this.msPerDispatch + r * per;
  }
}
