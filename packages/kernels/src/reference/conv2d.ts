// Float64 references for the dense KxK convolution with same padding
// P = (K - 1) / 2. x: [N, H, W, Ci], w: [K, K, Ci, Co], y: [N, OH, OW, Co],
// all row-major (NHWC). Tests only.

export interface Conv2dDims {
  readonly N: number;
  readonly H: number;
  readonly W: number;
  readonly CI: number;
  readonly CO: number;
  readonly K: number;
  readonly S: number;
}

export function conv2dOutDims(d: Conv2dDims): [number, number] {
  const pad = (d.K - 1) / 2;
  const out = (size: number): number => Math.floor((size + 2 * pad - d.K) / d.S) + 1;
  return [out(d.H), out(d.W)];
}

/**
 * Calls f(xIndex, wIndex, yIndex) for every tap that reads inside the image;
 * forward and both gradients are sums over exactly these triples.
 */
function forEachTap(d: Conv2dDims, f: (xi: number, wi: number, yi: number) => void): void {
  const [OH, OW] = conv2dOutDims(d);
  const pad = (d.K - 1) / 2;
  for (let n = 0; n < d.N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        for (let kh = 0; kh < d.K; kh++) {
          const ih = oh * d.S + kh - pad;
          if (ih < 0 || ih >= d.H) continue;
          for (let kw = 0; kw < d.K; kw++) {
            const iw = ow * d.S + kw - pad;
            if (iw < 0 || iw >= d.W) continue;
            for (let ci = 0; ci < d.CI; ci++) {
              for (let co = 0; co < d.CO; co++) {
                const xi = ((n * d.H + ih) * d.W + iw) * d.CI + ci;
                const wi = ((kh * d.K + kw) * d.CI + ci) * d.CO + co;
                const yi = ((n * OH + oh) * OW + ow) * d.CO + co;
                f(xi, wi, yi);
              }
            }
          }
        }
      }
    }
  }
}

export function conv2dRef(x: ArrayLike<number>, w: ArrayLike<number>, d: Conv2dDims): Float64Array {
  const [OH, OW] = conv2dOutDims(d);
  const y = new Float64Array(d.N * OH * OW * d.CO);
  forEachTap(d, (xi, wi, yi) => {
    y[yi] += x[xi] * w[wi];
  });
  return y;
}

export function conv2dBackwardInputRef(
  dy: ArrayLike<number>,
  w: ArrayLike<number>,
  d: Conv2dDims,
): Float64Array {
  const dx = new Float64Array(d.N * d.H * d.W * d.CI);
  forEachTap(d, (xi, wi, yi) => {
    dx[xi] += dy[yi] * w[wi];
  });
  return dx;
}

export function conv2dBackwardWeightRef(
  x: ArrayLike<number>,
  dy: ArrayLike<number>,
  d: Conv2dDims,
): Float64Array {
  const dw = new Float64Array(d.K * d.K * d.CI * d.CO);
  forEachTap(d, (xi, wi, yi) => {
    dw[wi] += x[xi] * dy[yi];
  });
  return dw;
}
