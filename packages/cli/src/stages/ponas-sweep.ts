// The PONAS budget sweep and the record viz reads (ponas.json): budgets
// from the cheapest network to the startpoint's cost, each answered exactly
// and greedily from the saved table and, optionally, scored on the supernet.

import type { Gpu, Logger } from "@fairnas/kernels";
import {
  getSpace,
  evaluateArch,
  predictedTop1,
  specializeInput,
  sweep,
  tableArchString,
  tableMaxLoss,
  type Arch,
  type EvalData,
  type LatencyCosts,
  type PonasTableFile,
  type Supernet,
} from "@fairnas/nas";
import { fmt } from "../output.ts";
import type { CompareRecord } from "./ponas-compare.ts";

/** One point of the sweep as written into ponas.json (viz fields first). */
export interface SweepRecordPoint {
  readonly key: string;
  readonly budget: number;
  /** Predicted top-1 of the exact answer (fraction). */
  readonly predicted: number;
  /** Supernet-scored top-1 of the exact answer, when measured. */
  readonly measured?: number;
  readonly arch: string;
  readonly madds: number;
  readonly params: number;
  readonly predictedLoss: number;
  readonly greedyArch: string | null;
  readonly greedyPredicted: number | null;
}

export interface PonasRecordFile {
  readonly table: {
    readonly choices: string[];
    readonly layers: string[];
    readonly top1: number[][];
  };
  readonly maxLoss: number[];
  readonly startpoint: string;
  readonly sweep: SweepRecordPoint[];
  /** Specialization against the search at the sweep's budgets (ponas-compare.ts). */
  readonly compare?: CompareRecord;
}

export function recordFile(table: PonasTableFile, points: SweepRecordPoint[]): PonasRecordFile {
  return {
    table: { choices: [...table.tokens], layers: [...table.layers], top1: table.top1 },
    maxLoss: tableMaxLoss(table),
    startpoint: tableArchString(table, table.best),
    sweep: points,
  };
}

/**
 * Budget sweep from the saved table: `points` budgets from the cheapest
 * network to the startpoint's cost; with `score`, each distinct exact
 * answer is also scored on the supernet.
 */
export async function sweepPoints(
  table: PonasTableFile,
  key: "madds" | "params" | "latencyMs",
  points: number,
  latency: LatencyCosts | null,
  score: ((arch: Arch) => Promise<number>) | null,
): Promise<SweepRecordPoint[]> {
  const { loss, costs, base } = specializeInput(table, [], latency);
  const measured = new Map<string, number>();
  const out: SweepRecordPoint[] = [];
  let last = Number.NaN;
  for (const p of sweep({ loss, costs, base }, key, points)) {
    // Equal budgets (the cheapest network is the startpoint) give one point.
    if (!p.exact.feasible || p.budget === last) continue;
    last = p.budget;
    const arch = tableArchString(table, p.exact.arch);
    if (score && !measured.has(arch)) measured.set(arch, await score(p.exact.arch));
    const g = p.greedy.feasible ? p.greedy : null;
    out.push({
      key,
      budget: p.budget,
      predicted: predictedTop1(table, p.exact.predictedLoss),
      ...(measured.has(arch) ? { measured: measured.get(arch)! } : {}),
      arch,
      madds: p.exact.costs.madds,
      params: p.exact.costs.params,
      predictedLoss: p.exact.predictedLoss,
      greedyArch: g ? tableArchString(table, g.arch) : null,
      greedyPredicted: g ? predictedTop1(table, g.predictedLoss) : null,
    });
  }
  return out;
}

/** A scorer for sweep points on the run's supernet (BN recalibrated). */
export function supernetScorer(
  gpu: Gpu,
  net: Supernet,
  ev: EvalData,
): (arch: Arch) => Promise<number> {
  return async (arch) => (await evaluateArch(gpu, net, arch, ev, "recal")).top1;
}

/** The class count of a table's space (for chance level); null if it does not resolve. */
export function tableClasses(t: PonasTableFile): number | null {
  try {
    return getSpace(t.space).classes;
  } catch {
    return null;
  }
}

/**
 * Says once when a predicted top-1 lies below chance (1 / classes): the
 * table's additive model sums per-layer losses measured one layer at a time
 * from the startpoint, and far from it the sum overshoots.
 */
export function warnBelowChance(
  log: Logger,
  predicted: readonly number[],
  classes: number | null,
): void {
  if (classes === null || classes < 2) return;
  const chance = 1 / classes;
  const low = predicted.filter((p) => p < chance);
  if (low.length === 0) return;
  log.warn(
    `${low.length} predicted top-1 value(s) lie below chance (${fmt(100 * chance, 2)}%, ` +
      `${classes} classes), lowest ${fmt(100 * Math.min(...low), 2)}%: the table's additive ` +
      `model does not hold this far from the startpoint; the measured top-1 is the guide there`,
  );
}

export function logSweep(
  log: Logger,
  points: readonly SweepRecordPoint[],
  classes: number | null = null,
): void {
  for (const p of points) {
    const scale = p.key === "latencyMs" ? 1 : 1e-6;
    const unit = p.key === "madds" ? "M MAdds" : p.key === "params" ? "M params" : "ms";
    const meas = p.measured === undefined ? "     -" : `${fmt(100 * p.measured, 2, 6)}%`;
    const costs = `${fmt(p.madds / 1e6, 3, 7)} M MAdds | ${fmt(p.params / 1e6, 3, 6)} M params`;
    log.info(
      `budget ${fmt(p.budget * scale, 3, 8)} ${unit} | ${p.arch} | ` +
        `predicted ${fmt(100 * p.predicted, 2, 6)}% | measured ${meas} | ${costs}`,
    );
  }
  warnBelowChance(
    log,
    points.map((p) => p.predicted),
    classes,
  );
}
