// Once-for-all specialization of a PONAS candidate table: choose one
// candidate per searchable layer so that the summed accuracy loss is least
// while additive costs (madds, params, latencyMs, ...) stay inside budgets.
// This is a multiple-choice knapsack; `specializeExact` solves it by dynamic
// programming over layers with dominance pruning, `specializeGreedy` by
// swaps from the zero-loss startpoint.
//
// Costs of an architecture: base[key] + sum_l costs[key][l][arch[l]], summed
// in layer order by every routine here so equal choices give equal floats.
// A bound is met within a relative tolerance of 1e-9 (BOUND_RTOL). The
// exact dynamic program is in specialize-dp.ts.

import { solveDp, tol, type KnapsackProblem } from "./specialize-dp.ts";

export interface Budget {
  readonly key: string;
  readonly max?: number;
  readonly min?: number;
}

export interface SpecializeInput {
  readonly loss: number[][]; // [layers][choices], accuracy loss >= 0
  readonly costs: Record<string, number[][]>; // key -> [layers][choices]
  readonly base: Record<string, number>; // key -> cost outside the layers
  readonly budgets: readonly Budget[];
}

export type Specialized =
  | {
      readonly feasible: true;
      readonly arch: number[];
      readonly predictedLoss: number;
      readonly costs: Record<string, number>;
      /** The tightest budget key, or null when no budget shapes the arch. */
      readonly binding: string | null;
    }
  | {
      readonly feasible: false;
      readonly message: string;
      /** Cheapest achievable cost per budgeted key. */
      readonly minimum: Record<string, number>;
    };

export interface SweepPoint {
  readonly budget: number;
  readonly exact: Specialized;
  readonly greedy: Specialized;
}

const BINDING_SLACK = 0.01; // a bound within 1% counts as tight

/** Validated problem, with the input it came from. */
interface Problem extends KnapsackProblem {
  readonly input: SpecializeInput;
}

// Integers (MAdds, params) exactly: rounded, a bound and the achievable
// cost it misses could print as the same number.
function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
}

// ---------------------------------------------------------------------------
// Validation.

function checkGrid(
  name: string,
  what: string,
  grid: readonly (readonly number[])[] | undefined,
  loss: readonly (readonly number[])[],
): void {
  const shape = `[${loss.length}, ${loss.map((r) => r.length).join("|")}]`;
  if (!grid || grid.length !== loss.length) {
    throw new Error(
      `${name}: ${what} has ${grid?.length ?? 0} rows, loss has ${loss.length} ` +
        `(loss shape ${shape})`,
    );
  }
  grid.forEach((row, l) => {
    if (row.length !== loss[l].length) {
      throw new Error(
        `${name}: ${what} row ${l} has ${row.length} choices, loss has ${loss[l].length}`,
      );
    }
    row.forEach((v, c) => {
      if (!Number.isFinite(v)) {
        throw new Error(`${name}: ${what}[${l}][${c}] is not finite (${v})`);
      }
    });
  });
}

function checkBudget(name: string, input: SpecializeInput, b: Budget): void {
  if (!(b.key in input.costs)) {
    const have = Object.keys(input.costs).join(", ");
    throw new Error(`${name}: budget key "${b.key}" has no costs (have: ${have})`);
  }
  if (b.max === undefined && b.min === undefined) {
    throw new Error(`${name}: budget "${b.key}" has neither max nor min`);
  }
  for (const v of [b.max, b.min]) {
    if (v !== undefined && !Number.isFinite(v)) {
      throw new Error(`${name}: budget "${b.key}" bound ${v} is not finite`);
    }
  }
}

function prepare(name: string, input: SpecializeInput): Problem {
  const { loss } = input;
  if (loss.length === 0 || loss.some((row) => row.length === 0)) {
    throw new Error(`${name}: loss needs >= 1 layer and >= 1 choice per layer`);
  }
  checkGrid(name, "loss", loss, loss);
  for (const [key, grid] of Object.entries(input.costs)) {
    checkGrid(name, `costs.${key}`, grid, loss);
  }
  for (const [key, v] of Object.entries(input.base)) {
    if (!Number.isFinite(v)) throw new Error(`${name}: base.${key} is not finite (${v})`);
  }

  const seen = new Set<string>();
  for (const b of input.budgets) {
    checkBudget(name, input, b);
    if (seen.has(b.key)) throw new Error(`${name}: budget key "${b.key}" given twice`);
    seen.add(b.key);
  }
  const keys = input.budgets.map((b) => b.key);
  return {
    layers: loss.length,
    loss,
    keys,
    cost: keys.map((k) => input.costs[k]),
    base: keys.map((k) => input.base[k] ?? 0), // NOTE: a missing base is 0
    lo: input.budgets.map((b) => b.min ?? -Infinity),
    hi: input.budgets.map((b) => b.max ?? Infinity),
    input,
  };
}

// ---------------------------------------------------------------------------
// Shared helpers.

/** base + sum of per-layer costs, in layer order, for every known key. */
function allCosts(input: SpecializeInput, arch: readonly number[]): Record<string, number> {
  const out: Record<string, number> = {};
  const keys = new Set([...Object.keys(input.costs), ...Object.keys(input.base)]);
  for (const key of keys) {
    let v = input.base[key] ?? 0;
    const grid = input.costs[key];
    if (grid) for (let l = 0; l < arch.length; l++) v += grid[l][arch[l]];
    out[key] = v;
  }
  return out;
}

function keyCost(p: Problem, k: number, arch: readonly number[]): number {
  let v = p.base[k];
  for (let l = 0; l < p.layers; l++) v += p.cost[k][l][arch[l]];
  return v;
}

function archLoss(p: Problem, arch: readonly number[]): number {
  let v = 0;
  for (let l = 0; l < p.layers; l++) v += p.loss[l][arch[l]];
  return v;
}

/** Per layer, the choice minimizing `f`; ties go to the lower loss. */
function argminArch(p: Problem, f: (l: number, c: number) => number): number[] {
  return p.loss.map((row, l) => {
    let best = 0;
    for (let c = 1; c < row.length; c++) {
      const d = f(l, c) - f(l, best);
      if (d < 0 || (d === 0 && row[c] < row[best])) best = c;
    }
    return best;
  });
}

/** Cheapest and dearest achievable cost of budgeted key k. */
function achievable(p: Problem, k: number): { min: number; max: number } {
  let min = p.base[k];
  let max = p.base[k];
  for (const row of p.cost[k]) {
    min += Math.min(...row);
    max += Math.max(...row);
  }
  return { min, max };
}

function minimumRecord(p: Problem): Record<string, number> {
  const out: Record<string, number> = {};
  p.keys.forEach((key, k) => (out[key] = achievable(p, k).min));
  return out;
}

/** A bound no architecture can meet, by itself; null if each one can. */
function singleBoundFailure(p: Problem): string | null {
  const reasons: string[] = [];
  p.keys.forEach((key, k) => {
    const { min, max } = achievable(p, k);
    if (p.lo[k] > p.hi[k]) {
      reasons.push(`${key} min ${fmt(p.lo[k])} exceeds its max ${fmt(p.hi[k])}`);
    } else if (min > p.hi[k] + tol(p.hi[k])) {
      reasons.push(
        `${key} max ${fmt(p.hi[k])} is below the minimum achievable ${key} ` +
          `${fmt(min)} (base ${fmt(p.base[k])} + cheapest choice per layer)`,
      );
    } else if (max < p.lo[k] - tol(p.lo[k])) {
      reasons.push(`${key} min ${fmt(p.lo[k])} is above the maximum achievable ${key} ${fmt(max)}`);
    }
  });
  return reasons.length > 0 ? reasons.join("; ") : null;
}

function infeasible(p: Problem, jointReason: string): Specialized {
  const minimum = minimumRecord(p);
  const single = singleBoundFailure(p);
  const cheapest = p.keys.map((key) => `${key} ${fmt(minimum[key])}`).join(", ");
  const message = single
    ? `infeasible budget: ${single}`
    : `infeasible budget: ${jointReason} (minimum achievable per key: ${cheapest})`;
  return { feasible: false, message, minimum };
}

/**
 * The tightest budget: the smallest relative slack among all bounds, if it
 * is within 1% or the arch gave up any loss to meet the budgets; else null.
 */
function bindingKey(p: Problem, arch: readonly number[], loss: number): string | null {
  let best: string | null = null;
  let bestSlack = Infinity;
  p.keys.forEach((key, k) => {
    const v = keyCost(p, k, arch);
    for (const bound of [p.hi[k], p.lo[k]]) {
      if (!Number.isFinite(bound)) continue;
      const slack = Math.abs(bound - v) / Math.max(Math.abs(bound), 1e-12);
      if (slack < bestSlack) [best, bestSlack] = [key, slack];
    }
  });
  const unconstrained = archLoss(
    p,
    argminArch(p, (l, c) => p.loss[l][c]),
  );
  const gaveUpLoss = loss > unconstrained + 1e-12 * Math.max(1, Math.abs(loss));
  return bestSlack <= BINDING_SLACK || gaveUpLoss ? best : null;
}

function feasibleResult(p: Problem, arch: number[]): Specialized {
  const predictedLoss = archLoss(p, arch);
  return {
    feasible: true,
    arch,
    predictedLoss,
    costs: allCosts(p.input, arch),
    binding: bindingKey(p, arch, predictedLoss),
  };
}

// ---------------------------------------------------------------------------
// Greedy.

/** Summed violation of all bounds, each relative to its bound's size. */
function violation(p: Problem, v: readonly number[]): number {
  let total = 0;
  for (let k = 0; k < p.keys.length; k++) {
    const { lo, hi } = { lo: p.lo[k], hi: p.hi[k] };
    if (v[k] > hi + tol(hi)) total += (v[k] - hi) / Math.max(Math.abs(hi), 1e-12);
    if (v[k] < lo - tol(lo)) total += (lo - v[k]) / Math.max(Math.abs(lo), 1e-12);
  }
  return total;
}

function costVector(p: Problem, arch: readonly number[]): number[] {
  return p.keys.map((_, k) => keyCost(p, k, arch));
}

function swapped(p: Problem, v: readonly number[], l: number, from: number, to: number): number[] {
  return v.map((x, k) => x + p.cost[k][l][to] - p.cost[k][l][from]);
}

/**
 * Repair: while some bound is violated, apply the swap with the smallest
 * loss increase per unit of violation removed. Violation falls strictly at
 * every step, so no arch repeats. Returns whether the arch ends feasible.
 */
function repair(p: Problem, arch: number[]): boolean {
  let v = costVector(p, arch);
  let viol = violation(p, v);
  while (viol > 0) {
    let pick: { l: number; c: number; score: number; gain: number } | null = null;
    for (let l = 0; l < p.layers; l++) {
      for (let c = 0; c < p.loss[l].length; c++) {
        if (c === arch[l]) continue;
        const gain = viol - violation(p, swapped(p, v, l, arch[l], c));
        if (gain <= 0) continue;
        const score = (p.loss[l][c] - p.loss[l][arch[l]]) / gain;
        if (!pick || score < pick.score || (score === pick.score && gain > pick.gain)) {
          pick = { l, c, score, gain };
        }
      }
    }
    if (!pick) return false;
    arch[pick.l] = pick.c;
    v = costVector(p, arch); // recomputed in layer order: no drift
    viol = violation(p, v);
  }
  return true;
}

/** Polish: take the loss-reducing swap that stays feasible, until none. */
function polish(p: Problem, arch: number[]): void {
  for (;;) {
    const v = costVector(p, arch);
    let pick: { l: number; c: number; delta: number } | null = null;
    for (let l = 0; l < p.layers; l++) {
      for (let c = 0; c < p.loss[l].length; c++) {
        const delta = p.loss[l][c] - p.loss[l][arch[l]];
        if (delta >= 0 || (pick && delta >= pick.delta)) continue;
        if (violation(p, swapped(p, v, l, arch[l], c)) === 0) pick = { l, c, delta };
      }
    }
    if (!pick) return;
    arch[pick.l] = pick.c;
  }
}

/** Greedy on a prepared problem; null when no feasible arch was found. */
function greedyArch(p: Problem): number[] | null {
  const arch = argminArch(p, (l, c) => p.loss[l][c]);
  if (repair(p, arch)) {
    polish(p, arch);
    return arch;
  }

  // Fallback: repair again from the cheapest (for a max) or dearest (for a
  // min) arch of each budgeted key; keep the best feasible result.
  const starts: number[][] = [];
  p.keys.forEach((_, k) => {
    if (p.hi[k] < Infinity) starts.push(argminArch(p, (l, c) => p.cost[k][l][c]));
    if (p.lo[k] > -Infinity) starts.push(argminArch(p, (l, c) => -p.cost[k][l][c]));
  });
  let best: number[] | null = null;
  for (const start of starts) {
    if (!repair(p, start)) continue;
    polish(p, start);
    if (!best || archLoss(p, start) < archLoss(p, best)) best = start;
  }
  return best;
}

/**
 * Greedy specialization from the zero-loss startpoint (see `repair`), then a
 * polish pass that takes back loss where the budgets still allow. Falls back
 * to repairing from the cheapest arch of each budgeted key (dearest for a
 * min bound).
 * Never returns an infeasible arch. With one budgeted key and one kind of
 * bound it finds a feasible arch whenever one exists; with several keys or
 * a two-sided bound it may report infeasible where `specializeExact` does not.
 */
export function specializeGreedy(input: SpecializeInput): Specialized {
  const p = prepare("specializeGreedy", input);
  const arch = greedyArch(p);
  if (!arch) return infeasible(p, "greedy found no architecture within all budgets");
  return feasibleResult(p, arch);
}

/**
 * Exact specialization: dynamic programming over layers that keeps only
 * non-dominated partial solutions (see `prune`), drops those that cannot
 * meet a bound, and drops those whose loss, plus a bound on the rest,
 * exceeds the greedy answer. Returns a least-loss arch.
 *
 * Min bounds weaken dominance (a cheaper partial may later fall short), so
 * the problem is first solved without them; when that optimum meets them it
 * is optimal here too. Only an active min bound runs the slower full DP.
 * NOTE: with an active min bound and several keys on large tables the full
 * DP can keep many partial solutions; it stays exact but may be slow.
 */
export function specializeExact(input: SpecializeInput): Specialized {
  const p = prepare("specializeExact", input);
  if (singleBoundFailure(p)) return infeasible(p, "");
  const greedy = greedyArch(p);
  const incumbent = greedy ? archLoss(p, greedy) : Infinity;
  const together = "no architecture meets all budgets together";

  if (p.lo.some((v) => v > -Infinity)) {
    const relaxed: Problem = { ...p, lo: p.lo.map(() => -Infinity) };
    const arch = solveDp(relaxed, incumbent);
    if (!arch) return infeasible(p, together);
    if (violation(p, costVector(p, arch)) === 0) return feasibleResult(p, arch);
  }
  const arch = solveDp(p, incumbent);
  return arch ? feasibleResult(p, arch) : infeasible(p, together);
}

/**
 * Budgets for `key` evenly spaced from the cheapest achievable cost to the
 * cost of the zero-loss startpoint (both included), each solved as a max
 * bound by both methods.
 */
export function sweep(
  input: Omit<SpecializeInput, "budgets">,
  key: string,
  points: number,
): SweepPoint[] {
  if (!Number.isInteger(points) || points < 1) {
    throw new Error(`sweep: points must be an integer >= 1, got ${points}`);
  }
  const probe = prepare("sweep", { ...input, budgets: [{ key, max: 0 }] });
  const lo = achievable(probe, 0).min;
  const hi = keyCost(
    probe,
    0,
    argminArch(probe, (l, c) => probe.loss[l][c]),
  );

  const out: SweepPoint[] = [];
  for (let i = 0; i < points; i++) {
    const budget = points === 1 ? hi : i === points - 1 ? hi : lo + ((hi - lo) * i) / (points - 1);
    const full: SpecializeInput = { ...input, budgets: [{ key, max: budget }] };
    out.push({ budget, exact: specializeExact(full), greedy: specializeGreedy(full) });
  }
  return out;
}
