// Float64 references for the depthwise convolution: plain nested loops with
// same padding P = (K - 1) / 2. Used by tests only.
// x: [N, H, W, C], w: [K, K, C], y: [N, OH, OW, C], OH = floor((H + 2P - K) / S) + 1.

export interface DwconvGeometry {
  readonly N: number;
  readonly H: number;
  readonly W: number;
  readonly C: number;
  readonly K: number;
  readonly S: number;
}

export function dwconvOutSize(size: number, K: number, S: number): number {
  const P = (K - 1) / 2;
  return Math.floor((size + 2 * P - K) / S) + 1;
}

// Calls visit(xi, wi, yi) for every (input, weight, output) product.
function eachTap(g: DwconvGeometry, visit: (xi: number, wi: number, yi: number) => void): void {
  const { N, H, W, C, K, S } = g;
  const P = (K - 1) / 2;
  const OH = dwconvOutSize(H, K, S);
  const OW = dwconvOutSize(W, K, S);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        for (let kh = 0; kh < K; kh++) {
          const ih = oh * S - P + kh;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < K; kw++) {
            const iw = ow * S - P + kw;
            if (iw < 0 || iw >= W) continue;
            const xRow = ((n * H + ih) * W + iw) * C;
            const wRow = (kh * K + kw) * C;
            const yRow = ((n * OH + oh) * OW + ow) * C;
            for (let c = 0; c < C; c++) visit(xRow + c, wRow + c, yRow + c);
          }
        }
      }
    }
  }
}

export function dwconvRef(
  g: DwconvGeometry,
  x: ArrayLike<number>,
  w: ArrayLike<number>,
): Float64Array {
  const y = new Float64Array(
    g.N * dwconvOutSize(g.H, g.K, g.S) * dwconvOutSize(g.W, g.K, g.S) * g.C,
  );
  eachTap(g, (xi, wi, yi) => {
    y[yi] += x[xi] * w[wi];
  });
  return y;
}

export function dwconvBackwardInputRef(
  g: DwconvGeometry,
  dy: ArrayLike<number>,
  w: ArrayLike<number>,
): Float64Array {
  const dx = new Float64Array(g.N * g.H * g.W * g.C);
  eachTap(g, (xi, wi, yi) => {
    dx[xi] += dy[yi] * w[wi];
  });
  return dx;
}

export function dwconvBackwardWeightRef(
  g: DwconvGeometry,
  x: ArrayLike<number>,
  dy: ArrayLike<number>,
): Float64Array {
  const dw = new Float64Array(g.K * g.K * g.C);
  eachTap(g, (xi, wi, yi) => {
    dw[wi] += x[xi] * dy[yi];
  });
  return dw;
}
