// Lane spread: which column (channel vector) each invocation of a
// column-walking kernel owns.
//
// Several kernels give invocation i column i % cols of an [M, cols] view and
// walk it down the rows (batch norm, the sliding-window depthwise
// convolutions). With neighbouring invocations on neighbouring columns, a
// GPU coalesces each row read. Lavapipe instead runs 8 invocations as one
// SIMD group, loads lane by lane, and runs a workgroup's groups one after
// another: 8 neighbouring columns are 128 bytes of a row, so a group walks
// the rows touching a third of each 384-byte row (96 channels), in 19 or so
// strided streams the CPU does not prefetch, and every line is first
// touched by a group that waits for it from L3 or memory. Dealing the 8
// lanes out across the row (lane k of a group takes columns k * G + j,
// G = cols / 8) makes each group touch every line of every row it reads, in
// order, and the groups that run next find those lines in cache. Measured
// side by side on the 2-core lavapipe machine: 1.1-1.35x for every pass of
// the depthwise kernels at 28x28, C 96-144, batch 64.
//
// The first 8 * G columns are dealt out, the rest keep their order, so
// the map is a bijection on 0..cols-1 for any cols.

import type { Gpu } from "./gpu.ts";

/** The spread on software adapters: lavapipe's SIMD width. */
export const SOFTWARE_SPREAD = 8;

let forced: number | undefined;

/**
 * Forces the lane spread (1: in order) for tests and side-by-side
 * benchmarks; undefined restores the adapter's default. Each spread is its
 * own set of pipelines.
 */
export function setLaneSpread(spread: number | undefined): void {
  if (spread !== undefined && (!Number.isInteger(spread) || spread < 1)) {
    throw new Error(`lane spread must be a positive integer, got ${spread}`);
  }
  forced = spread;
}

/** The SPREAD override constant for a pipeline on this device. */
export function laneSpread(gpu: Gpu): number {
  return forced ?? (gpu.adapter.software ? SOFTWARE_SPREAD : 1);
}

/** WGSL: `override SPREAD` and `spreadColumn(l, cols)`, the map described above. */
export const SPREAD_WGSL = `override SPREAD: u32;  // lanes dealt out across columns (1: in order)

// Column of the l-th invocation among cols (runtime/spread.ts).
fn spreadColumn(l: u32, cols: u32) -> u32 {
  let g = cols / SPREAD;
  return select(l, (l % SPREAD) * g + l / SPREAD, l < SPREAD * g);
}
`;

/** The map of spreadColumn, for tests. */
export function spreadColumn(l: number, cols: number, spread: number): number {
  const g = Math.floor(cols / spread);
  return l < spread * g ? (l % spread) * g + Math.floor(l / spread) : l;
}
