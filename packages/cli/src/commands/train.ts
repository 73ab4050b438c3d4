// `nas-cli train`: supernet training into a run directory, with
// checkpoints and exact resume. `nas-cli run` calls the same function.

import { existsSync, readFileSync } from "node:fs";
import type { Gpu, Logger } from "@fairnas/kernels";
import {
  BatchStream,
  restoreSupernet,
  Supernet,
  SupernetModel,
  SupernetTrainer,
  trainLoop,
  updatesPerStep,
  upload,
  type ResolvedSpace,
  type StepReport,
  type StreamState,
} from "@fairnas/nas";
import { checkTrainBatches, configTable, optimSettings, type RunConfig } from "../config.ts";
import { fmt, makeDir, Metrics, mib, progress, writeAtomic } from "../output.ts";
import {
  loadSplits,
  loadSpace,
  openGpu,
  readStoredConfig,
  runPath,
  stepsFor,
  type DataSplits,
  type RunClock,
} from "../session.ts";

export interface TrainOutcome {
  readonly gpu: Gpu;
  readonly net: Supernet;
  readonly space: ResolvedSpace;
  readonly data: DataSplits;
  /** Steps of the whole training (all invocations, resumed or not). */
  readonly steps: number;
  /** Steps run by this invocation. */
  readonly stepsNow: number;
  /**
   * Path-images per second, seconds and pool high-water over every
   * completed training invocation of this run (`train-segment` records in
   * metrics.jsonl); an interrupted invocation's steps are not timed.
   */
  readonly pathImagesPerSec: number;
  readonly trainSeconds: number;
  readonly poolHighWaterBytes: number;
}

type SegmentRecord = {
  readonly type: "train-segment";
  readonly step: number;
  readonly fromStep: number;
  readonly seconds: number;
  readonly pathImages: number;
  readonly poolHighWaterBytes: number;
};

/** The completed training segments recorded in a metrics file. */
function segmentsIn(path: string): SegmentRecord[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l.includes('"train-segment"'))
    .map((l) => JSON.parse(l) as SegmentRecord);
}

/**
 * Resolves the config to use: on --resume the run directory's stored
 * config wins (a run continues as it began).
 */
export function configForRun(dir: string, cfg: RunConfig, resume: boolean, log: Logger): RunConfig {
  const path = runPath(dir, "config");
  if (!resume) return cfg;
  if (!existsSync(path)) throw new Error(`--resume: ${path} does not exist (nothing to resume)`);
  const stored = readStoredConfig(path);
  if (JSON.stringify(stored) !== JSON.stringify(cfg))
    log.warn(`--resume: using the configuration stored in ${path}`);
  return stored;
}

export async function trainSupernet(
  dir: string,
  cfg: RunConfig,
  resume: boolean,
  log: Logger,
  clock?: RunClock,
): Promise<TrainOutcome> {
  const space = loadSpace(cfg);
  const data = await loadSplits(cfg, space);
  checkTrainBatches(cfg, data.train.length);
  makeDir(dir, "run directory");
  const gpu = await openGpu(log);
  try {
    return await trainOn(gpu, dir, cfg, space, data, resume, log, clock);
  } catch (e) {
    gpu.destroy();
    throw e;
  }
}

async function trainOn(
  gpu: Gpu,
  dir: string,
  cfg: RunConfig,
  space: ResolvedSpace,
  data: DataSplits,
  resume: boolean,
  log: Logger,
  clock?: RunClock,
): Promise<TrainOutcome> {
  const t = cfg.train;
  const m = space.spec.choices.length;
  const totalSteps = stepsFor(cfg, data.train.length, m);
  const perStepUpdates = updatesPerStep(t.sampler, m);
  const totalUpdates = totalSteps * perStepUpdates;
  const updatesPerEpoch = totalUpdates / t.epochs;
  log.info("configuration:");
  log.info(
    configTable(cfg, {
      device: gpu.adapter.description,
      "space.layers": String(space.layers.length),
      "space.choices": space.tokens.join(" "),
      "data.train/val/test": `${data.train.length}/${data.val.length}/${data.test.n}`,
      "train.steps": String(totalSteps),
      "run.dir": dir,
    }),
  );
  writeAtomic(runPath(dir, "config"), `${JSON.stringify(cfg, null, 2)}\n`);

  const net = new Supernet(gpu, space, cfg.seed);
  const metrics = new Metrics(runPath(dir, "metrics"));
  const ckpt = runPath(dir, "checkpoint");
  let startStep = 0;
  let stream: StreamState | undefined;
  let start: { updates: number; counts?: readonly (readonly number[])[] } = { updates: 0 };
  if (resume && existsSync(ckpt)) {
    const meta = await restoreSupernet(gpu, net, ckpt);
    startStep = meta.step;
    stream = meta.stream;
    start = { updates: meta.updates, counts: meta.counts };
    metrics.truncateAfter(startStep);
    log.info(`resumed from ${ckpt} at step ${startStep}`);
  } else if (resume) {
    log.warn(`--resume: no checkpoint at ${ckpt}; starting from step 0`);
  }
  if (startStep === 0) metrics.truncateAfter(-1);

  const trainer = new SupernetTrainer(
    gpu,
    new SupernetModel(gpu, net),
    {
      sampler: t.sampler,
      seed: cfg.seed,
      sameBatch: t.sameBatch,
      schedule: {
        lr: t.lr,
        minLr: t.minLr,
        totalUpdates,
        warmupUpdates: Math.round(t.warmupEpochs * updatesPerEpoch),
      },
      optim: optimSettings(t),
    },
    start,
  );

  const batches = await BatchStream.inWorker(
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
    stream,
  );
  const source = {
    next: async () => upload(gpu, await batches.next(), space.spec.input),
    state: () => batches.state(),
  };

  gpu.pool.resetHighWater();
  const bar = progress(log, totalSteps, t.logEvery);
  const t0 = performance.now();
  let pathImages = 0;
  let lossAvg = Number.NaN;
  const onStep = (r: StepReport) => {
    pathImages += r.pathImages;
    lossAvg = Number.isNaN(lossAvg) ? r.loss : 0.9 * lossAvg + 0.1 * r.loss;
    const done = r.step + 1;
    const rate = r.pathImages / (r.ms / 1000);
    const line =
      `step ${String(done).padStart(5)}/${totalSteps} | loss ${fmt(r.loss)} | ` +
      `acc ${fmt(100 * r.top1, 1, 5)}% | ` +
      `lr ${r.lr.toExponential(1)} | ${fmt(r.ms, 1, 6)} ms/step | ${fmt(rate, 0)} path-img/s`;
    bar.update(done, line);
    if (done % t.logEvery === 0 || done === totalSteps) {
      metrics.write({
        type: "step",
        sampler: t.sampler,
        step: done,
        epoch: (done * t.epochs) / totalSteps,
        updates: trainer.updateCount,
        loss: r.loss,
        top1: r.top1,
        lr: r.lr,
        msPerStep: r.ms,
        pathImagesPerSec: rate,
        poolHighWaterBytes: r.poolHighWaterBytes,
      });
      metrics.write({
        type: "fairness",
        sampler: t.sampler,
        step: done,
        counts: trainer.counter.counts,
        spread: trainer.counter.spread(),
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
        totalSteps,
        startStep,
        checkpointEvery: t.checkpointEvery,
        checkpointPath: ckpt,
        config: cfg,
      },
      // The run's time so far is saved with each checkpoint, for --resume.
      { onStep, onCheckpoint: () => clock?.save() },
    );
  } finally {
    bar.done();
    await batches.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  const high = gpu.pool.stats().highWaterBytes;
  const steps = totalSteps - startStep;
  if (steps > 0) {
    log.info(
      `trained ${steps} steps in ${seconds.toFixed(1)} s | ` +
        `${(pathImages / seconds).toFixed(0)} path-images/s | pool high-water ${mib(high)}`,
    );
    const segment: SegmentRecord = {
      type: "train-segment",
      step: totalSteps,
      fromStep: startStep,
      seconds,
      pathImages,
      poolHighWaterBytes: high,
    };
    metrics.write(segment);
    warnIfNotLearning(log, lossAvg, space.spec.classes, t.lr);
  } else {
    log.info(`training already complete (${totalSteps} steps)`);
  }
  clock?.save();
  const all = segmentsIn(metrics.path);
  const sum = (f: (r: SegmentRecord) => number) => all.reduce((a, r) => a + f(r), 0);
  return {
    gpu,
    net,
    space,
    data,
    steps: totalSteps,
    stepsNow: steps,
    pathImagesPerSec:
      sum((r) => r.pathImages) /
      Math.max(
        sum((r) => r.seconds),
        1e-9,
      ),
    trainSeconds: sum((r) => r.seconds),
    poolHighWaterBytes: Math.max(0, ...all.map((r) => r.poolHighWaterBytes)),
  };
}

/**
 * Warns when the loss at the end of training (its moving average) is no
 * better than guessing uniformly among `classes` (ln classes): the
 * supernet has not learned, or training diverged, and what follows
 * (scores, search, retraining) rests on it. Finite losses get here; a
 * non-finite one has already stopped the run.
 */
export function warnIfNotLearning(log: Logger, loss: number, classes: number, lr: number): void {
  const chance = Math.log(classes);
  if (!(loss >= chance)) return;
  log.warn(
    `training ended at loss ${fmt(loss)} (moving average), no better than guessing among ` +
      `${classes} classes (${chance.toFixed(3)}): the supernet has not learned or training ` +
      `diverged (train.lr ${lr}); the scores and search that follow rest on it`,
  );
}
