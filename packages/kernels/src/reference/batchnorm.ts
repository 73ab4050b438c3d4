// Float64 references for batch norm over [M, C] (all leading dims folded
// into M). Used by tests only.

export interface BnRefResult {
  readonly y: Float64Array; // [M, C]
  readonly mean: Float64Array; // [C] batch mean
  readonly variance: Float64Array; // [C] biased batch variance
  readonly invStd: Float64Array; // [C]
  readonly runningMean: Float64Array;
  readonly runningVar: Float64Array;
}

export interface BnRefParams {
  readonly gamma: ArrayLike<number>;
  readonly beta: ArrayLike<number>;
  readonly runningMean: ArrayLike<number>;
  readonly runningVar: ArrayLike<number>;
}

/** Two-pass mean and biased variance per channel. */
export function batchNormStatsRef(
  x: ArrayLike<number>,
  M: number,
  C: number,
): { mean: Float64Array; variance: Float64Array } {
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  for (let r = 0; r < M; r++) for (let c = 0; c < C; c++) mean[c] += x[r * C + c];
  for (let c = 0; c < C; c++) mean[c] /= M;
  for (let r = 0; r < M; r++) {
    for (let c = 0; c < C; c++) variance[c] += (x[r * C + c] - mean[c]) ** 2;
  }
  for (let c = 0; c < C; c++) variance[c] /= M;
  return { mean, variance };
}

function applyRef(
  x: ArrayLike<number>,
  M: number,
  C: number,
  mean: ArrayLike<number>,
  invStd: ArrayLike<number>,
  p: BnRefParams,
  relu6: boolean,
): Float64Array {
  const y = new Float64Array(M * C);
  for (let r = 0; r < M; r++) {
    for (let c = 0; c < C; c++) {
      const v = (x[r * C + c] - mean[c]) * invStd[c] * p.gamma[c] + p.beta[c];
      y[r * C + c] = relu6 ? Math.min(Math.max(v, 0), 6) : v;
    }
  }
  return y;
}

export function batchNormTrainRef(
  x: ArrayLike<number>,
  M: number,
  C: number,
  p: BnRefParams,
  opts: { readonly momentum: number; readonly eps: number; readonly relu6?: boolean },
): BnRefResult {
  const { mean, variance } = batchNormStatsRef(x, M, C);
  const invStd = variance.map((v) => 1 / Math.sqrt(v + opts.eps));
  const k = opts.momentum;
  const runningMean = Float64Array.from(mean, (m, c) => (1 - k) * p.runningMean[c] + k * m);
  const runningVar = Float64Array.from(
    variance,
    (v, c) => (1 - k) * p.runningVar[c] + (k * v * M) / (M - 1),
  );
  const y = applyRef(x, M, C, mean, invStd, p, opts.relu6 ?? false);
  return { y, mean, variance, invStd, runningMean, runningVar };
}

export function batchNormInferRef(
  x: ArrayLike<number>,
  M: number,
  C: number,
  p: BnRefParams,
  opts: { readonly eps: number; readonly relu6?: boolean },
): Float64Array {
  const invStd = Float64Array.from(p.runningVar, (v) => 1 / Math.sqrt(v + opts.eps));
  return applyRef(x, M, C, p.runningMean, invStd, p, opts.relu6 ?? false);
}

/** Training-mode backward: gradients of sum(dy * y) w.r.t. x, gamma, beta. */
export function batchNormBackwardRef(
  x: ArrayLike<number>,
  dy: ArrayLike<number>,
  M: number,
  C: number,
  p: BnRefParams,
  opts: { readonly eps: number; readonly relu6?: boolean },
): { dx: Float64Array; dgamma: Float64Array; dbeta: Float64Array } {
  const { mean, variance } = batchNormStatsRef(x, M, C);
  const invStd = variance.map((v) => 1 / Math.sqrt(v + opts.eps));
  const z = applyRef(x, M, C, mean, invStd, p, false);

  // g: upstream gradient through the optional ReLU6.
  const g = Float64Array.from(dy, (v, i) => (!opts.relu6 || (z[i] > 0 && z[i] < 6) ? v : 0));
  const dgamma = new Float64Array(C);
  const dbeta = new Float64Array(C);
  for (let r = 0; r < M; r++) {
    for (let c = 0; c < C; c++) {
      const i = r * C + c;
      dbeta[c] += g[i];
      dgamma[c] += g[i] * (x[i] - mean[c]) * invStd[c];
    }
  }

  const dx = new Float64Array(M * C);
  for (let r = 0; r < M; r++) {
    for (let c = 0; c < C; c++) {
      const i = r * C + c;
      const xhat = (x[i] - mean[c]) * invStd[c];
      dx[i] = ((p.gamma[c] * invStd[c]) / M) * (M * g[i] - dbeta[c] - xhat * dgamma[c]);
    }
  }
  return { dx, dgamma, dbeta };
}
