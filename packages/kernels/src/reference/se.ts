// Float64 references for the squeeze-and-excitation pieces. Tests only.
// x: [N, HW, C] flattened, s: [N, C].

export function channelScaleRef(
  x: ArrayLike<number>,
  s: ArrayLike<number>,
  N: number,
  HW: number,
  C: number,
): Float64Array {
  const y = new Float64Array(N * HW * C);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < HW; k++) {
      for (let c = 0; c < C; c++) {
        const i = (n * HW + k) * C + c;
        y[i] = x[i] * s[n * C + c];
      }
    }
  }
  return y;
}

export function channelScaleBackwardRef(
  x: ArrayLike<number>,
  s: ArrayLike<number>,
  dy: ArrayLike<number>,
  N: number,
  HW: number,
  C: number,
): { dx: Float64Array; ds: Float64Array } {
  const dx = channelScaleRef(dy, s, N, HW, C);
  const ds = new Float64Array(N * C);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < HW; k++) {
      for (let c = 0; c < C; c++) {
        const i = (n * HW + k) * C + c;
        ds[n * C + c] += dy[i] * x[i];
      }
    }
  }
  return { dx, ds };
}

export function sigmoidRef(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v) => 1 / (1 + Math.exp(-v)));
}

export function sigmoidBackwardRef(y: ArrayLike<number>, dy: ArrayLike<number>): Float64Array {
  return Float64Array.from(y, (v, i) => dy[i] * v * (1 - v));
}

export function reluRef(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v) => Math.max(v, 0));
}

export function reluBackwardRef(x: ArrayLike<number>, dy: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v, i) => (v > 0 ? dy[i] : 0));
}
