// The saved PONAS table (ponas-table.json in a run directory): everything
// specialization needs, so that answering a budget reads one small file
// and touches neither the device nor the data. Costs are per (layer,
// choice) plus a base for the fixed parts (stem, first block, head, FC).
// Accuracy loss is in top-1 fraction; predicted top-1 of an arch is the
// startpoint's measured top-1 minus its summed loss.

import type { Arch } from "../space/arch.ts";
import { blockCost, costOf } from "../space/cost.ts";
import type { ResolvedSpace } from "../space/spec.ts";
import {
  specializeExact,
  specializeGreedy,
  type Budget,
  type SpecializeInput,
  type Specialized,
} from "./specialize.ts";
import { accuracyLoss, candidateTable, maxLossPerLayer } from "./table.ts";

export const PONAS_TABLE_FORMAT = 1;

export interface PonasTableFile {
  readonly format: number;
  readonly space: string;
  readonly signature: string;
  /** Choice tokens in choice order ("k3e3" .. "k7e6s"). */
  readonly tokens: readonly string[];
  /** Searchable layer labels in order. */
  readonly layers: readonly string[];
  /** Validation top-1 [layer][choice], progressive (see progressive.ts). */
  readonly top1: number[][];
  /** Validation cross-entropy [layer][choice]. */
  readonly valLoss: number[][];
  readonly best: number[];
  /** Measured top-1 of the startpoint: the best entry of the last row. */
  readonly startTop1: number;
  readonly costs: { readonly madds: number[][]; readonly params: number[][] };
  readonly base: { readonly madds: number; readonly params: number };
}

/** Per-layer latency (ms) [layer][choice] plus the fixed parts, from a device table. */
export interface LatencyCosts {
  readonly base: number;
  readonly grid: number[][];
}

export function tableFile(
  space: ResolvedSpace,
  top1: number[][],
  valLoss: number[][],
): PonasTableFile {
  const t = candidateTable(top1);
  const L = space.layers.length;
  const m = space.spec.choices.length;
  const grid = (f: (l: number, c: number) => number) =>
    Array.from({ length: L }, (_, l) => Array.from({ length: m }, (_, c) => f(l, c)));
  const madds = grid((l, c) => blockCost(space, l, c).madds);
  const params = grid((l, c) => blockCost(space, l, c).params);
  const any = new Array<number>(L).fill(0);
  const whole = costOf(space, any);
  const base = {
    madds: whole.madds - madds.reduce((s, row) => s + row[0], 0),
    params: whole.params - params.reduce((s, row) => s + row[0], 0),
  };
  return {
    format: PONAS_TABLE_FORMAT,
    space: space.spec.name,
    signature: space.signature,
    tokens: [...space.tokens],
    layers: space.layers.map((g) => g.label),
    top1,
    valLoss,
    best: t.best,
    startTop1: top1[L - 1][t.best[L - 1]],
    costs: { madds, params },
    base,
  };
}

/** Parses and checks a saved table; errors name the file and the field. */
export function parseTableFile(name: string, text: string): PonasTableFile {
  let v: PonasTableFile;
  try {
    v = JSON.parse(text) as PonasTableFile;
  } catch (e) {
    throw new Error(`${name}: not valid JSON (${(e as Error).message})`);
  }
  if (v?.format !== PONAS_TABLE_FORMAT) {
    throw new Error(
      `${name}: table format ${v?.format}, expected ${PONAS_TABLE_FORMAT}; rerun \`nas-cli ponas\` to regenerate it`,
    );
  }
  const L = v.layers?.length ?? 0;
  const m = v.tokens?.length ?? 0;
  for (const [what, g] of [
    ["top1", v.top1],
    ["costs.madds", v.costs?.madds],
    ["costs.params", v.costs?.params],
  ] as const) {
    if (
      !Array.isArray(g) ||
      g.length !== L ||
      g.some((row) => !Array.isArray(row) || row.length !== m)
    ) {
      throw new Error(`${name}: ${what} must be [${L} layers][${m} choices]`);
    }
  }
  return v;
}

/** Accuracy loss [layer][choice] relative to each row's best. */
export function tableLoss(t: PonasTableFile): number[][] {
  return accuracyLoss(candidateTable(t.top1));
}

export function tableMaxLoss(t: PonasTableFile): number[] {
  return maxLossPerLayer(candidateTable(t.top1));
}

export function specializeInput(
  t: PonasTableFile,
  budgets: readonly Budget[],
  latency: LatencyCosts | null = null,
): SpecializeInput {
  const costs: Record<string, number[][]> = { madds: t.costs.madds, params: t.costs.params };
  const base: Record<string, number> = { madds: t.base.madds, params: t.base.params };
  if (latency) {
    costs.latencyMs = latency.grid;
    base.latencyMs = latency.base;
  }
  return { loss: tableLoss(t), costs, base, budgets };
}

export interface TableAnswer {
  readonly exact: Specialized;
  readonly greedy: Specialized;
  /** Wall time of both solvers together. */
  readonly ms: number;
}

export function specializeTable(
  t: PonasTableFile,
  budgets: readonly Budget[],
  latency: LatencyCosts | null = null,
): TableAnswer {
  const t0 = performance.now();
  const input = specializeInput(t, budgets, latency);
  const exact = specializeExact(input);
  const greedy = specializeGreedy(input);
  return { exact, greedy, ms: performance.now() - t0 };
}

export function tableArchString(t: PonasTableFile, arch: Arch): string {
  return arch.map((c) => t.tokens[c]).join("-");
}

/**
 * Measured startpoint top-1 minus the summed table loss, floored at 0: the
 * sum can exceed the startpoint's accuracy when the layers' losses are far
 * from additive, and an accuracy below zero means nothing (the loss itself
 * is reported unclipped as predictedLoss).
 */
export function predictedTop1(t: PonasTableFile, predictedLoss: number): number {
  return Math.max(0, t.startTop1 - predictedLoss);
}

/**
 * Latency costs for a saved table from a device latency table's JSON
 * (format "fairnas-latency-table": entries keyed "stem", "first", "head"
 * and "<layer label>/<token>", each with medianMs). The table must be
 * measured for the same space as the PONAS table.
 * NOTE: reads the file format directly; once the latency module is
 * exported from mod.ts this can go through its loader (adapter warnings).
 */
export function latencyCostsFromJson(name: string, text: string, t: PonasTableFile): LatencyCosts {
  let v: {
    format?: string;
    spaceSignature?: string;
    entries?: Record<string, { medianMs?: number }>;
  };
  try {
    v = JSON.parse(text) as typeof v;
  } catch (e) {
    throw new Error(`latency table ${name}: not valid JSON (${(e as Error).message})`);
  }
  if (v.format !== "fairnas-latency-table" || !v.entries) {
    throw new Error(
      `latency table ${name}: not a fairnas-latency-table file; build one with \`nas-cli latency build\``,
    );
  }
  if (v.spaceSignature !== t.signature) {
    throw new Error(
      `latency table ${name} was measured for space signature ${v.spaceSignature}, ` +
        `the PONAS table is for '${t.space}' (signature ${t.signature}); build one with ` +
        `\`nas-cli latency build --space ${t.space}\``,
    );
  }
  const entries = v.entries;
  const ms = (key: string): number => {
    const e = entries[key]?.medianMs;
    if (typeof e !== "number" || !Number.isFinite(e))
      throw new Error(`latency table ${name}: no entry '${key}'`);
    return e;
  };
  const fixed = ["stem", "first", "head"].filter((k) => k !== "first" || k in entries);
  return {
    base: fixed.reduce((s, k) => s + ms(k), 0),
    grid: t.layers.map((label) => t.tokens.map((tok) => ms(`${label}/${tok}`))),
  };
}
