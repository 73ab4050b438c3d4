// Float64 reference for the fused SGD step (PyTorch convention). Tests only.

export interface SgdRefOptions {
  readonly lr: number;
  readonly momentum: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
}

/** Returns the updated weights and momentum buffer. */
export function sgdUpdateRef(
  w: ArrayLike<number>,
  g: ArrayLike<number>,
  m: ArrayLike<number>,
  o: SgdRefOptions,
): { w: Float64Array; m: Float64Array } {
  const wOut = new Float64Array(w.length);
  const mOut = new Float64Array(w.length);
  for (let i = 0; i < w.length; i++) {
    const gd = g[i] + o.weightDecay * w[i];
    mOut[i] = o.momentum * m[i] + gd;
    const step = o.nesterov ? gd + o.momentum * mOut[i] : mOut[i];
    wOut[i] = w[i] - o.lr * step;
  }
  return { w: wOut, m: mOut };
}
