// Float64 references for global average pooling. Used by tests only.
// x: [N, H, W, C] -> y: [N, C].

export function globalAvgPoolRef(shape: readonly number[], x: ArrayLike<number>): Float64Array {
  const [N, H, W, C] = shape;
  const y = new Float64Array(N * C);
  for (let n = 0; n < N; n++) {
    for (let p = 0; p < H * W; p++) {
      for (let c = 0; c < C; c++) y[n * C + c] += x[(n * H * W + p) * C + c];
    }
  }
  return y.map((v) => v / (H * W));
}

/** dx[n, h, w, c] = dy[n, c] / (H * W). */
export function globalAvgPoolBackwardRef(
  shape: readonly number[],
  dy: ArrayLike<number>,
): Float64Array {
  const [N, H, W, C] = shape;
  const dx = new Float64Array(N * H * W * C);
  for (let n = 0; n < N; n++) {
    for (let p = 0; p < H * W; p++) {
      for (let c = 0; c < C; c++) dx[(n * H * W + p) * C + c] = dy[n * C + c] / (H * W);
    }
  }
  return dx;
}
