// Float64 reference for softmax cross-entropy with label smoothing. Tests only.

export interface CeRef {
  readonly loss: Float64Array; // [N] per-example loss
  readonly correct: Float64Array; // [N] 1 where the arg-max (lowest index on ties) is the label
  readonly dlogits: Float64Array; // [N, K] d(mean loss)/dlogits
}

export function softmaxCrossEntropyRef(
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
  N: number,
  K: number,
  smoothing: number,
): CeRef {
  const loss = new Float64Array(N);
  const correct = new Float64Array(N);
  const dlogits = new Float64Array(N * K);
  for (let n = 0; n < N; n++) {
    const row = Array.from({ length: K }, (_, k) => logits[n * K + k]);
    const m = Math.max(...row);
    const arg = row.indexOf(m);
    const s = row.reduce((acc, v) => acc + Math.exp(v - m), 0);
    const label = labels[n];
    for (let k = 0; k < K; k++) {
      const t = (k === label ? 1 - smoothing : 0) + smoothing / K;
      const logp = row[k] - m - Math.log(s);
      loss[n] -= t * logp;
      dlogits[n * K + k] = (Math.exp(logp) - t) / N;
    }
    correct[n] = arg === label ? 1 : 0;
  }
  return { loss, correct, dlogits };
}
