// Float64 references for the fully connected layer. x: [N, Ci],
// w: [Ci, Co], b: [Co], y: [N, Co], all row-major. Tests only.

export function linearRef(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  b: ArrayLike<number>,
  N: number,
  Ci: number,
  Co: number,
): Float64Array {
  const y = new Float64Array(N * Co);
  for (let n = 0; n < N; n++) {
    for (let co = 0; co < Co; co++) {
      let s = b[co];
      for (let ci = 0; ci < Ci; ci++) s += x[n * Ci + ci] * w[ci * Co + co];
      y[n * Co + co] = s;
    }
  }
  return y;
}

/** dx[n, ci] = sum over co of dy[n, co] * w[ci, co]. */
export function linearBackwardInputRef(
  dy: ArrayLike<number>,
  w: ArrayLike<number>,
  N: number,
  Ci: number,
  Co: number,
): Float64Array {
  const dx = new Float64Array(N * Ci);
  for (let n = 0; n < N; n++) {
    for (let ci = 0; ci < Ci; ci++) {
      let s = 0;
      for (let co = 0; co < Co; co++) s += dy[n * Co + co] * w[ci * Co + co];
      dx[n * Ci + ci] = s;
    }
  }
  return dx;
}

/** dw[ci, co] = sum over n of x[n, ci] * dy[n, co]; db[co] = sum over n of dy[n, co]. */
export function linearBackwardParamsRef(
  x: ArrayLike<number>,
  dy: ArrayLike<number>,
  N: number,
  Ci: number,
  Co: number,
): { dw: Float64Array; db: Float64Array } {
  const dw = new Float64Array(Ci * Co);
  const db = new Float64Array(Co);
  for (let n = 0; n < N; n++) {
    for (let co = 0; co < Co; co++) {
      db[co] += dy[n * Co + co];
      for (let ci = 0; ci < Ci; ci++) dw[ci * Co + co] += x[n * Ci + ci] * dy[n * Co + co];
    }
  }
  return { dw, db };
}
