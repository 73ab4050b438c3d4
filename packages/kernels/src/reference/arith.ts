// Float64 references for element-wise arithmetic. Used by tests only.

export function addRef(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  return Float64Array.from(a, (v, i) => v + b[i]);
}

export function scaleRef(a: ArrayLike<number>, s: number): Float64Array {
  return Float64Array.from(a, (v) => v * s);
}
