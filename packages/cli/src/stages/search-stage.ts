// The search stage of a trained run: multi-objective search over the run's
// space with the supernet as the accuracy oracle.
//
// Objectives: maximize top-1 (inherited weights, BN recalibrated, on
// `search.valImages` validation images, a seeded random subset), minimize
// MAdds, minimize parameters or predicted latency (`search.third`). Hard
// budgets come from the options or the config (`search.max*`; 0 means
// none). Costs are exact sums of per-layer entries (`blockCost`, the
// latency table), so the searcher's repair and infeasibility proofs hold.
//
// Files: pareto.json and pareto.csv hold one front per algorithm (a new
// search replaces the fronts of its own algorithm and keeps the others);
// metrics.jsonl gets one `search-generation` record per generation (again
// replacing the algorithm's earlier records). Both change only when the
// search completes: an interrupted or infeasible search leaves the earlier
// front and its generation records as they were.
//
// Called by `nas-cli search`, by `nas-cli run` after supernet training, and
// by packages/nas/bench/search-hv.ts.

import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "@fairnas/kernels";
import {
  costText,
  drawnSubset,
  archHash,
  archToString,
  blockCost,
  costOf,
  evaluateArch,
  latencyModel,
  loadLatencyTable,
  parseArch,
  runSearch,
  type Arch,
  type Constraint,
  type CostKey,
  type Costs,
  type GenerationLog,
  type LatencyModel,
  type ResolvedSpace,
} from "@fairnas/nas";
import { Metrics, fmt, readJsonFile, writeAtomic } from "../output.ts";
import { evalData, runPath, type OpenRun } from "../session.ts";

export type SearchAlgo = "nsga2-ppo" | "nsga2" | "random";
export const SEARCH_ALGOS: readonly SearchAlgo[] = ["nsga2-ppo", "nsga2", "random"];

/** Unset fields fall back to the run's config (`search.*`, `seed`). */
export interface SearchStageOptions {
  readonly algo?: SearchAlgo;
  readonly generations?: number;
  readonly population?: number;
  readonly seed?: number;
  /** Budgets; 0 means none. */
  readonly maxMadds?: number;
  readonly maxParams?: number;
  readonly maxLatencyMs?: number;
  readonly third?: "params" | "latencyMs";
  /** Latency table file; needed for a latency budget or objective. */
  readonly latencyTable?: string;
  /** Validation images scored per candidate (0: the whole split). */
  readonly valImages?: number;
  /**
   * top-1 by archHash, shared by searches over one run (scores depend on
   * the run and `valImages` only). Filled as architectures are scored.
   */
  readonly cache?: Map<string, number>;
  /** Write pareto.json, pareto.csv and metrics records (default true). */
  readonly write?: boolean;
  /** Print per-generation lines and the front (default true). */
  readonly print?: boolean;
}

/** One front member, as pareto.json stores it (`latencyMs` null without a table). */
export interface ParetoEntry {
  readonly algo: SearchAlgo;
  readonly arch: string;
  readonly hash: string;
  readonly top1: number;
  readonly madds: number;
  readonly params: number;
  readonly latencyMs: number | null;
}

export interface SearchStageResult {
  readonly algo: SearchAlgo;
  readonly seed: number;
  readonly third: "params" | "latencyMs";
  readonly constraints: readonly Constraint[];
  /** Sorted by MAdds, then top-1 descending. */
  readonly front: readonly ParetoEntry[];
  readonly history: readonly GenerationLog[];
  /** Distinct architectures the search asked to have scored. */
  readonly evaluations: number;
  /** Of those, answered from `cache` without a forward pass. */
  readonly cacheHits: number;
}

/** No architecture meets the budgets; the message names the cheapest costs. */
export class SearchInfeasibleError extends Error {
  override name = "SearchInfeasibleError";

  constructor(
    message: string,
    readonly cheapest: Readonly<Partial<Record<CostKey, number>>>,
  ) {
    super(message);
  }
}

interface Resolved {
  readonly algo: SearchAlgo;
  readonly generations: number;
  readonly population: number;
  readonly seed: number;
  readonly third: "params" | "latencyMs";
  readonly valImages: number;
  readonly constraints: Constraint[];
  readonly latency: LatencyModel | null;
}

function resolveOptions(run: OpenRun, o: SearchStageOptions, log: Logger): Resolved {
  const s = run.cfg.search;
  const third = o.third ?? s.third;
  const budget = (k: CostKey, v: number | undefined, d: number): Constraint[] => {
    const max = v ?? d;
    if (!(max >= 0)) throw new Error(`search: budget ${k} must be >= 0 (0: none), got ${max}`);
    return max > 0 ? [{ key: k, max }] : [];
  };
  const constraints = [
    ...budget("madds", o.maxMadds, s.maxMadds),
    ...budget("params", o.maxParams, s.maxParams),
    ...budget("latencyMs", o.maxLatencyMs, s.maxLatencyMs),
  ];
  const needLatency = third === "latencyMs" || constraints.some((c) => c.key === "latencyMs");
  if (needLatency && !o.latencyTable) {
    throw new Error(
      "search: a latency budget or objective needs --latency-table FILE " +
        "(build one with `nas-cli latency build`)",
    );
  }
  const latency = o.latencyTable
    ? latencyModel(loadLatencyTable(o.latencyTable, run.gpu.adapter, log), run.space)
    : null;
  return {
    algo: o.algo ?? s.algo,
    generations: o.generations ?? s.generations,
    population: o.population ?? s.population,
    seed: o.seed ?? run.cfg.seed,
    third,
    valImages: o.valImages ?? s.valImages,
    constraints,
    latency,
  };
}

/** Costs of `arch` and of one layer's choice; latency 0 without a table. */
function costFns(
  space: ResolvedSpace,
  latency: LatencyModel | null,
): {
  costs: (a: Arch) => Costs;
  layerCosts: (l: number, c: number) => Costs;
} {
  return {
    costs: (a) => {
      const c = costOf(space, a);
      return { madds: c.madds, params: c.params, latencyMs: latency ? latency.predict(a) : 0 };
    },
    layerCosts: (l, c) => {
      const b = blockCost(space, l, c);
      return { madds: b.madds, params: b.params, latencyMs: latency ? latency.blockMs(l, c) : 0 };
    },
  };
}

/**
 * Runs one search on an opened run and (unless `write` is false) records
 * it in the run directory. Throws SearchInfeasibleError when the budgets
 * leave nothing to search.
 */
export async function searchStage(
  run: OpenRun,
  opts: SearchStageOptions,
  log: Logger,
): Promise<SearchStageResult> {
  const r = resolveOptions(run, opts, log);
  const { space } = run;
  const print = opts.print ?? true;
  const write = opts.write ?? true;
  // A pareto.json the search could not merge into fails now, not after the search.
  if (write) otherFronts(run.dir, space, r.algo);
  const val = drawnSubset(run.data.valOrder, r.valImages);
  if (print) {
    log.info(
      `search ${r.algo} | seed ${r.seed} | population ${r.population} | ` +
        `generations ${r.generations} | objectives top-1, madds, ${r.third} | ` +
        `budgets ${budgetText(r.constraints)} | ${val.length} validation images, BN recal`,
    );
  }

  const ev = evalData(run.gpu, run.cfg, { ...run.data, val }, space);
  const cache = opts.cache ?? new Map<string, number>();
  const metrics = write ? new Metrics(runPath(run.dir, "metrics")) : null;
  // Held until the search completes, then they replace the algorithm's earlier records.
  const records: Record<string, unknown>[] = [];
  const t0 = performance.now();
  let cacheHits = 0;
  try {
    const result = await runSearch({
      algo: r.algo,
      layers: space.layers.length,
      numChoices: space.tokens.length,
      population: r.population,
      generations: r.generations,
      seed: r.seed,
      third: r.third,
      constraints: r.constraints,
      ...costFns(space, r.latency),
      key: (a) => archHash(space, a),
      evaluate: async (archs) => {
        const out: number[] = [];
        for (const a of archs) {
          const h = archHash(space, a);
          const hit = cache.get(h);
          if (hit !== undefined) cacheHits++;
          const top1 = hit ?? (await evaluateArch(run.gpu, run.net, a, ev, "recal")).top1;
          cache.set(h, top1);
          out.push(top1);
        }
        return out;
      },
      onGeneration: (g) => {
        records.push(generationRecord(r, g));
        if (print) log.info(generationLine(r, g, (performance.now() - t0) / 1000));
      },
    });
    if (result.infeasible) {
      throw new SearchInfeasibleError(
        infeasibleText(result.infeasible, r.constraints),
        result.infeasible.cheapest,
      );
    }
    const front = result.front.map((m): ParetoEntry => ({
      algo: r.algo,
      arch: archToString(space, m.arch),
      hash: archHash(space, m.arch),
      top1: m.top1,
      madds: m.madds,
      params: m.params,
      latencyMs: r.latency ? m.latencyMs : null,
    }));
    if (write) writeFronts(run.dir, space, r.algo, front, log);
    if (metrics) {
      // Like its front in pareto.json, the search replaces its algorithm's generation records.
      metrics.dropWhere((rec) => rec.type === "search-generation" && rec.algo === r.algo);
      for (const rec of records) metrics.write(rec);
    }
    if (print) printFront(log, front, result.evaluations, cacheHits);
    return {
      algo: r.algo,
      seed: r.seed,
      third: r.third,
      constraints: r.constraints,
      front,
      history: result.history,
      evaluations: result.evaluations,
      cacheHits,
    };
  } finally {
    ev.dispose();
  }
}

function budgetText(cs: readonly Constraint[]): string {
  return cs.length === 0
    ? "none"
    : cs.map((c) => `${c.key} <= ${costText(c.max ?? NaN)}`).join(", ");
}

function infeasibleText(
  inf: { readonly cheapest: Partial<Record<CostKey, number>>; readonly message: string },
  cs: readonly Constraint[],
): string {
  const cheapest = cs.map((c) => `${c.key} ${costText(inf.cheapest[c.key] ?? NaN)}`).join(", ");
  // A bound no architecture meets alone is said by the cheapest costs; the
  // searcher's message adds something only when the bounds fail together.
  const together = cs.every((c) => (inf.cheapest[c.key] ?? Infinity) <= (c.max ?? Infinity));
  return (
    `search: infeasible budget (${budgetText(cs)})${together ? `: ${inf.message}` : ""}; ` +
    `cheapest achievable: ${cheapest}`
  );
}

/** The viz `search-generation` record, plus the searcher's own counters. */
function generationRecord(r: Resolved, g: GenerationLog): Record<string, unknown> {
  return {
    type: "search-generation",
    algo: r.algo,
    seed: r.seed,
    generation: g.generation,
    evaluations: g.evaluations,
    distinct: g.distinct,
    hypervolume: g.hypervolume,
    frontSize: g.frontSize,
    ppoMix: g.ppoMix,
    population: r.population,
    feasible: g.feasible,
    retries: g.retries,
    repairs: g.repairs,
    ppo: g.ppo,
  };
}

function generationLine(r: Resolved, g: GenerationLog, seconds: number): string {
  const ppo = g.ppo
    ? ` | reward ${fmt(g.ppo.meanReward, 3, 6)} | entropy ${fmt(g.ppo.entropy, 3)}`
    : "";
  return (
    `gen ${String(g.generation).padStart(3)}/${r.generations} | ` +
    `evals ${String(g.evaluations).padStart(4)} | distinct ${String(g.distinct).padStart(3)}/` +
    `${r.population} | front ${String(g.frontSize).padStart(3)} | HV ${fmt(g.hypervolume, 4)} | ` +
    `ppo mix ${fmt(g.ppoMix, 2)}${ppo} | ${fmt(seconds, 1, 6)} s`
  );
}

function printFront(log: Logger, front: readonly ParetoEntry[], evals: number, hits: number): void {
  log.info(`front: ${front.length} architectures from ${evals} evaluations (${hits} cached)`);
  for (const p of front) {
    const lat = p.latencyMs === null ? "" : ` | ${fmt(p.latencyMs, 3, 7)} ms`;
    log.info(
      `  ${p.arch} | top-1 ${fmt(100 * p.top1, 2, 6)}% | ` +
        `${fmt(p.madds / 1e6, 3, 7)} M MAdds | ${fmt(p.params / 1e3, 1, 7)} K params${lat}`,
    );
  }
}

const CSV_HEAD = "algo,arch,hash,top1,madds,params,latency_ms";

/** The fronts pareto.json holds now ([] when there is none); errors name the file. */
function storedFronts(dir: string): ParetoEntry[] {
  const path = join(dir, "pareto.json");
  if (!existsSync(path)) return [];
  const old = readJsonFile(path);
  if (!Array.isArray(old)) throw new Error(`${path}: expected a JSON array`);
  old.forEach((p: unknown, i) => {
    const e = p as Partial<ParetoEntry> | null;
    const ok =
      e !== null &&
      typeof e === "object" &&
      typeof e.algo === "string" &&
      typeof e.arch === "string" &&
      typeof e.top1 === "number";
    if (!ok) throw new Error(`${path}: entry ${i} is not a front entry {algo, arch, top1, ...}`);
  });
  return old as ParetoEntry[];
}

function storedCount(dir: string): number {
  return storedFronts(dir).length;
}

/** Stored fronts of other algorithms, kept when this one is rewritten. */
function otherFronts(dir: string, space: ResolvedSpace, algo: SearchAlgo): ParetoEntry[] {
  return storedFronts(dir)
    .filter((p) => p.algo !== algo)
    .map((p) => ({
      ...p,
      hash: p.hash ?? archHash(space, parseArch(space, p.arch)),
    }));
}

function writeFronts(
  dir: string,
  space: ResolvedSpace,
  algo: SearchAlgo,
  front: readonly ParetoEntry[],
  log: Logger,
): void {
  const others = otherFronts(dir, space, algo);
  const replaced = storedCount(dir) - others.length;
  if (replaced > 0) {
    log.warn(
      `pareto.json: replacing the earlier ${algo} front (${replaced} architectures); ` +
        `other algorithms' fronts are kept`,
    );
  }
  const all = [...others, ...front];
  writeAtomic(join(dir, "pareto.json"), `${JSON.stringify(all, null, 1)}\n`);
  const rows = all.map((p) =>
    [
      p.algo,
      p.arch,
      p.hash,
      p.top1.toFixed(6),
      p.madds,
      p.params,
      p.latencyMs === null ? "" : p.latencyMs.toFixed(4),
    ].join(","),
  );
  writeAtomic(join(dir, "pareto.csv"), `${[CSV_HEAD, ...rows].join("\n")}\n`);
}

/** The front as `--json` prints it. */
export function frontJson(front: readonly ParetoEntry[]): string {
  return JSON.stringify(
    front.map((p) => ({
      arch: p.arch,
      top1: p.top1,
      madds: p.madds,
      params: p.params,
      latencyMs: p.latencyMs,
    })),
  );
}
