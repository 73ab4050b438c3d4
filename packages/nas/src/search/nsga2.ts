// NSGA-II building blocks: non-dominated sorting, crowding distance,
// constrained domination, tournament, variation and elitist selection.
//
// Sign convention: every objective here is MINIMIZED. Callers negate what
// they want to maximize (the search driver passes -top1, madds, params).
// A violation is a non-negative number; 0 means feasible.

import type { Rng } from "@fairnas/kernels";

/** Pareto domination for minimization: no worse everywhere, better once. */
export function dominates(a: readonly number[], b: readonly number[]): boolean {
  let better = false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] > b[i]) return false;
    if (a[i] < b[i]) better = true;
  }
  return better;
}

/**
 * Deb's constrained domination: a feasible point beats an infeasible one;
 * of two infeasible points the smaller total violation wins; two feasible
 * points compare by Pareto domination.
 */
export function constrainedDominates(
  a: readonly number[],
  b: readonly number[],
  va: number,
  vb: number,
): boolean {
  if (va <= 0 && vb <= 0) return dominates(a, b);
  if (va <= 0) return true;
  if (vb <= 0) return false;
  return va < vb;
}

/**
 * Fronts of indices into `objs`, best first. With `violations` (one per
 * point) domination is constrained; without, every point is feasible.
 */
export function fastNonDominatedSort(
  objs: readonly (readonly number[])[],
  violations?: readonly number[],
): number[][] {
  const n = objs.length;
  const v = violations ?? new Array<number>(n).fill(0);
  const beats: number[][] = Array.from({ length: n }, () => []);
  const beatenBy = new Array<number>(n).fill(0);

  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (constrainedDominates(objs[i], objs[j], v[i], v[j])) {
        beats[i].push(j);
        beatenBy[j]++;
      } else if (constrainedDominates(objs[j], objs[i], v[j], v[i])) {
        beats[j].push(i);
        beatenBy[i]++;
      }
    }
  }

  // Peel fronts: a point joins the next front once all its dominators left.
  const fronts: number[][] = [];
  let current = [...Array(n).keys()].filter((i) => beatenBy[i] === 0);
  while (current.length > 0) {
    fronts.push(current);
    const next: number[] = [];
    for (const i of current) {
      for (const j of beats[i]) if (--beatenBy[j] === 0) next.push(j);
    }
    current = next.sort((a, b) => a - b);
  }
  return fronts;
}

/**
 * Crowding distance of each member of `front` (aligned with `front`).
 * Boundary points of any objective get Infinity; interior points add, per
 * objective, the gap between their neighbours divided by that objective's
 * range over the front. An objective with zero range adds nothing.
 */
export function crowdingDistance(
  objs: readonly (readonly number[])[],
  front: readonly number[],
): number[] {
  const n = front.length;
  const d = new Array<number>(n).fill(0);
  if (n === 0) return d;
  const M = objs[front[0]].length;

  for (let m = 0; m < M; m++) {
    // order: positions into `front`, sorted by objective m (stable).
    const order = [...Array(n).keys()].sort(
      (a, b) => objs[front[a]][m] - objs[front[b]][m] || a - b,
    );
    const lo = objs[front[order[0]]][m];
    const hi = objs[front[order[n - 1]]][m];
    d[order[0]] = Infinity;
    d[order[n - 1]] = Infinity;
    if (hi - lo <= 0) continue;
    for (let k = 1; k < n - 1; k++) {
      const gap = objs[front[order[k + 1]]][m] - objs[front[order[k - 1]]][m];
      d[order[k]] += gap / (hi - lo);
    }
  }
  return d;
}

export interface RankCrowding {
  /** rank[i]: index of the front holding point i (0 is best). */
  readonly rank: number[];
  /** crowd[i]: crowding distance of point i within its front. */
  readonly crowd: number[];
  readonly fronts: number[][];
}

export function rankAndCrowding(
  objs: readonly (readonly number[])[],
  violations?: readonly number[],
): RankCrowding {
  const fronts = fastNonDominatedSort(objs, violations);
  const rank = new Array<number>(objs.length).fill(0);
  const crowd = new Array<number>(objs.length).fill(0);
  fronts.forEach((front, r) => {
    const d = crowdingDistance(objs, front);
    front.forEach((i, k) => {
      rank[i] = r;
      crowd[i] = d[k];
    });
  });
  return { rank, crowd, fronts };
}

/** True when point i is preferred to point j: lower rank, then wider crowding. */
export function crowdedBetter(rc: RankCrowding, i: number, j: number): boolean {
  if (rc.rank[i] !== rc.rank[j]) return rc.rank[i] < rc.rank[j];
  return rc.crowd[i] > rc.crowd[j];
}

/** Binary tournament on (rank, crowding); returns the winner's index. */
export function tournament(rng: Rng, rc: RankCrowding): number {
  const n = rc.rank.length;
  const i = rng.int(n);
  const j = rng.int(n);
  if (crowdedBetter(rc, i, j)) return i;
  if (crowdedBetter(rc, j, i)) return j;
  return rng.next() < 0.5 ? i : j;
}

/** Uniform crossover: each layer's choice comes from either parent with p = 1/2. */
export function uniformCrossover(rng: Rng, a: readonly number[], b: readonly number[]): number[] {
  if (a.length !== b.length) {
    throw new Error(`uniformCrossover: parents have ${a.length} and ${b.length} layers`);
  }
  return a.map((x, l) => (rng.next() < 0.5 ? x : b[l]));
}

/**
 * Per-layer mutation: each layer, with probability `rate`, moves to a
 * different choice drawn uniformly from the other numChoices - 1.
 */
export function mutateLayers(
  rng: Rng,
  arch: readonly number[],
  numChoices: number,
  rate: number,
): number[] {
  return arch.map((c) => {
    if (numChoices < 2 || rng.next() >= rate) return c;
    const other = rng.int(numChoices - 1);
    return other >= c ? other + 1 : other;
  });
}

/**
 * Elitist environmental selection: indices of the `size` survivors of
 * `objs`, whole fronts first, the last partial front cut by descending
 * crowding distance (ties by lower index). Survivors are in front order.
 */
export function environmentalSelection(
  objs: readonly (readonly number[])[],
  size: number,
  violations?: readonly number[],
): number[] {
  const kept: number[] = [];
  for (const front of fastNonDominatedSort(objs, violations)) {
    if (kept.length + front.length <= size) {
      kept.push(...front);
      continue;
    }
    const d = crowdingDistance(objs, front);
    const order = [...front.keys()].sort((a, b) => d[b] - d[a] || front[a] - front[b]);
    for (const k of order.slice(0, size - kept.length)) kept.push(front[k]);
    break;
  }
  return kept;
}
