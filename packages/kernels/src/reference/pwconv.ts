// Float64 references for the pointwise (1x1) convolution, a GEMM over M
// rows. x: [M, Ci], w: [Ci, Co], y: [M, Co], all row-major. Tests only.

export function pwconvRef(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  M: number,
  Ci: number,
  Co: number,
): Float64Array {
  const y = new Float64Array(M * Co);
  for (let m = 0; m < M; m++) {
    for (let co = 0; co < Co; co++) {
      let s = 0;
      for (let ci = 0; ci < Ci; ci++) s += x[m * Ci + ci] * w[ci * Co + co];
      y[m * Co + co] = s;
    }
  }
  return y;
}

/** dx[m, ci] = sum over co of dy[m, co] * w[ci, co]. */
export function pwconvBackwardInputRef(
  dy: ArrayLike<number>,
  w: ArrayLike<number>,
  M: number,
  Ci: number,
  Co: number,
): Float64Array {
  const dx = new Float64Array(M * Ci);
  for (let m = 0; m < M; m++) {
    for (let ci = 0; ci < Ci; ci++) {
      let s = 0;
      for (let co = 0; co < Co; co++) s += dy[m * Co + co] * w[ci * Co + co];
      dx[m * Ci + ci] = s;
    }
  }
  return dx;
}

/** dw[ci, co] = sum over m of x[m, ci] * dy[m, co]. */
export function pwconvBackwardWeightRef(
  x: ArrayLike<number>,
  dy: ArrayLike<number>,
  M: number,
  Ci: number,
  Co: number,
): Float64Array {
  const dw = new Float64Array(Ci * Co);
  for (let m = 0; m < M; m++) {
    for (let ci = 0; ci < Ci; ci++) {
      for (let co = 0; co < Co; co++) dw[ci * Co + co] += x[m * Ci + ci] * dy[m * Co + co];
    }
  }
  return dw;
}
