// Float64 references for the element-wise ops. Used by tests only.

export function relu6Ref(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v) => Math.min(Math.max(v, 0), 6));
}

export function relu6BackwardRef(x: ArrayLike<number>, dy: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v, i) => (v > 0 && v < 6 ? dy[i] : 0));
}
