// Float64 reference for inverted dropout, bit-exact in its mask with
// dropout.forward.wgsl (same hash of (seed, element index)). Tests only.

export function mix32(v: number): number {
  let h = v >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  h = Math.imul(h, 0x7feb352d) >>> 0;
  h = (h ^ (h >>> 15)) >>> 0;
  h = Math.imul(h, 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** The per-seed key the kernel receives. */
export function dropoutKey(seed: number): number {
  return mix32((seed ^ 0x9e3779b9) >>> 0);
}

/** Drop threshold on the hash's top 24 bits. */
export function dropoutThreshold(rate: number): number {
  return Math.round(rate * 2 ** 24);
}

/** 1 where element e is kept, 0 where dropped. */
export function dropoutMaskRef(count: number, rate: number, seed: number): Uint8Array {
  const key = dropoutKey(seed);
  const threshold = dropoutThreshold(rate);
  const mask = new Uint8Array(count);
  for (let e = 0; e < count; e++) {
    const h = mix32((mix32((e ^ key) >>> 0) + key) >>> 0);
    mask[e] = h >>> 8 >= threshold ? 1 : 0;
  }
  return mask;
}

export function dropoutRef(x: ArrayLike<number>, rate: number, seed: number): Float64Array {
  const mask = dropoutMaskRef(x.length, rate, seed);
  return Float64Array.from(x, (v, i) => (mask[i] ? v / (1 - rate) : 0));
}
