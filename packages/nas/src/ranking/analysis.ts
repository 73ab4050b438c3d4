// Rank agreement between a proxy (supernet scores with inherited weights)
// and ground truth (stand-alone accuracy): Kendall tau-b with its p-value
// and a percentile bootstrap interval, Spearman rho, top-k overlap and the
// mean accuracy gap. Higher is better in both lists.

import { Rng } from "@fairnas/kernels";
import {
  bootstrapCi,
  kendallTauB,
  spearman,
  topKOverlap,
  type BootstrapCi,
  type Corr,
} from "./stats.ts";

export interface RankPoint {
  readonly arch: string;
  /** Supernet score (top-1, higher is better). */
  readonly supernet: number;
  /** Stand-alone top-1. */
  readonly standalone: number;
}

export interface RankAnalysisOptions {
  readonly resamples: number;
  readonly level: number;
  readonly seed: number;
  /** Top-k size; default max(1, round(n / 4)). */
  readonly k?: number;
}

export interface RankAnalysis {
  readonly n: number;
  readonly tauB: Corr;
  readonly tauCi: BootstrapCi;
  readonly spearman: Corr;
  readonly topK: { readonly k: number; readonly overlap: number } | null;
  /** Mean of stand-alone minus supernet top-1. */
  readonly gap: number;
  readonly level: number;
  readonly resamples: number;
}

const BOOTSTRAP_STREAM = 0xb007;

export function analyseRanking(
  points: readonly RankPoint[],
  opts: RankAnalysisOptions,
): RankAnalysis {
  const x = points.map((p) => p.supernet);
  const y = points.map((p) => p.standalone);
  const n = points.length;
  const rng = Rng.derive(opts.seed, BOOTSTRAP_STREAM);
  const k = opts.k ?? Math.max(1, Math.round(n / 4));
  const gap = n > 0 ? points.reduce((s, p) => s + p.standalone - p.supernet, 0) / n : Number.NaN;
  return {
    n,
    tauB: kendallTauB(x, y),
    tauCi: bootstrapCi(x, y, kendallTauB, { resamples: opts.resamples, level: opts.level, rng }),
    spearman: spearman(x, y),
    topK: n >= 1 && k <= n ? { k, overlap: topKOverlap(x, y, k, true) } : null,
    gap,
    level: opts.level,
    resamples: opts.resamples,
  };
}

/** One line: "tau-b 0.412 [0.101, 0.655] p 0.012 | Spearman 0.55 | top-5 0.60 | gap 3.1 pp". */
export function describeAnalysis(a: RankAnalysis): string {
  const tau = a.tauB.defined
    ? `tau-b ${a.tauB.value.toFixed(3)}`
    : `tau-b undefined (${a.tauB.reason})`;
  const ci =
    "reason" in a.tauCi ? "CI undefined" : `[${a.tauCi.lo.toFixed(3)}, ${a.tauCi.hi.toFixed(3)}]`;
  const p = a.tauB.defined ? ` p ${a.tauB.pValue.toPrecision(2)}` : "";
  const rho = a.spearman.defined ? a.spearman.value.toFixed(3) : "undefined";
  const top = a.topK ? ` | top-${a.topK.k} ${a.topK.overlap.toFixed(2)}` : "";
  return `${tau} ${ci}${p} | Spearman ${rho}${top} | gap ${(100 * a.gap).toFixed(2)} pp | n ${a.n}`;
}
