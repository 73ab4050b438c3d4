// Test helpers shared by the packages: a device for GPU tests, tolerance
// checks that print the first mismatches, random data, finite differences.

import { Gpu } from "./runtime/gpu.ts";
import { Rng } from "./rng.ts";

let shared: Promise<Gpu | null> | null = null;

/**
 * One device per test process. No adapter is a failure (the project's setup
 * installs lavapipe wherever there is no GPU, so a missing one means a
 * broken machine, not a reason to skip), unless NAS_ALLOW_NO_GPU=1: then it
 * returns null and the GPU tests skip, saying why.
 */
export function testGpu(): Promise<Gpu | null> {
  shared ??= Gpu.create().catch((e: unknown) => {
    if (process.env.NAS_ALLOW_NO_GPU !== "1") throw e;
    process.stderr.write(`GPU tests skipped (NAS_ALLOW_NO_GPU=1): ${(e as Error).message}\n`);
    return null;
  });
  return shared;
}

export interface Tolerance {
  readonly atol: number;
  readonly rtol: number;
}

export const F32_TOL: Tolerance = { atol: 1e-5, rtol: 1e-4 };

/** Throws, listing the first mismatches, unless |a-e| <= atol + rtol*|e| everywhere. */
export function expectClose(
  label: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance = F32_TOL,
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${label}: length ${actual.length}, expected ${expected.length}`);
  }
  const bad: string[] = [];
  let count = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const ok = Math.abs(a - e) <= tol.atol + tol.rtol * Math.abs(e);
    if (!ok || !Number.isFinite(a)) {
      count += 1;
      if (bad.length < 8) bad.push(`  [${i}] expected ${e}, actual ${a}`);
    }
  }
  if (count > 0) {
    throw new Error(
      `${label}: ${count}/${actual.length} mismatches ` +
        `(atol ${tol.atol}, rtol ${tol.rtol})\n${bad.join("\n")}`,
    );
  }
}

/** `n` standard-normal values scaled by `scale`, from a seeded generator. */
export function randn(n: number, seed: number, scale = 1): Float64Array {
  const rng = new Rng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal() * scale;
  return out;
}

/**
 * Central finite differences of a scalar function of `x` at the given
 * indices (all when omitted), in float64.
 */
export function finiteDiff(
  f: (x: Float64Array) => number,
  x: Float64Array,
  h = 1e-5,
  indices?: readonly number[],
): Float64Array {
  const g = new Float64Array(x.length);
  for (const i of indices ?? x.keys()) {
    const keep = x[i];
    x[i] = keep + h;
    const up = f(x);
    x[i] = keep - h;
    const down = f(x);
    x[i] = keep;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

/** Sum of a[i]*b[i] in float64, the usual probe loss L = <y, r>. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** coef [3, C] = mean, scale (both signs), shift; x spread so ReLU6 clamps both ends. */
export function bnTable(C: number, seed: number): Float64Array {
  const c = Float64Array.from(Float32Array.from(randn(3 * C, seed)));
  for (let i = 0; i < C; i++) {
    c[C + i] = Math.fround(1.5 * c[C + i]);
    c[2 * C + i] = Math.fround(2 + 2 * c[2 * C + i]);
  }
  return c;
}

/** float64 (v - m) * a + b per channel of the last dim, clamped when relu6. */
export function bnApplyRef(
  x: Float64Array,
  coef: Float64Array,
  C: number,
  relu6: boolean,
): Float64Array {
  return x.map((v, i) => {
    const c = i % C;
    const y = (v - coef[c]) * coef[C + c] + coef[2 * C + c];
    return relu6 ? Math.min(Math.max(y, 0), 6) : y;
  });
}
