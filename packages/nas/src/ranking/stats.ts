// Rank statistics for judging how well a supernet orders architectures:
// Kendall tau-b, Spearman rho, a bootstrap interval around either, and the
// top-k overlap. All take two equally long score lists (x: proxy, y: truth).
//
// Degenerate input (fewer than 3 points, or one list constant) yields an
// explicit `Undefined` with a reason, never 0 or 1: a constant proxy tells us
// nothing about ranking, and reporting 0 would read as "no correlation".

import type { Rng } from "@fairnas/kernels";

export type Undefined = {
  readonly defined: false;
  readonly reason: string;
};

export type Corr =
  | {
      readonly defined: true;
      readonly value: number;
      readonly pValue: number;
      readonly n: number;
    }
  | Undefined;

export type CorrStat = (x: readonly number[], y: readonly number[]) => Corr;

export interface BootstrapOptions {
  readonly resamples: number;
  readonly level: number; // two-sided coverage, e.g. 0.95
  readonly rng: Rng;
}

export type BootstrapCi =
  | {
      readonly lo: number;
      readonly hi: number;
      readonly resamples: number;
      readonly undefinedCount: number;
    }
  | Undefined;

function undef(reason: string): Undefined {
  return { defined: false, reason };
}

function checkPair(name: string, x: readonly number[], y: readonly number[]): void {
  if (x.length !== y.length) {
    throw new Error(`${name}: x and y differ in length (x: [${x.length}], y: [${y.length}])`);
  }
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]) || !Number.isFinite(y[i])) {
      throw new Error(`${name}: non-finite value at index ${i} (x ${x[i]}, y ${y[i]})`);
    }
  }
}

/** Shared degeneracy check; null when the pair is usable. */
function degenerate(x: readonly number[], y: readonly number[]): Undefined | null {
  if (x.length < 3) return undef(`fewer than 3 points (n=${x.length})`);
  if (x.every((v) => v === x[0])) {
    return undef(`all x equal (${x[0]}, n=${x.length}): no ranking`);
  }
  if (y.every((v) => v === y[0])) {
    return undef(`all y equal (${y[0]}, n=${y.length}): no ranking`);
  }
  return null;
}

// ---------------------------------------------------------------------------
// Special functions (own implementations; checked against known values in
// stats.test.ts).

const SQRT_PI = Math.sqrt(Math.PI);

/** Complementary error function, about 1e-14 relative accuracy. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return 2 - erfc(-x);
  if (x < 2) return 1 - erfSeries(x);
  return erfcContinuedFraction(x);
}

// erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1)); fine for x < 2.
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x; // (-1)^n x^(2n+1) / n!
  let sum = x;
  for (let n = 1; n < 100; n++) {
    term *= -x2 / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
  }
  return (2 / SQRT_PI) * sum;
}

// erfc(x) = exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))),
// evaluated bottom-up; 120 levels are plenty for x >= 2.
function erfcContinuedFraction(x: number): number {
  let t = x;
  for (let k = 120; k >= 1; k--) t = x + k / 2 / t;
  return Math.exp(-x * x) / SQRT_PI / t;
}

/** Two-sided tail of the standard normal: P(|Z| >= |z|). */
export function normalTwoSidedP(z: number): number {
  return erfc(Math.abs(z) / Math.SQRT2);
}

// ln Gamma(z) for z > 0: shift up to z >= 15, then Stirling's series to
// the z^-9 term (next term below 1e-16 there).
function lnGamma(z: number): number {
  let shift = 0;
  while (z < 15) {
    shift += Math.log(z);
    z += 1;
  }
  const inv = 1 / z;
  const inv2 = inv * inv;
  const series =
    inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 * (1 / 1680 - inv2 / 1188))));
  return (z - 0.5) * Math.log(z) - z + 0.5 * Math.log(2 * Math.PI) + series - shift;
}

/** Regularized incomplete beta I_x(a, b), a, b > 0, x in [0, 1]. */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  // The continued fraction converges fast below the mean; reflect above it.
  if (x > (a + 1) / (a + b + 2)) return 1 - incompleteBeta(1 - x, b, a);

  const lnFront =
    a * Math.log(x) + b * Math.log(1 - x) - (lnGamma(a) + lnGamma(b) - lnGamma(a + b));
  return (Math.exp(lnFront) / a) * betaContinuedFraction(x, a, b);
}

// 1 / (1 + d1 / (1 + d2 / (1 + ...))), where
// d(2m) = m (b - m) x / ((a + 2m - 1)(a + 2m)) and
// d(2m + 1) = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)).
// The denominator g = 1 + d1 / (1 + ...) is built by the modified Lentz
// method: f tracks g's convergents as products of the ratios c * d.
function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let f = 1;
  let c = 1;
  let d = 0;
  for (let k = 1; k < 1000; k++) {
    const m = Math.floor(k / 2);
    const dk =
      k % 2 === 0
        ? (m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m))
        : (-(a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1));
    d = 1 + dk * d;
    d = 1 / (Math.abs(d) < tiny ? tiny : d);
    c = 1 + dk / c;
    if (Math.abs(c) < tiny) c = tiny;
    f *= c * d;
    if (Math.abs(c * d - 1) < 1e-15) break;
  }
  return 1 / f;
}

/** Two-sided tail of Student's t with `df` degrees of freedom. */
export function studentTTwoSidedP(t: number, df: number): number {
  if (!Number.isFinite(t)) return 0;
  return incompleteBeta(df / (df + t * t), df / 2, 0.5);
}

// ---------------------------------------------------------------------------
// Kendall tau-b.

/** Tie-group sums used by tau-b and its null variance. */
interface TieSums {
  pairs: number; // sum t(t-1)/2: pairs tied within a group
  v1: number; // sum t(t-1)
  v2: number; // sum t(t-1)(t-2)
  vt: number; // sum t(t-1)(2t+5)
}

function tieSumsFromSizes(sizes: Iterable<number>): TieSums {
  const s: TieSums = { pairs: 0, v1: 0, v2: 0, vt: 0 };
  for (const t of sizes) {
    s.pairs += (t * (t - 1)) / 2;
    s.v1 += t * (t - 1);
    s.v2 += t * (t - 1) * (t - 2);
    s.vt += t * (t - 1) * (2 * t + 5);
  }
  return s;
}

/** Sizes of runs of equal values in an already sorted list. */
function runSizes(sorted: ArrayLike<number>): number[] {
  const sizes: number[] = [];
  let run = 1;
  for (let i = 1; i <= sorted.length; i++) {
    if (i < sorted.length && sorted[i] === sorted[i - 1]) run++;
    else {
      if (run > 1) sizes.push(run);
      run = 1;
    }
  }
  return sizes;
}

// Null variance of S = C - D with ties in both lists (the usual tie
// correction for tau-b), then the two-sided normal tail of S / sd.
// NOTE: normal approximation, no continuity correction and no exact
// permutation distribution; for n below about 10 the p-value is rough.
function tauPValue(s: number, n: number, tx: TieSums, ty: TieSums): number {
  const v0 = n * (n - 1) * (2 * n + 5);
  const variance =
    (v0 - tx.vt - ty.vt) / 18 +
    (tx.v1 * ty.v1) / (2 * n * (n - 1)) +
    (tx.v2 * ty.v2) / (9 * n * (n - 1) * (n - 2));
  if (!(variance > 0)) return s === 0 ? 1 : 0;
  return normalTwoSidedP(s / Math.sqrt(variance));
}

function tauResult(s: number, n: number, tx: TieSums, ty: TieSums): Corr {
  const n0 = (n * (n - 1)) / 2;
  const denom = Math.sqrt((n0 - tx.pairs) * (n0 - ty.pairs));
  const value = Math.max(-1, Math.min(1, s / denom));
  return { defined: true, value, pValue: tauPValue(s, n, tx, ty), n };
}

/**
 * Kendall tau-b in O(n log n) (Knight's method): sort by (x, y), count
 * discordant pairs as inversions of y by merge sort, correct for ties.
 * p-value: two-sided, normal approximation with the tie-corrected variance.
 */
export function kendallTauB(x: readonly number[], y: readonly number[]): Corr {
  checkPair("kendallTauB", x, y);
  const bad = degenerate(x, y);
  if (bad) return bad;
  const n = x.length;

  // Order by x, then y, so pairs tied in x are never counted as inversions.
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((i, j) => x[i] - x[j] || y[i] - y[j]);
  const xs = order.map((i) => x[i]);
  const ys = Float64Array.from(order, (i) => y[i]);

  // Pairs tied in both x and y, needed to recover C - D from the counts.
  const joint: number[] = [];
  let run = 1;
  for (let i = 1; i <= n; i++) {
    if (i < n && xs[i] === xs[i - 1] && ys[i] === ys[i - 1]) run++;
    else {
      if (run > 1) joint.push(run);
      run = 1;
    }
  }
  const n3 = tieSumsFromSizes(joint).pairs;

  // Inversions of y in this order are exactly the discordant pairs.
  const discordant = sortCountingInversions(ys);
  const tx = tieSumsFromSizes(runSizes(xs));
  const ty = tieSumsFromSizes(runSizes(ys)); // ys is sorted now

  const n0 = (n * (n - 1)) / 2;
  const s = n0 - tx.pairs - ty.pairs + n3 - 2 * discordant;
  return tauResult(s, n, tx, ty);
}

/** Sorts `a` ascending in place; returns #pairs i < j with a[i] > a[j]. */
function sortCountingInversions(a: Float64Array): number {
  const buf = new Float64Array(a.length);
  let inversions = 0;
  let src: Float64Array = a;
  let dst: Float64Array = buf;
  // Bottom-up merge sort; equal keys are taken from the left (not counted).
  for (let width = 1; width < a.length; width *= 2) {
    for (let lo = 0; lo < a.length; lo += 2 * width) {
      const mid = Math.min(lo + width, a.length);
      const hi = Math.min(lo + 2 * width, a.length);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) {
        if (src[j] < src[i]) {
          inversions += mid - i;
          dst[k++] = src[j++];
        } else dst[k++] = src[i++];
      }
      while (i < mid) dst[k++] = src[i++];
      while (j < hi) dst[k++] = src[j++];
    }
    [src, dst] = [dst, src];
  }
  if (src !== a) a.set(src);
  return inversions;
}

/** Kendall tau-b straight from the pair definition, O(n^2); for tests. */
export function kendallTauBNaive(x: readonly number[], y: readonly number[]): Corr {
  checkPair("kendallTauBNaive", x, y);
  const bad = degenerate(x, y);
  if (bad) return bad;
  const n = x.length;

  let s = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      s += Math.sign(x[i] - x[j]) * Math.sign(y[i] - y[j]);
    }
  }
  return tauResult(s, n, tieSumsByCount(x), tieSumsByCount(y));
}

function tieSumsByCount(v: readonly number[]): TieSums {
  const counts = new Map<number, number>();
  for (const a of v) counts.set(a, (counts.get(a) ?? 0) + 1);
  return tieSumsFromSizes(counts.values());
}

// ---------------------------------------------------------------------------
// Spearman rho.

/** Ranks 1..n, tied values sharing the mean of their ranks. */
export function averageRanks(v: readonly number[]): number[] {
  const order = Array.from({ length: v.length }, (_, i) => i);
  order.sort((i, j) => v[i] - v[j]);
  const ranks = new Array<number>(v.length);
  let start = 0;
  while (start < order.length) {
    let end = start + 1;
    while (end < order.length && v[order[end]] === v[order[start]]) end++;
    const mean = (start + 1 + end) / 2; // mean of ranks start+1 .. end
    for (let k = start; k < end; k++) ranks[order[k]] = mean;
    start = end;
  }
  return ranks;
}

/**
 * Spearman rho: Pearson correlation of average ranks. p-value: two-sided,
 * from t = rho sqrt((n - 2) / (1 - rho^2)) under Student's t with n - 2
 * degrees of freedom (an approximation to the permutation distribution).
 */
export function spearman(x: readonly number[], y: readonly number[]): Corr {
  checkPair("spearman", x, y);
  const bad = degenerate(x, y);
  if (bad) return bad;
  const n = x.length;

  const rx = averageRanks(x);
  const ry = averageRanks(y);
  const mean = (n + 1) / 2; // mean rank, ties included
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = rx[i] - mean;
    const dy = ry[i] - mean;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  const value = Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));

  const df = n - 2;
  const pValue =
    Math.abs(value) === 1 ? 0 : studentTTwoSidedP(value * Math.sqrt(df / (1 - value * value)), df);
  return { defined: true, value, pValue, n };
}

// ---------------------------------------------------------------------------
// Bootstrap and top-k.

/** Linear-interpolation quantile of an ascending list, q in [0, 1]. */
function quantileSorted(sorted: readonly number[], q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}

/**
 * Percentile bootstrap interval for `stat` over pairs resampled with
 * replacement. Resamples where the statistic is undefined (e.g. a draw that
 * repeats one point) are counted and left out. Undefined when the statistic
 * is undefined on the full data or on more than half of the resamples.
 */
export function bootstrapCi(
  x: readonly number[],
  y: readonly number[],
  stat: CorrStat,
  opts: BootstrapOptions,
): BootstrapCi {
  checkPair("bootstrapCi", x, y);
  const { resamples, level, rng } = opts;
  if (!Number.isInteger(resamples) || resamples < 1) {
    throw new Error(`bootstrapCi: resamples must be an integer >= 1, got ${resamples}`);
  }
  if (!(level > 0 && level < 1)) {
    throw new Error(`bootstrapCi: level must lie in (0, 1), got ${level}`);
  }
  const full = stat(x, y);
  if (!full.defined) return undef(`statistic undefined on the data: ${full.reason}`);

  const n = x.length;
  const values: number[] = [];
  const bx = new Array<number>(n);
  const by = new Array<number>(n);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) {
      const k = rng.int(n);
      bx[i] = x[k];
      by[i] = y[k];
    }
    const c = stat(bx, by);
    if (c.defined) values.push(c.value);
  }

  const undefinedCount = resamples - values.length;
  if (values.length * 2 < resamples) {
    return undef(`statistic undefined on ${undefinedCount} of ${resamples} resamples (n=${n})`);
  }
  values.sort((a, b) => a - b);
  const alpha = (1 - level) / 2;
  return {
    lo: quantileSorted(values, alpha),
    hi: quantileSorted(values, 1 - alpha),
    resamples,
    undefinedCount,
  };
}

/** Indices of the k best entries; ties at the cut go to the lower index. */
function topIndices(v: readonly number[], k: number, higherIsBetter: boolean): Set<number> {
  const sign = higherIsBetter ? -1 : 1;
  const order = Array.from({ length: v.length }, (_, i) => i);
  order.sort((i, j) => sign * (v[i] - v[j]) || i - j);
  return new Set(order.slice(0, k));
}

/**
 * |topk(x) ∩ topk(y)| / k. Orientation applies to both lists.
 * NOTE: ties straddling the k-th place are broken by index, so heavily tied
 * scores make this depend on the input order.
 */
export function topKOverlap(
  x: readonly number[],
  y: readonly number[],
  k: number,
  higherIsBetter = true,
): number {
  checkPair("topKOverlap", x, y);
  if (!Number.isInteger(k) || k < 1 || k > x.length) {
    throw new Error(`topKOverlap: k must be an integer in [1, ${x.length}], got ${k}`);
  }
  const tx = topIndices(x, k, higherIsBetter);
  const ty = topIndices(y, k, higherIsBetter);
  let common = 0;
  for (const i of tx) if (ty.has(i)) common++;
  return common / k;
}
