// Rank correlation between supernet scores and stand-alone ground truth:
// the architecture set (stratified over MAdds, disjoint from the run's
// architectures.csv), supernet scores per BN mode, ground-truth records,
// statistics, and the files ranking.csv, ranking.json and similarity.json
// in the formats packages/viz/src/records.ts reads.
//
// Ground truth is stand-alone *test* top-1; supernet scores are validation
// top-1 with inherited weights. Higher is better in both.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Gpu, Logger } from "@fairnas/kernels";
import {
  drawnSubset,
  analyseRanking,
  archToString,
  checkComparable,
  describeAnalysis,
  featureSimilarity,
  parseArch,
  stratifiedSample,
  type Arch,
  type BnEvalMode,
  type GroundTruthRecord,
  type RankAnalysis,
  type ResolvedSpace,
  type SimilarityResult,
  type Supernet,
} from "@fairnas/nas";
import type { RunConfig } from "../config.ts";
import { writeAtomic } from "../output.ts";
import { deviceBatches, openRun, runPath, type DataSplits } from "../session.ts";
import { bnModes, scoreArchs, type ScoredArch } from "../commands/score.ts";
import { retrainArch, type StandaloneOptions } from "./standalone-stage.ts";

/** Seed stream offset so a rank sample differs from run's own sample. */
const RANK_SEED_OFFSET = 7_919;

/** Architecture strings a run already scored (its architectures.csv), if any. */
export function runArchitectures(dir: string): Set<string> {
  const path = runPath(dir, "architectures");
  if (!existsSync(path)) return new Set();
  const lines = readFileSync(path, "utf8").split("\n").slice(1);
  return new Set(lines.filter((l) => l.trim() !== "").map((l) => l.split(",")[0]));
}

/** N stratified architectures (seeded) avoiding `exclude`; warns on empty bins. */
export function rankArchs(
  space: ResolvedSpace,
  count: number,
  seed: number,
  exclude: ReadonlySet<string>,
  log: Logger,
): Arch[] {
  const r = stratifiedSample(space, { count, seed: seed + RANK_SEED_OFFSET, exclude });
  log.info(
    `sampled ${r.archs.length} architectures over ${r.bins.length} MAdds bins ` +
      `(${r.tries} draws, ${exclude.size} excluded)`,
  );
  if (!r.ok) log.warn(r.message);
  return [...r.archs];
}

/** Architectures listed in a file, one per line ('#' comments and blank lines skipped). */
export function readArchFile(space: ResolvedSpace, file: string): Arch[] {
  const seen = new Map<string, number>();
  const archs: Arch[] = [];
  readFileSync(file, "utf8")
    .split("\n")
    .forEach((raw, i) => {
      const l = raw.replace(/#.*/, "").trim();
      if (l === "") return;
      let a: Arch;
      try {
        a = parseArch(space, l);
      } catch (e) {
        throw new Error(`${file}: line ${i + 1}: ${(e as Error).message}`);
      }
      const key = a.join(",");
      const first = seen.get(key);
      if (first !== undefined)
        throw new Error(`${file}: line ${i + 1} repeats the architecture of line ${first}`);
      seen.set(key, i + 1);
      archs.push(a);
    });
  if (archs.length < 3)
    throw new Error(`${file}: ${archs.length} architecture(s); rank statistics need at least 3`);
  return archs;
}

export interface RankPanelOut {
  readonly bn: BnEvalMode;
  readonly analysis: RankAnalysis;
  readonly points: readonly { arch: string; supernet: number; standalone: number }[];
}

/** Pairs scores with records per BN mode and analyses each mode. */
export function rankPanels(
  scores: readonly ScoredArch[],
  records: readonly GroundTruthRecord[],
  bns: readonly BnEvalMode[],
  opts: { readonly resamples: number; readonly seed: number },
): RankPanelOut[] {
  checkComparable(records);
  const truth = new Map(records.map((r) => [r.arch, r.testTop1]));
  return bns.map((bn) => {
    const points = scores
      .filter((s) => s.bn === bn)
      .map((s) => {
        const standalone = truth.get(s.arch);
        if (standalone === undefined) throw new Error(`no stand-alone record for ${s.arch}`);
        return { arch: s.arch, supernet: s.top1, standalone };
      });
    return {
      bn,
      points,
      analysis: analyseRanking(points, { resamples: opts.resamples, level: 0.95, seed: opts.seed }),
    };
  });
}

/**
 * ranking.json: viz RankingPanel[]; modes whose tau-b or CI is undefined
 * are left out (and returned).
 */
export function rankingJson(panels: readonly RankPanelOut[]): {
  json: unknown[];
  skipped: string[];
} {
  const json: unknown[] = [];
  const skipped: string[] = [];
  for (const p of panels) {
    const a = p.analysis;
    if (!a.tauB.defined || "reason" in a.tauCi || !a.spearman.defined) {
      skipped.push(`${p.bn}: ${describeAnalysis(a)}`);
      continue;
    }
    json.push({
      bn: p.bn,
      points: p.points,
      n: a.n,
      tauB: {
        value: a.tauB.value,
        lo: a.tauCi.lo,
        hi: a.tauCi.hi,
        pValue: a.tauB.pValue,
        level: a.level,
        resamples: a.resamples,
      },
      spearman: a.spearman.value,
      spearmanP: a.spearman.pValue,
      topK: a.topK,
      gap: a.gap,
      truth: "stand-alone test top-1",
      proxy: "supernet validation top-1",
    });
  }
  return { json, skipped };
}

export function rankingCsv(
  scores: readonly ScoredArch[],
  records: readonly GroundTruthRecord[],
): string {
  const rec = new Map(records.map((r) => [r.arch, r]));
  const head =
    "arch,hash,madds,params,bn,supernet_val_top1," +
    "standalone_val_top1,standalone_test_top1,epochs,seed";
  const lines = scores.map((s) => {
    const r = rec.get(s.arch)!;
    return [
      s.arch,
      s.hash,
      s.madds,
      s.params,
      s.bn,
      s.top1.toFixed(6),
      r.valTop1.toFixed(6),
      r.testTop1.toFixed(6),
      r.budget.epochs,
      r.seed,
    ].join(",");
  });
  return `${[head, ...lines].join("\n")}\n`;
}

/** similarity.json record (viz SimilarityRecord plus what the input was). */
export function similarityRecord(s: SimilarityResult, prefix = ""): Record<string, unknown> {
  return {
    layer: `${prefix}${s.layer}`,
    choices: s.choices,
    matrix: s.matrix,
    path: s.path,
    images: s.images,
    measure: "mean channel-wise cosine of block outputs (before residual), tracked BN",
  };
}

/** Similarity of layer `layer`'s choices on `images` validation images (a seeded subset). */
export async function similarityOn(
  gpu: Gpu,
  net: Supernet,
  cfg: RunConfig,
  data: DataSplits,
  layer: number,
  images = 64,
): Promise<SimilarityResult> {
  const idx = drawnSubset(data.valOrder, images);
  const [batch] = deviceBatches(gpu, data.set, idx, data.norm, idx.length, net.space);
  try {
    return await featureSimilarity(gpu, net, batch.x, layer);
  } finally {
    batch.dispose();
  }
}

export interface RankFiles {
  readonly dir: string;
  readonly scores: readonly ScoredArch[];
  readonly records: readonly GroundTruthRecord[];
  readonly panels: readonly RankPanelOut[];
  readonly similarity: SimilarityResult | null;
}

/** Writes ranking.csv, ranking.json and (when given) similarity.json; logs the table. */
export function writeRankFiles(f: RankFiles, log: Logger): void {
  writeAtomic(join(f.dir, "ranking.csv"), rankingCsv(f.scores, f.records));
  const { json, skipped } = rankingJson(f.panels);
  writeAtomic(join(f.dir, "ranking.json"), `${JSON.stringify(json, null, 2)}\n`);
  if (f.similarity)
    writeAtomic(
      join(f.dir, "similarity.json"),
      `${JSON.stringify([similarityRecord(f.similarity)], null, 2)}\n`,
    );
  log.info("");
  log.info(
    "rank correlation (proxy: supernet val top-1; truth: stand-alone test top-1; " +
      "95% bootstrap CI):",
  );
  for (const p of f.panels) log.info(`  bn ${p.bn.padEnd(7)} | ${describeAnalysis(p.analysis)}`);
  for (const s of skipped) log.warn(`left out of ranking.json (undefined statistic): ${s}`);
  const n = f.panels[0]?.analysis.n ?? 0;
  if (n > 0 && n < RELIABLE_BOOTSTRAP_N) {
    log.warn(
      `only ${n} architectures: a bootstrap interval needs about ${RELIABLE_BOOTSTRAP_N} or ` +
        `more (with few points it collapses, e.g. to [1.000, 1.000] for a perfect ranking); ` +
        `read the p-value instead, or rank more architectures (--archs)`,
    );
  }
}

/**
 * Below this many architectures the percentile bootstrap of tau-b cannot
 * show its uncertainty: resamples of a few points repeat them, and
 * repeated points are ties that tau-b leaves out, so a perfect ranking of
 * 3 gives [1, 1].
 */
export const RELIABLE_BOOTSTRAP_N = 10;

export function archKeys(space: ResolvedSpace, archs: readonly Arch[]): string[] {
  return archs.map((a) => archToString(space, a));
}

export interface RankStageInput {
  /** A trained run directory (config.json, checkpoints/supernet.ckpt). */
  readonly run: string;
  /** A count (stratified sample) or explicit architectures. */
  readonly archs: number | readonly Arch[];
  readonly bn: RunConfig["eval"]["bn"];
  readonly log: Logger;
  readonly standalone?: StandaloneOptions;
  /** Sampling and bootstrap seed (default: the run's seed). */
  readonly seed?: number;
  readonly resamples?: number;
  /** Layer index for similarity.json; null: none. */
  readonly similarityLayer?: number | null;
}

/**
 * The whole `nas-cli rank`: scores the architectures with the run's
 * supernet, trains (or reuses) their stand-alone records in RUN/standalone,
 * and writes RUN/ranking.csv, RUN/ranking.json and, when asked,
 * RUN/similarity.json. Returns the panels.
 */
export async function rankStage(input: RankStageInput): Promise<RankPanelOut[]> {
  const { log } = input;
  // Said first, so a user who wants to keep them can stop before the training.
  const withSimilarity = input.similarityLayer !== null && input.similarityLayer !== undefined;
  const earlier = ["ranking.json", "ranking.csv", ...(withSimilarity ? ["similarity.json"] : [])];
  const found = earlier.filter((name) => existsSync(join(input.run, name)));
  if (found.length > 0) log.warn(`this rank will replace ${found.join(", ")} in ${input.run}`);
  const run = await openRun(input.run, log, (c) => ({ ...c, eval: { ...c.eval, bn: input.bn } }));
  try {
    const { cfg, space, gpu, net, data } = run;
    const seed = input.seed ?? cfg.seed;
    const taken = runArchitectures(input.run);
    const archs =
      typeof input.archs === "number"
        ? rankArchs(space, input.archs, seed, taken, log)
        : [...input.archs];
    const overlap = archKeys(space, archs).filter((a) => taken.has(a));
    if (overlap.length > 0)
      log.warn(
        `${overlap.length} architectures also appear in the run's architectures.csv: ` +
          overlap.slice(0, 3).join(", "),
      );
    log.info(`scoring ${archs.length} architectures with the supernet (bn ${input.bn})`);
    const scores = await scoreArchs(gpu, net, cfg, data, archs, log);
    const ctx = { gpu, cfg, space, data, dir: join(input.run, "standalone"), log };
    const records: GroundTruthRecord[] = [];
    for (const [i, a] of archs.entries()) {
      log.info(`ground truth ${i + 1}/${archs.length}`);
      records.push(await retrainArch(ctx, a, { reuse: true, resume: true, ...input.standalone }));
    }
    const panels = rankPanels(scores, records, bnModes(input.bn), {
      resamples: input.resamples ?? 1000,
      seed,
    });
    const layer = input.similarityLayer;
    const similarity =
      layer === null || layer === undefined ? null : await similarityOn(gpu, net, cfg, data, layer);
    writeRankFiles({ dir: input.run, scores, records, panels, similarity }, log);
    return panels;
  } finally {
    run.close();
  }
}
