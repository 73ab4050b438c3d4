// The exact solver of once-for-all specialization (specialize.ts): a
// dynamic program over layers for the multiple-choice knapsack, keeping
// per layer the partial solutions no other one dominates (lower loss and
// no higher cost on every budgeted key), pruned with suffix bounds on what
// the remaining layers can add.

/** A bound is met within this relative tolerance. */
export const BOUND_RTOL = 1e-9;

export function tol(bound: number): number {
  return BOUND_RTOL * Math.max(1, Math.abs(bound));
}

/** A validated problem; k indexes budgeted keys in budget order. */
export interface KnapsackProblem {
  readonly layers: number;
  readonly loss: readonly (readonly number[])[];
  readonly keys: readonly string[]; // budgeted keys
  readonly cost: readonly (readonly (readonly number[])[])[]; // [k][l][c]
  readonly base: readonly number[]; // [k]
  readonly lo: readonly number[]; // [k], -Infinity when no min
  readonly hi: readonly number[]; // [k], +Infinity when no max
}

/** Partial solutions after some layer, structure of arrays. */
interface Frontier {
  readonly m: number;
  readonly cost: Float64Array; // [m, K]
  readonly loss: Float64Array; // [m]
  readonly parent: Int32Array; // [m], index into the previous frontier
  readonly choice: Int32Array; // [m]
}

/** Per-key Pareto front of the layers from some l on: cost up, loss down. */
interface SuffixFront {
  readonly cost: Float64Array;
  readonly loss: Float64Array;
}

interface Suffix {
  readonly min: number[][]; // [k][l]: least sum_{j >= l} cost[k][j][.]
  readonly max: number[][]; // [k][l]: largest such sum
  readonly loss: number[]; // [l]: least sum_{j >= l} loss[j][.]
  /** [k][l] for keys with a max, when there are several keys; else null. */
  readonly fronts: (SuffixFront[] | null)[] | null;
}

function suffixBounds(p: KnapsackProblem): Suffix {
  const L = p.layers;
  const min = p.keys.map(() => new Array<number>(L + 1).fill(0));
  const max = p.keys.map(() => new Array<number>(L + 1).fill(0));
  const loss = new Array<number>(L + 1).fill(0);
  for (let l = L - 1; l >= 0; l--) {
    loss[l] = loss[l + 1] + Math.min(...p.loss[l]);
    p.keys.forEach((_, k) => {
      min[k][l] = min[k][l + 1] + Math.min(...p.cost[k][l]);
      max[k][l] = max[k][l + 1] + Math.max(...p.cost[k][l]);
    });
  }
  const fronts =
    p.keys.length < 2
      ? null
      : p.keys.map((_, k) => (p.hi[k] < Infinity ? suffixFronts(p, k) : null));
  return { min, max, loss, fronts };
}

/**
 * For key k alone, the least loss of layers l.. for each cost of those
 * layers: fronts[l] lists (cost, loss) with cost rising and loss falling.
 */
function suffixFronts(p: KnapsackProblem, k: number): SuffixFront[] {
  const L = p.layers;
  const fronts = new Array<SuffixFront>(L + 1);
  fronts[L] = { cost: new Float64Array(1), loss: new Float64Array(1) };
  for (let l = L - 1; l >= 0; l--) {
    const next = fronts[l + 1];
    const pairs: [number, number][] = [];
    for (let i = 0; i < next.cost.length; i++) {
      p.cost[k][l].forEach((v, c) => pairs.push([next.cost[i] + v, next.loss[i] + p.loss[l][c]]));
    }
    pairs.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const kept = pairs.filter(
      (() => {
        let best = Infinity;
        return ([, ls]: [number, number]) => (ls < best ? ((best = ls), true) : false);
      })(),
    );
    fronts[l] = {
      cost: Float64Array.from(kept, (e) => e[0]),
      loss: Float64Array.from(kept, (e) => e[1]),
    };
  }
  return fronts;
}

/**
 * A lower bound on the loss of layers l.. given the costs spent so far:
 * for each key with a max, the least loss of the rest within what is left
 * of that max (other bounds relaxed); the largest of these bounds.
 */
function restLossBound(
  p: KnapsackProblem,
  sfx: Suffix,
  l: number,
  cost: Float64Array,
  at: number,
): number {
  let bound = sfx.loss[l];
  sfx.fronts?.forEach((perLayer, k) => {
    if (!perLayer) return;
    const front = perLayer[l];
    const room = p.hi[k] + tol(p.hi[k]) - cost[at + k];
    // Last front entry with cost <= room: the least loss that fits.
    let lo = 0;
    let hi = front.cost.length; // first index with cost > room
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (front.cost[mid] <= room) lo = mid + 1;
      else hi = mid;
    }
    bound = Math.max(bound, lo === 0 ? Infinity : front.loss[lo - 1]);
  });
  return bound;
}

/**
 * Expands every partial solution by every choice of layer l, dropping those
 * that can no longer meet a bound or beat the incumbent loss.
 */
function expand(
  p: KnapsackProblem,
  prev: Frontier,
  l: number,
  sfx: Suffix,
  incumbent: number,
): Frontier {
  const K = p.keys.length;
  const C = p.loss[l].length;
  const cap = prev.m * C;
  const cost = new Float64Array(cap * K);
  const loss = new Float64Array(cap);
  const parent = new Int32Array(cap);
  const choice = new Int32Array(cap);
  const lossCut = incumbent + 1e-12 * Math.max(1, Math.abs(incumbent));

  let m = 0;
  for (let s = 0; s < prev.m; s++) {
    for (let c = 0; c < C; c++) {
      const ls = prev.loss[s] + p.loss[l][c];
      if (ls + sfx.loss[l + 1] > lossCut) continue;
      let ok = true;
      for (let k = 0; k < K && ok; k++) {
        const v = prev.cost[s * K + k] + p.cost[k][l][c];
        cost[m * K + k] = v;
        ok =
          v + sfx.min[k][l + 1] <= p.hi[k] + tol(p.hi[k]) &&
          v + sfx.max[k][l + 1] >= p.lo[k] - tol(p.lo[k]);
      }
      if (!ok) continue;
      if (sfx.fronts && ls + restLossBound(p, sfx, l + 1, cost, m * K) > lossCut) continue;
      loss[m] = ls;
      parent[m] = s;
      choice[m] = c;
      m++;
    }
  }
  return { m, cost, loss, parent, choice };
}

/**
 * Keeps the partial solutions no other one dominates. A dominates B when
 * loss A <= loss B and, on every key, each completion that keeps B within
 * bounds keeps A within bounds too: equal cost; or A cheaper and A cannot
 * fall below the min whatever follows; or A dearer and A cannot pass the
 * max whatever follows. Output is sorted by loss.
 */
function prune(p: KnapsackProblem, f: Frontier, l: number, sfx: Suffix): Frontier {
  const K = p.keys.length;
  const order = Array.from({ length: f.m }, (_, i) => i);
  order.sort((a, b) => f.loss[a] - f.loss[b]); // stable: ties keep (parent, choice)

  // Per state and key: 1 = can't fall below the min, 2 = can't pass the max.
  const safe = new Uint8Array(f.m * K);
  for (let i = 0; i < f.m; i++) {
    for (let k = 0; k < K; k++) {
      const v = f.cost[i * K + k];
      const minSafe = v + sfx.min[k][l + 1] >= p.lo[k] - tol(p.lo[k]);
      const maxSafe = v + sfx.max[k][l + 1] <= p.hi[k] + tol(p.hi[k]);
      safe[i * K + k] = (minSafe ? 1 : 0) | (maxSafe ? 2 : 0);
    }
  }
  const kept = K === 1 ? pruneOneKey(f, order, safe) : pruneManyKeys(f, order, safe, K);
  return select(f, kept, K);
}

function pruneOneKey(f: Frontier, order: number[], safe: Uint8Array): number[] {
  const kept: number[] = [];
  let lowestMinSafe = Infinity; // cheapest kept state that can't fall below min
  let highestMaxSafe = -Infinity; // dearest kept state that can't pass max
  const keptCosts = new Set<number>();
  for (const i of order) {
    const v = f.cost[i];
    if (lowestMinSafe <= v || highestMaxSafe >= v || keptCosts.has(v)) continue;
    kept.push(i);
    keptCosts.add(v);
    if (safe[i] & 1) lowestMinSafe = Math.min(lowestMinSafe, v);
    if (safe[i] & 2) highestMaxSafe = Math.max(highestMaxSafe, v);
  }
  return kept;
}

function pruneManyKeys(f: Frontier, order: number[], safe: Uint8Array, K: number): number[] {
  const kept: number[] = [];
  const dominates = (a: number, b: number): boolean => {
    for (let k = 0; k < K; k++) {
      const va = f.cost[a * K + k];
      const vb = f.cost[b * K + k];
      if (va < vb && !(safe[a * K + k] & 1)) return false;
      if (va > vb && !(safe[a * K + k] & 2)) return false;
    }
    return true;
  };
  for (const i of order) {
    if (!kept.some((a) => dominates(a, i))) kept.push(i);
  }
  return kept;
}

function select(f: Frontier, kept: readonly number[], K: number): Frontier {
  const m = kept.length;
  const out: Frontier = {
    m,
    cost: new Float64Array(m * K),
    loss: new Float64Array(m),
    parent: new Int32Array(m),
    choice: new Int32Array(m),
  };
  kept.forEach((i, j) => {
    out.cost.set(f.cost.subarray(i * K, i * K + K), j * K);
    out.loss[j] = f.loss[i];
    out.parent[j] = f.parent[i];
    out.choice[j] = f.choice[i];
  });
  return out;
}

/** Least-loss arch meeting p's bounds, or null; loss above `incumbent` is cut. */
export function solveDp(p: KnapsackProblem, incumbent: number): number[] | null {
  const sfx = suffixBounds(p);
  let f: Frontier = {
    m: 1,
    cost: Float64Array.from(p.base),
    loss: new Float64Array(1),
    parent: new Int32Array(1),
    choice: new Int32Array(1),
  };
  const trail: Frontier[] = [];
  for (let l = 0; l < p.layers && f.m > 0; l++) {
    f = prune(p, expand(p, f, l, sfx, incumbent), l, sfx);
    trail.push(f);
  }
  if (f.m === 0) return null;

  // Frontiers are sorted by loss: state 0 of the last one is optimal.
  const arch = new Array<number>(p.layers);
  for (let l = p.layers - 1, s = 0; l >= 0; l--) {
    arch[l] = trail[l].choice[s];
    s = trail[l].parent[s];
  }
  return arch;
}
