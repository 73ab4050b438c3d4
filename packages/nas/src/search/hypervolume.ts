// Exact hypervolume for 2 or 3 minimized objectives: the measure of the
// region dominated by the points and bounded above by the reference point.
// Points that do not strictly beat the reference in every objective add
// nothing and are dropped first.

function usable(points: readonly (readonly number[])[], ref: readonly number[]): number[][] {
  return points
    .filter((p) => p.length === ref.length && p.every((x, i) => x < ref[i]))
    .map((p) => [...p]);
}

/** 2-D sweep: sort by f0, add the strip each new f1 minimum opens. */
function hv2(points: number[][], ref: readonly number[]): number {
  const sorted = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let area = 0;
  let bestY = ref[1];
  for (const [x, y] of sorted) {
    if (y >= bestY) continue;
    area += (ref[0] - x) * (bestY - y);
    bestY = y;
  }
  return area;
}

/**
 * 3-D slicing along f2: between consecutive f2 levels the dominated
 * cross-section is the 2-D hypervolume of the points already reached.
 * O(n^2 log n), ample for population-sized sets.
 */
function hv3(points: number[][], ref: readonly number[]): number {
  const sorted = [...points].sort((a, b) => a[2] - b[2]);
  let volume = 0;
  for (let k = 0; k < sorted.length; k++) {
    const zTop = k + 1 < sorted.length ? sorted[k + 1][2] : ref[2];
    const depth = zTop - sorted[k][2];
    if (depth <= 0) continue;
    volume += hv2(sorted.slice(0, k + 1), ref) * depth;
  }
  return volume;
}

/** Hypervolume of `points` (all minimized) w.r.t. `ref`; 1 to 3 objectives. */
export function hypervolume(
  points: readonly (readonly number[])[],
  ref: readonly number[],
): number {
  const pts = usable(points, ref);
  if (pts.length === 0) return 0;
  switch (ref.length) {
    case 1:
      return ref[0] - Math.min(...pts.map((p) => p[0]));
    case 2:
      return hv2(pts, ref);
    case 3:
      return hv3(pts, ref);
    default:
      throw new Error(`hypervolume: supports 1-3 objectives, got ref of length ${ref.length}`);
  }
}
