// The PONAS pipeline on a run directory: meta-training of the largest path,
// weight inheritance into every candidate block, strict-fair fine-tuning,
// the progressive candidate table, and (optionally) a budget sweep of
// specialized networks scored on the fine-tuned supernet.
//
// Search space: the "-ponas" variant of cfg.space (SE on/off choices).
// Files written in the run directory:
//   config.json                       the resolved configuration
//   metrics.jsonl                     step records (sampler "ponas-meta" then
//                                     "fair"; steps numbered across both
//                                     stages) and one "ponas-row" per layer
//   checkpoints/ponas-meta.ckpt       meta-training (resume)
//   checkpoints/ponas-supernet.ckpt   fine-tuned supernet (resume, sweeps)
//   ponas-table.json                  the saved table (see nas/ponas/saved.ts)
//   ponas.json                        the viz record: table, max loss,
//                                     startpoint, sweep
// Resume (opts.resume): a finished fine-tune checkpoint skips meta-training
// and inheritance; a meta checkpoint continues meta-training. The table is
// always measured again.

import { existsSync } from "node:fs";
import type { Gpu, Logger } from "@fairnas/kernels";
import {
  BatchStream,
  batchesPerStep,
  exportState,
  FixedPathModel,
  inheritWeights,
  LayerCandidatesModel,
  metaArch,
  progressiveTable,
  restoreSupernet,
  saveCheckpoint,
  Supernet,
  SupernetModel,
  SupernetTrainer,
  tableArchString,
  tableFile,
  trainLoop,
  upload,
  CHECKPOINT_FORMAT,
  type Arch,
  type EvalData,
  type PonasTableFile,
  type ResolvedSpace,
  type SamplerName,
  type StepReport,
  type StreamState,
  type SupernetCheckpointMeta,
  type TableRow,
  type TrainableModel,
} from "@fairnas/nas";
import { checkTrainBatches, configTable, optimSettings, type RunConfig } from "../config.ts";
import { compareWithSearch, type CompareRecord } from "./ponas-compare.ts";
import {
  logSweep,
  recordFile,
  supernetScorer,
  sweepPoints,
  type PonasRecordFile,
  type SweepRecordPoint,
} from "./ponas-sweep.ts";
import { fmt, makeDir, Metrics, progress, writeAtomic } from "../output.ts";
import { ponasPath, ponasSpace, tableEvalData } from "./ponas-files.ts";
import { loadSplits, openGpu, runPath, type DataSplits } from "../session.ts";

export interface PonasStageOptions {
  /** Continue from the run directory's checkpoints. */
  readonly resume: boolean;
  /** Budget sweep with measured accuracy after the table (default true). */
  readonly sweep?: boolean;
  /** Budgeted cost of the sweep (default "madds"). */
  readonly sweepKey?: "madds" | "params";
  /**
   * After a MAdds sweep, run one search on the fine-tuned supernet and
   * compare it with the specialized networks (default: as `sweep`).
   */
  readonly compare?: boolean;
}

export interface PonasOutcome {
  readonly table: PonasTableFile;
  readonly record: PonasRecordFile;
  readonly seconds: {
    readonly meta: number;
    readonly finetune: number;
    readonly table: number;
    readonly sweep: number;
    readonly compare: number;
  };
}

/** A training stage as data; meta-training and fine-tuning differ only here. */
interface TrainStage {
  readonly name: "ponas-meta" | "fair";
  readonly epochs: number;
  readonly sampler: SamplerName;
  readonly model: (gpu: Gpu, net: Supernet) => TrainableModel;
  readonly checkpoint: string;
  readonly warmupEpochs: number;
}

interface Ctx {
  readonly dir: string;
  readonly cfg: RunConfig;
  readonly space: ResolvedSpace;
  readonly data: DataSplits;
  readonly gpu: Gpu;
  readonly net: Supernet;
  readonly metrics: Metrics;
  readonly log: Logger;
}

function stagesFor(dir: string, cfg: RunConfig, meta: Arch): [TrainStage, TrainStage] {
  const p = cfg.ponas;
  return [
    {
      name: "ponas-meta",
      epochs: p.metaEpochs,
      sampler: "spos",
      checkpoint: ponasPath(dir, "metaCheckpoint"),
      model: (gpu, net) => new FixedPathModel(gpu, net, meta),
      warmupEpochs: Math.min(cfg.train.warmupEpochs, p.metaEpochs / 2),
    },
    {
      name: "fair",
      epochs: p.finetuneEpochs,
      sampler: "fair",
      checkpoint: ponasPath(dir, "supernet"),
      model: (gpu, net) => new SupernetModel(gpu, net),
      warmupEpochs: 0,
    },
  ];
}

function stageSteps(cfg: RunConfig, stage: TrainStage, choices: number, images: number): number {
  if (stage.epochs === 0) return 0;
  const perStep = cfg.train.batchSize * batchesPerStep(stage.sampler, choices, cfg.train.sameBatch);
  return Math.max(1, Math.round((stage.epochs * images) / perStep));
}

/**
 * Runs steps [start, total) of one stage with the usual trainer and loop
 * (checkpoints every train.checkpointEvery steps and at the end).
 * `offset` numbers this stage's steps after the earlier stage's in metrics.
 */
async function runStage(
  ctx: Ctx,
  stage: TrainStage,
  total: number,
  resumeFrom: SupernetCheckpointMeta | null,
  offset: number,
): Promise<number> {
  const { cfg, gpu, net, space, data, log } = ctx;
  const t = cfg.train;
  const model = stage.model(gpu, net);
  const start = resumeFrom
    ? { updates: resumeFrom.updates, counts: resumeFrom.counts }
    : { updates: 0 };
  const startStep = resumeFrom?.step ?? 0;
  const trainer = new SupernetTrainer(
    gpu,
    model,
    {
      sampler: stage.sampler,
      seed: cfg.seed,
      sameBatch: t.sameBatch,
      schedule: {
        lr: t.lr,
        minLr: t.minLr,
        totalUpdates: total,
        warmupUpdates: Math.round((stage.warmupEpochs / stage.epochs) * total),
      },
      optim: optimSettings(t),
    },
    start,
  );
  const batches = await trainStream(ctx, resumeFrom?.stream);
  const source = {
    next: async () => upload(gpu, await batches.next(), space.spec.input),
    state: () => batches.state(),
  };

  log.info(
    `${stage.name}: steps ${startStep}..${total} ` +
      `(${stage.epochs} epochs of ${data.train.length} images)`,
  );
  const bar = progress(log, total, t.logEvery);
  const t0 = performance.now();
  const onStep = (r: StepReport) => {
    const done = r.step + 1;
    const rate = r.pathImages / (r.ms / 1000);
    bar.update(
      done,
      `${stage.name.padEnd(10)} step ${String(done).padStart(5)}/${total} | ` +
        `loss ${fmt(r.loss)} | acc ${fmt(100 * r.top1, 1, 5)}% | lr ${r.lr.toExponential(1)} | ` +
        `${fmt(r.ms, 1, 6)} ms/step`,
    );
    if (done % t.logEvery === 0 || done === total) {
      ctx.metrics.write({
        type: "step",
        sampler: stage.name,
        step: offset + done,
        epoch: (done * stage.epochs) / total,
        updates: trainer.updateCount,
        loss: r.loss,
        top1: r.top1,
        lr: r.lr,
        msPerStep: r.ms,
        pathImagesPerSec: rate,
        poolHighWaterBytes: r.poolHighWaterBytes,
      });
    }
  };
  try {
    await trainLoop(
      gpu,
      net,
      trainer,
      source,
      {
        totalSteps: total,
        startStep,
        checkpointEvery: t.checkpointEvery,
        checkpointPath: stage.checkpoint,
        config: { run: cfg, stage: stage.name },
      },
      { onStep },
    );
  } finally {
    bar.done();
    await batches.close();
  }
  return (performance.now() - t0) / 1000;
}

function trainStream(ctx: Ctx, state: StreamState | undefined): Promise<BatchStream> {
  const { cfg, data } = ctx;
  const t = cfg.train;
  return BatchStream.inWorker(
    data.set,
    data.train,
    {
      batchSize: t.batchSize,
      shuffle: true,
      dropLast: true,
      augment: t.cropPad > 0 || t.flip ? { cropPad: t.cropPad, flip: t.flip } : null,
      seed: cfg.seed,
      norm: data.norm,
    },
    state,
  );
}

/** Writes the current supernet as a finished stage checkpoint (used when a stage has 0 steps). */
async function saveAsCheckpoint(ctx: Ctx, path: string, stream: StreamState): Promise<void> {
  const { gpu, net, cfg } = ctx;
  const meta: SupernetCheckpointMeta = {
    format: CHECKPOINT_FORMAT,
    kind: "supernet",
    step: 0,
    updates: 0,
    counts: net.space.layers.map(() => net.space.spec.choices.map(() => 0)),
    stream,
    spaceName: net.space.spec.name,
    spaceSignature: net.space.signature,
    config: { run: cfg, stage: "fair" },
  };
  await saveCheckpoint(path, { meta, tensors: await exportState(gpu, net) });
}

/** Meta-training (or its resume), then inheritance; returns seconds spent. */
async function metaAndInherit(
  ctx: Ctx,
  stages: [TrainStage, TrainStage],
  resume: boolean,
): Promise<number> {
  const [meta] = stages;
  const total = stageSteps(ctx.cfg, meta, 1, ctx.data.train.length);
  let from: SupernetCheckpointMeta | null = null;
  if (resume && existsSync(meta.checkpoint)) {
    from = await restoreSupernet(ctx.gpu, ctx.net, meta.checkpoint);
    ctx.log.info(`resumed meta-training from ${meta.checkpoint} at step ${from.step}`);
  }
  ctx.metrics.truncateAfter(from?.step ?? -1);
  const seconds = (from?.step ?? 0) < total ? await runStage(ctx, meta, total, from, 0) : 0;

  const mode = ctx.cfg.ponas.inherit;
  const r = await inheritWeights(ctx.gpu, ctx.net, mode);
  ctx.log.info(
    `inheritance (${mode}): ${r.written.reduce((a, b) => a + b, 0)} candidate blocks ` +
      "initialized from the meta blocks",
  );
  return seconds;
}

async function finetune(
  ctx: Ctx,
  stages: [TrainStage, TrainStage],
  from: SupernetCheckpointMeta | null,
): Promise<number> {
  const [meta, fine] = stages;
  const offset = stageSteps(ctx.cfg, meta, 1, ctx.data.train.length);
  const total = stageSteps(ctx.cfg, fine, ctx.space.spec.choices.length, ctx.data.train.length);
  if (total === 0) {
    await saveAsCheckpoint(ctx, fine.checkpoint, { epoch: 0, position: 0, batches: 0 });
    return 0;
  }
  if ((from?.step ?? 0) >= total) return 0;
  return runStage(ctx, fine, total, from, offset);
}

/** The progressive table with optional per-layer training (ponas.layerSteps). */
async function measureTable(ctx: Ctx, ev: EvalData): Promise<TableRow[]> {
  const { gpu, net, cfg, space, log } = ctx;
  const meta = metaArch(space);
  const trainLayer =
    cfg.ponas.layerSteps > 0
      ? (layer: number, base: Arch) => trainLayerCandidates(ctx, layer, base)
      : undefined;
  log.info(
    `candidate table: ${space.layers.length} layers x ${space.spec.choices.length} choices ` +
      `on ${ev.batches.reduce((s, b) => s + b.n, 0)} validation images`,
  );
  // The table is always measured again: rows of an earlier attempt go.
  ctx.metrics.dropType("ponas-row");
  const res = await progressiveTable(gpu, net, {
    meta,
    data: ev,
    trainLayer,
    onRow: (row) => {
      const label = space.layers[row.layer].label;
      const best = row.top1[row.chosen];
      log.info(
        `row ${String(row.layer + 1).padStart(2)}/${space.layers.length} | ${label.padEnd(14)} | ` +
          `best ${space.tokens[row.chosen].padEnd(6)} top-1 ${fmt(100 * best, 2, 6)}% | ` +
          `worst ${fmt(100 * Math.min(...row.top1), 2, 6)}% | ${fmt(row.seconds, 1, 5)} s`,
      );
      ctx.metrics.write({
        type: "ponas-row",
        layer: label,
        top1: row.top1,
        loss: row.loss,
        chosen: space.tokens[row.chosen],
      });
    },
  });
  return res.rows;
}

/**
 * NOTE: one-shot training inside a layer uses a tenth of train.lr, cosine
 * to train.minLr, over ponas.layerSteps fair steps: the supernet is already
 * trained and only needs the layer's candidates adapted to the new context.
 */
async function trainLayerCandidates(ctx: Ctx, layer: number, base: Arch): Promise<void> {
  const { gpu, net, cfg } = ctx;
  const t = cfg.train;
  const steps = cfg.ponas.layerSteps;
  const trainer = new SupernetTrainer(gpu, new LayerCandidatesModel(gpu, net, base, layer), {
    sampler: "fair",
    seed: cfg.seed + 1 + layer,
    sameBatch: true,
    schedule: {
      lr: t.lr / 10,
      minLr: Math.min(t.minLr, t.lr / 10),
      totalUpdates: steps,
      warmupUpdates: 0,
    },
    optim: optimSettings(t),
  });
  const batches = await trainStream(ctx, { epoch: layer + 1, position: 0, batches: 0 });
  const source = { next: async () => upload(gpu, await batches.next(), ctx.space.spec.input) };
  try {
    for (let s = 0; s < steps; s++) await trainer.step(s, source);
  } finally {
    await batches.close();
  }
}

/**
 * The PONAS pipeline into run directory `dir` (see the file comment).
 * Opens and closes its own device. For `nas-cli run --mode ponas`:
 * `await ponasStage(dir, cfg, { resume }, log)`.
 */
export async function ponasStage(
  dir: string,
  cfg: RunConfig,
  opts: PonasStageOptions,
  log: Logger,
): Promise<PonasOutcome> {
  const space = ponasSpace(cfg);
  const data = await loadSplits(cfg, space);
  checkTrainBatches(cfg, data.train.length);
  makeDir(dir, "run directory");
  const gpu = await openGpu(log);
  const net = new Supernet(gpu, space, cfg.seed);
  try {
    log.info("configuration:");
    log.info(
      configTable(cfg, {
        device: gpu.adapter.description,
        "ponas.space": space.spec.name,
        "ponas.meta": space.tokens[metaArch(space)[0]],
        "space.layers": String(space.layers.length),
        "space.choices": space.tokens.join(" "),
        "data.train/val/test": `${data.train.length}/${data.val.length}/${data.test.n}`,
        "run.dir": dir,
      }),
    );
    writeAtomic(runPath(dir, "config"), `${JSON.stringify(cfg, null, 2)}\n`);
    const ctx: Ctx = {
      dir,
      cfg,
      space,
      data,
      gpu,
      net,
      log,
      metrics: new Metrics(runPath(dir, "metrics")),
    };
    return await pipeline(ctx, opts);
  } finally {
    net.dispose();
    gpu.destroy();
  }
}

async function pipeline(ctx: Ctx, opts: PonasStageOptions): Promise<PonasOutcome> {
  const { dir, cfg, space, gpu, net, log } = ctx;
  const stages = stagesFor(dir, cfg, metaArch(space));
  const final = stages[1].checkpoint;
  let seconds = { meta: 0, finetune: 0, table: 0, sweep: 0, compare: 0 };

  // Training: resume from the fine-tune checkpoint, else meta-train and inherit.
  let from: SupernetCheckpointMeta | null = null;
  if (opts.resume && existsSync(final)) {
    from = await restoreSupernet(gpu, net, final);
    const offset = stageSteps(cfg, stages[0], 1, ctx.data.train.length);
    ctx.metrics.truncateAfter(offset + from.step);
    log.info(`resumed fine-tuning from ${final} at step ${from.step}`);
  } else {
    seconds = { ...seconds, meta: await metaAndInherit(ctx, stages, opts.resume) };
  }
  seconds = { ...seconds, finetune: await finetune(ctx, stages, from) };

  const ev = tableEvalData(gpu, cfg, ctx.data, space);
  try {
    const t0 = performance.now();
    const rows = await measureTable(ctx, ev);
    const table = tableFile(
      space,
      rows.map((r) => r.top1),
      rows.map((r) => r.loss),
    );
    writeAtomic(ponasPath(dir, "table"), `${JSON.stringify(table, null, 1)}\n`);
    seconds = { ...seconds, table: (performance.now() - t0) / 1000 };
    log.info(
      `startpoint ${tableArchString(table, table.best)} | top-1 ${fmt(100 * table.startTop1, 2)}%`,
    );

    let points: SweepRecordPoint[] = [];
    if (opts.sweep ?? true) {
      const t1 = performance.now();
      points = await sweepPoints(
        table,
        opts.sweepKey ?? "madds",
        cfg.ponas.sweepPoints,
        null,
        supernetScorer(gpu, net, ev),
      );
      logSweep(log, points, space.spec.classes);
      seconds = { ...seconds, sweep: (performance.now() - t1) / 1000 };
    }
    let compare: CompareRecord | undefined;
    if ((opts.compare ?? opts.sweep ?? true) && points.some((p) => p.key === "madds")) {
      const t2 = performance.now();
      const run = { dir, cfg, space, data: ctx.data, gpu, net, close: () => undefined };
      compare = await compareWithSearch(run, table, points, seconds.table, log);
      seconds = { ...seconds, compare: (performance.now() - t2) / 1000 };
    }
    const record = { ...recordFile(table, points), ...(compare ? { compare } : {}) };
    writeAtomic(ponasPath(dir, "record"), `${JSON.stringify(record, null, 1)}\n`);
    return { table, record, seconds };
  } finally {
    ev.dispose();
  }
}
