// Architectures drawn evenly over the cost range, for rank-correlation
// studies: [min, max] MAdds of the space is cut into `count` equal-width
// bins and each bin gets one architecture. A draw starts from a uniform
// random architecture and moves one layer at a time towards the bin (a
// random layer, its choice that lands nearest the bin centre) until it lies
// inside; a bin that resists `maxTries` draws is reported, not filled
// silently with a neighbour.

import { Rng } from "@fairnas/kernels";
import { archToString, randomArch, type Arch } from "../space/arch.ts";
import { blockCost, costOf } from "../space/cost.ts";
import type { ResolvedSpace } from "../space/spec.ts";

const STRATIFIED_STREAM = 0x57a7;

export interface StratifiedOptions {
  readonly count: number;
  readonly seed: number;
  /** Architecture strings never returned (e.g. those used for tuning). */
  readonly exclude?: ReadonlySet<string>;
  /** Draws per bin before the bin is given up. */
  readonly maxTries?: number;
}

export interface CostBin {
  readonly lo: number;
  readonly hi: number;
}

export type StratifiedResult =
  | {
      readonly ok: true;
      readonly archs: readonly Arch[];
      readonly bins: readonly CostBin[];
      readonly tries: number;
    }
  | {
      readonly ok: false;
      readonly message: string;
      readonly archs: readonly Arch[];
      readonly bins: readonly CostBin[];
      readonly tries: number;
    };

/** Smallest and largest MAdds over the whole space (costs add per layer). */
export function maddsRange(space: ResolvedSpace): { min: number; max: number } {
  const m = space.spec.choices.length;
  const base = costOf(
    space,
    space.layers.map(() => 0),
  );
  let min = base.madds;
  let max = base.madds;
  space.layers.forEach((_, l) => {
    const c = Array.from({ length: m }, (_, k) => blockCost(space, l, k).madds);
    const at0 = c[0];
    min += Math.min(...c) - at0;
    max += Math.max(...c) - at0;
  });
  return { min, max };
}

/**
 * How many distinct MAdds values the space's architectures take, counted
 * up to `cap` (a layer-by-layer set of partial sums, cut off once it holds
 * `cap` values, so the cost stays near cap * choices * layers). No more
 * than this many cost bins can ever hold an architecture.
 */
export function distinctMadds(space: ResolvedSpace, cap: number): number {
  const m = space.spec.choices.length;
  const base = costOf(
    space,
    space.layers.map(() => 0),
  ).madds;
  let sums = new Set<number>([base]);
  for (let l = 0; l < space.layers.length; l++) {
    const c = Array.from({ length: m }, (_, k) => blockCost(space, l, k).madds);
    const deltas = [...new Set(c.map((v) => v - c[0]))];
    const next = new Set<number>();
    for (const s of sums) {
      for (const d of deltas) next.add(s + d);
      if (next.size >= cap) return cap;
    }
    sums = next;
  }
  return sums.size;
}

export function stratifiedSample(space: ResolvedSpace, opts: StratifiedOptions): StratifiedResult {
  const { count, seed } = opts;
  if (!Number.isInteger(count) || count < 1)
    throw new Error(`stratifiedSample: count must be an integer >= 1, got ${count}`);
  const maxTries = opts.maxTries ?? 200;
  const exclude = opts.exclude ?? new Set<string>();
  const { min, max } = maddsRange(space);
  const width = (max - min) / count;
  const bins = Array.from({ length: count }, (_, b) => ({
    lo: min + b * width,
    hi: b === count - 1 ? max : min + (b + 1) * width,
  }));
  const table = space.layers.map((_, l) =>
    space.spec.choices.map((__, c) => blockCost(space, l, c).madds),
  );
  const rng = Rng.derive(seed, STRATIFIED_STREAM);
  const seen = new Set<string>();
  const archs: Arch[] = [];
  const failed: number[] = [];
  let tries = 0;
  for (const [b, bin] of bins.entries()) {
    let found: Arch | null = null;
    for (let t = 0; t < maxTries && !found; t++) {
      tries++;
      const a = drawInBin(space, table, bin, b === count - 1, rng);
      const key = a ? archToString(space, a) : "";
      if (a && !seen.has(key) && !exclude.has(key)) found = a;
    }
    if (!found) {
      failed.push(b);
      continue;
    }
    seen.add(archToString(space, found));
    archs.push(found);
  }
  if (failed.length === 0) return { ok: true, archs, bins, tries };
  const list = failed
    .map((b) => `[${(bins[b].lo / 1e6).toFixed(3)}, ${(bins[b].hi / 1e6).toFixed(3)}] M`)
    .join(", ");
  return {
    ok: false,
    message:
      `${failed.length} of ${count} MAdds bins left empty after ${maxTries} draws each: ` + list,
    archs,
    bins,
    tries,
  };
}

function inBin(v: number, bin: CostBin, last: boolean): boolean {
  return v >= bin.lo && (last ? v <= bin.hi : v < bin.hi);
}

// One draw: a random start, then greedy single-layer moves towards the bin centre.
function drawInBin(
  space: ResolvedSpace,
  table: number[][],
  bin: CostBin,
  last: boolean,
  rng: Rng,
): Arch | null {
  const a = [...randomArch(space, rng)];
  let madds = costOf(space, a).madds;
  const centre = (bin.lo + bin.hi) / 2;
  const L = a.length;
  for (let move = 0; move < 4 * L && !inBin(madds, bin, last); move++) {
    const l = rng.int(L);
    const options = table[l].map((v, c) => ({ c, v: madds - table[l][a[l]] + v }));
    // Among choices that land nearest the centre, a random one (ties are common).
    const best = Math.min(...options.map((o) => Math.abs(o.v - centre)));
    const near = options.filter((o) => Math.abs(o.v - centre) === best);
    const pick = near[rng.int(near.length)];
    a[l] = pick.c;
    madds = pick.v;
  }
  return inBin(madds, bin, last) ? Object.freeze(a) : null;
}
