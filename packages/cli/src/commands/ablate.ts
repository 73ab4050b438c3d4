// `nas-cli ablate`: the sampler ablation. One supernet per sampler, trained
// with the same seed, data and budget, in OUT/<sampler>/; the same
// stratified architecture set scored on each (both BN modes) and trained
// stand-alone once (OUT/standalone/); then per sampler and BN mode Kendall
// tau-b with a bootstrap CI, Spearman and the mean stand-alone minus
// supernet gap, plus the fairness counter spread over time. Writes
// OUT/config.json, OUT/metrics.jsonl (all samplers' step and fairness
// records), OUT/ablation.json, OUT/ablation.md, OUT/similarity.json.
//
// Budget: "images" (default) gives every sampler the number of path-images
// (images through the shared layers, counted once per path) that strict
// fairness sees in train.epochs; "updates" gives every sampler the same
// number of optimizer updates instead.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "@fairnas/kernels";
import {
  batchesPerStep,
  describeAnalysis,
  isSamplerName,
  updatesPerStep,
  type Arch,
  type GroundTruthRecord,
  type SamplerName,
} from "@fairnas/nas";
import { int, intAtLeast, parse, UsageError } from "../args.ts";
import { configTable, loadConfigFile, resolveConfig, type RunConfig } from "../config.ts";
import { writeAtomic } from "../output.ts";
import { checkOutDir, loadSplits, loadSpace, openGpu, stepsFor } from "../session.ts";
import {
  rankArchs,
  rankPanels,
  similarityOn,
  similarityRecord,
  type RankPanelOut,
} from "../stages/rank-stage.ts";
import { retrainArch, type StandaloneOptions } from "../stages/standalone-stage.ts";
import { scoreArchs, type ScoredArch } from "./score.ts";
import { trainSupernet } from "./train.ts";
import { positive } from "./train-arch.ts";

export type BudgetKind = "images" | "updates";

/** Paths one step of `s` trains (each on a batch). */
function pathsPerStep(s: SamplerName, m: number): number {
  return s === "spos" ? 1 : m;
}

/** Epoch multiplier that gives sampler `s` strict fairness's budget of the given kind. */
export function budgetFactor(
  s: SamplerName,
  m: number,
  sameBatch: boolean,
  kind: BudgetKind,
): number {
  const per = (x: SamplerName) =>
    (kind === "images" ? pathsPerStep(x, m) : updatesPerStep(x, m)) /
    batchesPerStep(x, m, sameBatch);
  return per("fair") / per(s);
}

/** The base config with sampler `s` and its budget-equalised epochs. */
export function samplerConfig(
  base: RunConfig,
  s: SamplerName,
  m: number,
  kind: BudgetKind,
): RunConfig {
  const f = budgetFactor(s, m, base.train.sameBatch, kind);
  const t = base.train;
  return {
    ...base,
    train: { ...t, sampler: s, epochs: t.epochs * f, warmupEpochs: t.warmupEpochs * f },
  };
}

export interface SamplerBudget {
  readonly sampler: SamplerName;
  readonly epochs: number;
  readonly steps: number;
  readonly updates: number;
  readonly pathImages: number;
}

export function samplerBudget(cfg: RunConfig, m: number, trainImages: number): SamplerBudget {
  const t = cfg.train;
  const steps = stepsFor(cfg, trainImages, m);
  return {
    sampler: t.sampler,
    epochs: t.epochs,
    steps,
    updates: steps * updatesPerStep(t.sampler, m),
    pathImages: steps * t.batchSize * pathsPerStep(t.sampler, m),
  };
}

interface SamplerResult {
  readonly budget: SamplerBudget;
  readonly scores: readonly ScoredArch[];
  readonly similarity: Record<string, unknown>;
  readonly fairness: readonly { step: number; maxSpread: number }[];
  readonly metricsText: string;
  readonly cpuSeconds: number;
}

export interface AblateInput {
  readonly out: string;
  readonly cfg: RunConfig;
  readonly samplers: readonly SamplerName[];
  readonly archs: number;
  readonly budget: BudgetKind;
  readonly resume: boolean;
  readonly standalone: StandaloneOptions;
  readonly resamples: number;
  readonly log: Logger;
}

export async function ablateJob(input: AblateInput): Promise<void> {
  const { out, cfg, log } = input;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const space = loadSpace(cfg);
  const m = space.spec.choices.length;
  const archs = rankArchs(space, input.archs, cfg.seed, new Set(), log);
  writeAtomic(join(out, "config.json"), `${JSON.stringify(cfg, null, 2)}\n`);
  writeAtomic(
    join(out, "archs.txt"),
    `${archs.map((a) => a.map((c) => space.tokens[c]).join("-")).join("\n")}\n`,
  );

  const results = new Map<SamplerName, SamplerResult>();
  for (const s of input.samplers)
    results.set(s, await runSampler(input, samplerConfig(cfg, s, m, input.budget), archs));
  const records = await groundTruth(input, archs);

  const rows: Record<string, unknown>[] = [];
  const undefinedRows: string[] = [];
  for (const [s, r] of results) {
    for (const p of rankPanels(r.scores, records, ["recal", "tracked"], {
      resamples: input.resamples,
      seed: cfg.seed,
    })) {
      const row = ablationRow(s, p);
      if (row) rows.push(row);
      else undefinedRows.push(`${s} bn ${p.bn}: ${describeAnalysis(p.analysis)}`);
    }
  }
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const wallSeconds = (performance.now() - t0) / 1000;
  const budgetText =
    input.budget === "images"
      ? "equal path-images: every sampler sees as many images through the shared layers " +
        "(counted once per path) as strict fairness in train.epochs"
      : "equal optimizer updates: every sampler makes as many updates as strict fairness " +
        "in train.epochs";
  const ablation = {
    rows,
    undefinedRows,
    budget: {
      kind: input.budget,
      text: budgetText,
      samplers: [...results.values()].map((r) => r.budget),
    },
    truth: "stand-alone test top-1",
    proxy: "supernet validation top-1 (inherited weights)",
    archs: archs.length,
    standaloneKey: records.length > 0 ? comparisonText(records[0]) : null,
    fairness: Object.fromEntries([...results].map(([s, r]) => [s, r.fairness])),
    cpuSeconds,
    wallSeconds,
    samplerCpuSeconds: Object.fromEntries([...results].map(([s, r]) => [s, r.cpuSeconds])),
  };
  writeAtomic(join(out, "ablation.json"), `${JSON.stringify(ablation, null, 2)}\n`);
  writeAtomic(
    join(out, "similarity.json"),
    `${JSON.stringify(
      [...results.values()].map((r) => r.similarity),
      null,
      2,
    )}\n`,
  );
  writeAtomic(join(out, "metrics.jsonl"), [...results.values()].map((r) => r.metricsText).join(""));
  const table = ablationTable(rows, results, budgetText, cpuSeconds, wallSeconds, archs.length);
  writeAtomic(join(out, "ablation.md"), table);
  log.info("");
  for (const line of table.trimEnd().split("\n")) log.info(line);
  for (const u of undefinedRows) log.warn(`undefined statistic, row left out: ${u}`);
  log.info(`ablation directory: ${out}`);
}

function comparisonText(r: GroundTruthRecord): string {
  return (
    `epochs ${r.budget.epochs}, batch ${r.budget.batchSize}, lr ${r.budget.lr}, seed ${r.seed}, ` +
    `train ${r.split.trainImages} / val ${r.split.valSize} / test ${r.split.testImages} images`
  );
}

async function runSampler(
  input: AblateInput,
  cfg: RunConfig,
  archs: readonly Arch[],
): Promise<SamplerResult> {
  const { log } = input;
  const s = cfg.train.sampler;
  const dir = join(input.out, s);
  const cpu0 = process.cpuUsage();
  log.info(`=== sampler ${s}: ${cfg.train.epochs} epochs ===`);
  const t = await trainSupernet(dir, cfg, input.resume, log);
  try {
    const m = t.space.spec.choices.length;
    const budget = samplerBudget(cfg, m, t.data.train.length);
    const evalCfg = { ...cfg, eval: { ...cfg.eval, bn: "both" as const } };
    const scores = await scoreArchs(t.gpu, t.net, evalCfg, t.data, archs, log);
    const sim = await similarityOn(t.gpu, t.net, cfg, t.data, 0);
    const metricsText = readFileSync(join(dir, "metrics.jsonl"), "utf8");
    const fairness = metricsText
      .split("\n")
      .filter((l) => l.includes('"fairness"'))
      .map((l) => {
        const r = JSON.parse(l) as { step: number; spread: number[] };
        return { step: r.step, maxSpread: Math.max(...r.spread) };
      });
    const cpu = process.cpuUsage(cpu0);
    return {
      budget,
      scores,
      similarity: similarityRecord(sim, `${s} · `),
      fairness,
      metricsText,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
    };
  } finally {
    t.net.dispose();
    t.gpu.destroy();
  }
}

async function groundTruth(
  input: AblateInput,
  archs: readonly Arch[],
): Promise<GroundTruthRecord[]> {
  const { cfg, log } = input;
  const space = loadSpace(cfg);
  const data = await loadSplits(cfg, space);
  const gpu = await openGpu(log);
  const ctx = { gpu, cfg, space, data, dir: join(input.out, "standalone"), log };
  try {
    const out: GroundTruthRecord[] = [];
    for (const [i, a] of archs.entries()) {
      log.info(`=== ground truth ${i + 1}/${archs.length} ===`);
      out.push(await retrainArch(ctx, a, { reuse: true, resume: true, ...input.standalone }));
    }
    return out;
  } finally {
    gpu.destroy();
  }
}

/** viz AblationRow plus p-value and top-k; null when a statistic is undefined. */
function ablationRow(s: SamplerName, p: RankPanelOut): Record<string, unknown> | null {
  const a = p.analysis;
  if (!a.tauB.defined || "reason" in a.tauCi || !a.spearman.defined) return null;
  return {
    sampler: s,
    bn: p.bn,
    tauB: a.tauB.value,
    tauLo: a.tauCi.lo,
    tauHi: a.tauCi.hi,
    pValue: a.tauB.pValue,
    spearman: a.spearman.value,
    gap: a.gap,
    n: a.n,
    topK: a.topK,
  };
}

function ablationTable(
  rows: readonly Record<string, unknown>[],
  results: ReadonlyMap<SamplerName, SamplerResult>,
  budgetText: string,
  cpuSeconds: number,
  wallSeconds: number,
  n: number,
): string {
  const num = (v: unknown, d: number) => (v as number).toFixed(d);
  const lines = [
    `Sampler ablation: ${n} architectures; budget: ${budgetText}.`,
    "Truth: stand-alone test top-1. Proxy: supernet validation top-1. " +
      "CI: 95% percentile bootstrap.",
    "",
    "| sampler | BN | tau-b | 95% CI | p | Spearman | gap (pp) | n | max spread (final) |",
    "|---|---|---|---|---|---|---|---|---|",
    ...rows.map((r) => {
      const f = results.get(r.sampler as SamplerName)!.fairness;
      const spread = f.length > 0 ? String(f[f.length - 1].maxSpread) : "-";
      const ci = `[${num(r.tauLo, 3)}, ${num(r.tauHi, 3)}]`;
      const p = (r.pValue as number).toPrecision(2);
      const gap = num(100 * (r.gap as number), 2);
      return (
        `| ${r.sampler} | ${r.bn} | ${num(r.tauB, 3)} | ${ci} | ${p} | ` +
        `${num(r.spearman, 3)} | ${gap} | ${r.n} | ${spread} |`
      );
    }),
    "",
    "| sampler | epochs | steps | updates | path-images | CPU s |",
    "|---|---|---|---|---|---|",
    ...[...results.values()].map((r) => {
      const b = r.budget;
      const cells = [b.sampler, b.epochs, b.steps, b.updates, b.pathImages];
      return `| ${cells.join(" | ")} | ${r.cpuSeconds.toFixed(0)} |`;
    }),
    "",
    `CPU time ${cpuSeconds.toFixed(0)} s (user + system, all threads of this process), ` +
      `wall ${wallSeconds.toFixed(0)} s.`,
  ];
  return `${lines.join("\n")}\n`;
}

export async function ablateCommand(args: string[], log: Logger): Promise<void> {
  const { values: v } = parse(args, {
    samplers: { type: "string" },
    preset: { type: "string" },
    config: { type: "string" },
    data: { type: "string" },
    out: { type: "string" },
    archs: { type: "string" },
    seed: { type: "string" },
    epochs: { type: "string" },
    budget: { type: "string" },
    resume: { type: "boolean" },
    "test-images": { type: "string" },
    resamples: { type: "string" },
  });
  const samplers = (v.samplers ?? "fair,spos,ef,ef-lr").split(",").map((s) => s.trim());
  for (const s of samplers)
    if (!isSamplerName(s))
      throw new UsageError(`--samplers: unknown sampler '${s}' (fair, spos, ef, ef-lr)`);
  if (new Set(samplers).size !== samplers.length)
    throw new UsageError("--samplers: a sampler is listed twice");
  const budget = v.budget ?? "images";
  if (budget !== "images" && budget !== "updates")
    throw new UsageError(`--budget must be images or updates, got '${budget}'`);
  const archs = int("archs", v.archs) ?? 20;
  if (archs < 3)
    throw new UsageError(`--archs ${archs}: rank statistics need at least 3 architectures`);
  // Every flag is read before anything trains.
  const resamples = intAtLeast("resamples", v.resamples, 1) ?? 1000;
  const standalone = {
    epochs: positive("epochs", v.epochs),
    testImages: int("test-images", v["test-images"]),
  };
  const overrides: Record<string, unknown> = {};
  if (v.data) overrides.data = v.data;
  const seed = int("seed", v.seed);
  if (seed !== undefined) overrides.seed = seed;
  const cfg = resolveConfig(
    v.preset ?? "fmnist",
    v.config ? loadConfigFile(v.config) : null,
    overrides,
  );
  const out = v.out ?? join("runs", `ablation-${cfg.preset}-seed${cfg.seed}`);
  checkOutDir(out);
  if (existsSync(join(out, "ablation.json")) && !v.resume)
    log.warn(`${out} holds an earlier ablation; its files are overwritten`);
  log.info("configuration:");
  log.info(
    configTable(cfg, {
      "ablation.samplers": samplers.join(","),
      "ablation.archs": String(archs),
      "ablation.budget": budget,
      "out.dir": out,
    }),
  );
  await ablateJob({
    out,
    cfg,
    samplers: samplers as SamplerName[],
    archs,
    budget: budget as BudgetKind,
    resume: v.resume ?? false,
    standalone,
    resamples,
    log,
  });
}
