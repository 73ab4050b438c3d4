// PONAS specialization against evolutionary search, on the same fine-tuned
// supernet and the same validation images.
//
// After the budget sweep, one multi-objective search (cfg.search: algorithm,
// population, generations; objectives top-1, MAdds and cfg.search.third)
// runs on the PONAS supernet, scoring each candidate on the table's
// validation images with BN recalibrated, exactly as the sweep scores its
// specialized networks. For every sweep budget the record pairs the
// specialized network (table prediction and measured top-1) with the most
// accurate front member inside the same MAdds budget. Wall times: one
// specialization (median over the sweep budgets, exact and greedy solvers
// together) against the one search, with the one-time table cost beside.

import type { Logger } from "@fairnas/kernels";
import { specializeTable, type PonasTableFile } from "@fairnas/nas";
import type { RunConfig } from "../config.ts";
import { fmt } from "../output.ts";
import type { OpenRun } from "../session.ts";
import type { SweepRecordPoint } from "./ponas-sweep.ts";
import type { PonasCompareRecord } from "@fairnas/viz";
import { searchStage, type ParetoEntry } from "./search-stage.ts";

// The record's shape is the one the report reads (viz owns the format).
export type CompareRecord = PonasCompareRecord;
export type ComparePoint = PonasCompareRecord["points"][number];

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

/** Median ms of specializing for each MAdds budget, `repeats` times each. */
export function specializeMedianMs(
  table: PonasTableFile,
  budgets: readonly number[],
  repeats = 5,
): number {
  const ms: number[] = [];
  for (let r = 0; r < repeats; r++)
    for (const max of budgets) ms.push(specializeTable(table, [{ key: "madds", max }]).ms);
  return median(ms);
}

/** The most accurate member of `front` with MAdds at most `budget` (ties: fewer MAdds). */
export function bestWithin(front: readonly ParetoEntry[], budget: number): ParetoEntry | null {
  let best: ParetoEntry | null = null;
  for (const p of front) {
    if (p.madds > budget * (1 + 1e-9)) continue;
    if (!best || p.top1 > best.top1 || (p.top1 === best.top1 && p.madds < best.madds)) best = p;
  }
  return best;
}

/** Pairs sweep points with front members; one row per distinct budget. */
export function comparePoints(
  sweep: readonly SweepRecordPoint[],
  front: readonly ParetoEntry[],
): ComparePoint[] {
  return sweep
    .filter((p) => p.key === "madds")
    .map((p) => {
      const s = bestWithin(front, p.budget);
      const measured = p.measured ?? null;
      return {
        budget: p.budget,
        ponas: {
          arch: p.arch,
          madds: p.madds,
          params: p.params,
          predicted: p.predicted,
          measured,
        },
        search: s ? { arch: s.arch, madds: s.madds, params: s.params, measured: s.top1 } : null,
        delta: s && measured !== null ? s.top1 - measured : null,
      };
    });
}

/**
 * Runs the search on `run` (the PONAS supernet; fronts and generation
 * records go into its directory) and builds the comparison record.
 */
export async function compareWithSearch(
  run: OpenRun,
  table: PonasTableFile,
  sweep: readonly SweepRecordPoint[],
  tableSeconds: number,
  log: Logger,
): Promise<CompareRecord> {
  const cfg: RunConfig = run.cfg;
  const valImages = cfg.ponas.tableValImages;
  // What the table and the search actually score on (the split may be smaller).
  const images = valImages > 0 ? Math.min(valImages, run.data.val.length) : run.data.val.length;
  log.info(
    `comparison: ${cfg.search.algo} search on the fine-tuned supernet ` +
      `(population ${cfg.search.population}, ${cfg.search.generations} generations, ` +
      `${images} validation images, as the table)`,
  );
  const t0 = performance.now();
  const res = await searchStage(run, { valImages, print: false }, log);
  const seconds = (performance.now() - t0) / 1000;
  const points = comparePoints(sweep, res.front);
  const specializeMs = specializeMedianMs(
    table,
    points.map((p) => p.budget),
  );
  const record: CompareRecord = {
    key: "madds",
    valImages: images,
    search: {
      algo: res.algo,
      population: cfg.search.population,
      generations: cfg.search.generations,
      evaluations: res.evaluations,
      seconds,
      front: res.front.length,
    },
    specializeMs,
    tableSeconds,
    points,
  };
  logCompare(log, record);
  return record;
}

export function logCompare(log: Logger, r: CompareRecord): void {
  const pct = (v: number | null | undefined) => (v == null ? "     -" : `${fmt(100 * v, 2, 6)}%`);
  for (const p of r.points) {
    const s = p.search;
    log.info(
      `budget ${fmt(p.budget / 1e6, 3, 8)} M | PONAS ${p.ponas.arch} ${fmt(p.ponas.madds / 1e6, 3, 7)} M ` +
        `predicted ${pct(p.ponas.predicted)} measured ${pct(p.ponas.measured)} | ` +
        (s
          ? `${r.search.algo} ${s.arch} ${fmt(s.madds / 1e6, 3, 7)} M measured ${pct(s.measured)}`
          : `${r.search.algo}: no front member within budget`),
    );
  }
  log.info(
    `one specialization ${fmt(r.specializeMs, 3)} ms (table built once in ${fmt(r.tableSeconds, 1)} s) | ` +
      `one ${r.search.algo} search ${fmt(r.search.seconds, 1)} s (${r.search.evaluations} evaluations)`,
  );
}
