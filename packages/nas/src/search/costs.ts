// Costs, hard constraints and repair for the search driver (search.ts):
// a per-layer cost table (total = offset + one entry per layer), the
// constraint violation (a non-negative sum of relative excesses, 0 when
// feasible), greedy repair, and the cost bounds that prove a budget
// impossible.

import type { Arch, Constraint, CostKey, Costs, SearchConfig } from "./types.ts";

/** Per-layer cost table: total = offset + sum_l table[l][arch[l]]. */
export interface LayerCostTable {
  readonly offset: Costs;
  readonly table: Costs[][];
}

export function addCosts(a: Costs, b: Costs, sign = 1): Costs {
  return {
    madds: a.madds + sign * b.madds,
    params: a.params + sign * b.params,
    latencyMs: a.latencyMs + sign * b.latencyMs,
  };
}

export function buildLayerCostTable(cfg: SearchConfig): LayerCostTable {
  const { layers: L, numChoices: m } = cfg;
  const zeros = new Array<number>(L).fill(0);
  const base = cfg.costs(zeros);
  if (cfg.layerCosts) {
    const lc = cfg.layerCosts;
    const table = Array.from({ length: L }, (_, l) =>
      Array.from({ length: m }, (_, c) => lc(l, c)),
    );
    const offset = table.reduce((acc, row) => addCosts(acc, row[0], -1), base);
    return { offset, table };
  }
  const table = Array.from({ length: L }, (_, l) =>
    Array.from({ length: m }, (_, c) => {
      const a = [...zeros];
      a[l] = c;
      return addCosts(cfg.costs(a), base, -1);
    }),
  );
  return { offset: base, table };
}

/** The architecture minimizing (sign 1) or maximizing (sign -1) one cost. */
export function extremeArch(t: LayerCostTable, key: CostKey, sign: 1 | -1): number[] {
  return t.table.map((row) => {
    let best = 0;
    for (let c = 1; c < row.length; c++) {
      if (sign * row[c][key] < sign * row[best][key]) best = c;
    }
    return best;
  });
}

export function violation(c: Costs, constraints: readonly Constraint[]): number {
  let v = 0;
  for (const k of constraints) {
    const x = c[k.key];
    if (k.max !== undefined && x > k.max) v += (x - k.max) / (Math.abs(k.max) || 1);
    if (k.min !== undefined && x < k.min) v += (k.min - x) / (Math.abs(k.min) || 1);
  }
  return v;
}

/**
 * Greedy repair: repeatedly take the single-layer change that most lowers
 * the violation, estimated from the table and confirmed with `costs`.
 * Stops when feasible or when no change helps; at most L * m moves.
 */
export function repair(cfg: SearchConfig, t: LayerCostTable, arch: Arch): number[] {
  const a = [...arch];
  let v = violation(cfg.costs(a), cfg.constraints);
  for (let move = 0; move < cfg.layers * cfg.numChoices && v > 0; move++) {
    const cur = cfg.costs(a);
    let best: { l: number; c: number; v: number } | null = null;
    for (let l = 0; l < cfg.layers; l++) {
      for (let c = 0; c < cfg.numChoices; c++) {
        if (c === a[l]) continue;
        const est = addCosts(addCosts(cur, t.table[l][c]), t.table[l][a[l]], -1);
        const ve = violation(est, cfg.constraints);
        if (best === null || ve < best.v) best = { l, c, v: ve };
      }
    }
    if (best === null) break;
    const prev = a[best.l];
    a[best.l] = best.c;
    const vNew = violation(cfg.costs(a), cfg.constraints);
    if (vNew >= v) {
      a[best.l] = prev;
      break;
    }
    v = vNew;
  }
  return a;
}

export function costBounds(
  cfg: SearchConfig,
  t: LayerCostTable,
): { cheapest: Partial<Record<CostKey, number>>; largest: Partial<Record<CostKey, number>> } {
  const cheapest: Partial<Record<CostKey, number>> = {};
  const largest: Partial<Record<CostKey, number>> = {};
  for (const c of cfg.constraints) {
    cheapest[c.key] = cfg.costs(extremeArch(t, c.key, 1))[c.key];
    if (c.min !== undefined) largest[c.key] = cfg.costs(extremeArch(t, c.key, -1))[c.key];
  }
  return { cheapest, largest };
}

/**
 * A cost for a message: integers (MAdds, parameters) as they are, others
 * (latency in ms) to 4 significant digits, so float sums print as 9.217,
 * not 9.217299500000042.
 */
export function costText(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}

/** Bounds no architecture can meet, one phrase each; empty if none is provable. */
export function impossibleBounds(cfg: SearchConfig, b: ReturnType<typeof costBounds>): string[] {
  const out: string[] = [];
  for (const c of cfg.constraints) {
    const lo = b.cheapest[c.key]!;
    if (c.max !== undefined && lo > c.max) {
      out.push(`${c.key} <= ${costText(c.max)} (cheapest ${costText(lo)})`);
    }
    const hi = b.largest[c.key];
    if (c.min !== undefined && hi !== undefined && hi < c.min) {
      out.push(`${c.key} >= ${costText(c.min)} (largest ${costText(hi)})`);
    }
  }
  return out;
}
