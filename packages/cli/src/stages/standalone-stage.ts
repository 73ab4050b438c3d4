// Stand-alone retraining as a stage: ground-truth records for a list of
// architectures, each trained from scratch on the run's split and stored
// as DIR/<hash>.json (metrics in DIR/<hash>.metrics.jsonl, checkpoint in
// DIR/checkpoints/<hash>.ckpt). A record already present is reused when it
// was made with the same split, budget and seed; one made otherwise stops
// the stage, since mixing budgets in one analysis is an error.

import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Gpu, Logger } from "@fairnas/kernels";
import {
  archHash,
  archToString,
  comparisonKey,
  costOf,
  GROUND_TRUTH_FORMAT,
  GroundTruthMixError,
  parseGroundTruth,
  standaloneSteps,
  trainStandalone,
  type Arch,
  type DeviceBatch,
  type GroundTruthRecord,
  type ResolvedSpace,
  type StandaloneSpec,
} from "@fairnas/nas";
import type { RunConfig } from "../config.ts";
import { fmt, Metrics, readJsonFile, writeAtomic } from "../output.ts";
import { deviceBatches, loadSplits, loadSpace, openGpu, type DataSplits } from "../session.ts";

export interface StandaloneOptions {
  /** Overrides cfg.standalone.epochs. */
  readonly epochs?: number;
  /** Test images scored (the first N of the test set; 0 or absent: all). */
  readonly testImages?: number;
  /** Continue from a checkpoint where one exists. */
  readonly resume?: boolean;
  /** Reuse a finished record of the same split and budget instead of retraining. */
  readonly reuse?: boolean;
}

export function standaloneSpec(
  cfg: RunConfig,
  arch: Arch,
  opts: StandaloneOptions = {},
): StandaloneSpec {
  const t = cfg.train;
  const s = cfg.standalone;
  const epochs = opts.epochs ?? s.epochs;
  return {
    arch: [...arch],
    seed: cfg.seed,
    epochs,
    batchSize: s.batchSize,
    lr: s.lr,
    minLr: s.lr * (t.minLr / t.lr),
    warmupEpochs: Math.min(t.warmupEpochs, epochs / 2),
    momentum: t.momentum,
    nesterov: t.nesterov,
    weightDecay: t.weightDecay,
    labelSmoothing: t.labelSmoothing,
    augment: t.cropPad > 0 || t.flip ? { cropPad: t.cropPad, flip: t.flip } : null,
    checkpointEvery: t.checkpointEvery,
  };
}

export function recordPath(dir: string, hash: string): string {
  return join(dir, `${hash}.json`);
}

/** The record at DIR/<hash>.json, or null; a malformed file throws. */
export function readRecord(dir: string, hash: string): GroundTruthRecord | null {
  const path = recordPath(dir, hash);
  if (!existsSync(path)) return null;
  return parseGroundTruth(path, readJsonFile(path, "delete it to retrain this architecture"));
}

/** Reads every record stored in `dir` before any work starts; a damaged one is named. */
export function checkRecords(dir: string): void {
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir).sort()) {
    const hash = /^([0-9a-f]+)\.json$/.exec(f)?.[1];
    if (hash !== undefined) readRecord(dir, hash);
  }
}

export interface StandaloneContext {
  readonly gpu: Gpu;
  readonly cfg: RunConfig;
  readonly space: ResolvedSpace;
  readonly data: DataSplits;
  /** Where records, metrics and checkpoints go. */
  readonly dir: string;
  readonly log: Logger;
}

/** The test images scored: the first `testImages` of the test set. */
function testIndices(data: DataSplits, testImages: number | undefined): Int32Array {
  const n = testImages && testImages > 0 ? Math.min(testImages, data.test.n) : data.test.n;
  return Int32Array.from({ length: n }, (_, i) => i);
}

/** Trains `arch` stand-alone (or reuses its record) and writes DIR/<hash>.json. */
export async function retrainArch(
  ctx: StandaloneContext,
  arch: Arch,
  opts: StandaloneOptions = {},
): Promise<GroundTruthRecord> {
  const { gpu, cfg, space, data, dir, log } = ctx;
  const hash = archHash(space, arch);
  const name = archToString(space, arch);
  const spec = standaloneSpec(cfg, arch, opts);
  const testIdx = testIndices(data, opts.testImages);
  const expected = recordShell(cfg, space, arch, spec, data, testIdx.length);
  const old = readRecord(dir, hash);
  if (old && opts.reuse) {
    if (comparisonKey(old) !== comparisonKey(expected)) {
      throw new GroundTruthMixError(
        `${recordPath(dir, hash)} was made with other settings and cannot be mixed ` +
          "into this analysis:\n" +
          `  found:  ${comparisonKey(old)}\n  wanted: ${comparisonKey(expected)}\n` +
          "match --epochs / --test-images to the stored records, or move " +
          `${dir} away to train anew`,
      );
    }
    log.info(
      `stand-alone ${name}: reusing ${recordPath(dir, hash)} ` +
        `(test top-1 ${fmt(100 * old.testTop1, 2)}%)`,
    );
    return old;
  }

  const val = deviceBatches(gpu, data.set, data.val, data.norm, cfg.eval.batchSize, space);
  const test = deviceBatches(gpu, data.test, testIdx, data.norm, cfg.eval.batchSize, space);
  try {
    return await trainAndWrite(ctx, arch, spec, { val, test }, expected, opts.resume ?? false);
  } finally {
    for (const b of [...val, ...test]) b.dispose();
  }
}

async function trainAndWrite(
  ctx: StandaloneContext,
  arch: Arch,
  spec: StandaloneSpec,
  batches: { val: DeviceBatch[]; test: DeviceBatch[] },
  shell: GroundTruthRecord,
  resume: boolean,
): Promise<GroundTruthRecord> {
  const { gpu, cfg, space, data, dir, log } = ctx;
  const hash = shell.hash;
  const metrics = new Metrics(join(dir, `${hash}.metrics.jsonl`));
  const every = cfg.train.logEvery;
  log.info(
    `stand-alone ${shell.arch}: ${shell.budget.steps} steps ` +
      `(${spec.epochs} epochs of ${shell.split.trainImages} images)`,
  );
  const out = await trainStandalone(
    gpu,
    space,
    spec,
    { set: data.set, train: data.train, norm: data.norm, ...batches },
    join(dir, "checkpoints", `${hash}.ckpt`),
    resume,
    {
      onResume: (step) => {
        metrics.truncateAfter(step);
        log.info(`stand-alone ${shell.arch}: resumed at step ${step}`);
      },
      onStep: (r, total, ms) => {
        const done = r.step + 1;
        if (done === 1 && !resume) metrics.truncateAfter(-1);
        if (done % every !== 0 && done !== total) return;
        log.info(
          `  step ${String(done).padStart(5)}/${total} | loss ${fmt(r.loss)} | ` +
            `acc ${fmt(100 * r.top1, 1, 5)}% | ` +
            `lr ${r.lr.toExponential(1)} | ${fmt(ms, 1, 6)} ms/step`,
        );
        metrics.write({
          type: "standalone-step",
          arch: shell.arch,
          step: done,
          loss: r.loss,
          top1: r.top1,
          lr: r.lr,
          msPerStep: ms,
        });
      },
      onEpoch: (e) => {
        log.info(
          `  epoch ${fmt(e.epoch, 2, 5)} | loss ${fmt(e.loss)} | ` +
            `train ${fmt(100 * e.top1, 1, 5)}% | val top-1 ${fmt(100 * e.valTop1, 2, 6)}%`,
        );
        metrics.write({ type: "standalone-epoch", arch: shell.arch, ...e });
      },
    },
  );
  out.net.dispose();
  const rec: GroundTruthRecord = {
    ...shell,
    epochs: out.epochs,
    valTop1: out.val.top1,
    valLoss: out.val.loss,
    valImages: out.val.images,
    testTop1: out.test.top1,
    testLoss: out.test.loss,
    trainSeconds: out.trainSeconds,
  };
  writeAtomic(recordPath(dir, hash), `${JSON.stringify(rec, null, 2)}\n`);
  log.info(
    `stand-alone ${shell.arch}: val top-1 ${fmt(100 * rec.valTop1, 2)}% | ` +
      `test top-1 ${fmt(100 * rec.testTop1, 2)}% ` +
      `(${out.test.images} images) | ${fmt(out.trainSeconds, 1)} s`,
  );
  return rec;
}

/** A record with everything but the results: what a comparison keys on. */
function recordShell(
  cfg: RunConfig,
  space: ResolvedSpace,
  arch: Arch,
  spec: StandaloneSpec,
  data: DataSplits,
  testImages: number,
): GroundTruthRecord {
  const cost = costOf(space, arch);
  const steps = standaloneSteps(spec, data.train.length).total;
  return {
    format: GROUND_TRUTH_FORMAT,
    kind: "standalone",
    space: space.spec.name,
    spaceSignature: space.signature,
    arch: archToString(space, arch),
    hash: archHash(space, arch),
    seed: spec.seed,
    split: {
      valSize: cfg.train.valSize,
      seed: cfg.seed,
      trainImages: data.train.length,
      testImages,
    },
    budget: { epochs: spec.epochs, batchSize: spec.batchSize, lr: spec.lr, steps },
    epochs: [],
    valTop1: Number.NaN,
    valLoss: Number.NaN,
    valImages: data.val.length,
    testTop1: Number.NaN,
    testLoss: Number.NaN,
    madds: cost.madds,
    params: cost.params,
    trainSeconds: 0,
  };
}

export interface StandaloneStageInput {
  /** Run directory; records go to DIR/standalone/. */
  readonly dir: string;
  readonly cfg: RunConfig;
  readonly archs: readonly Arch[];
  readonly log: Logger;
  /** A device to reuse (the stage opens and closes its own otherwise). */
  readonly gpu?: Gpu;
  readonly options?: StandaloneOptions;
}

/**
 * For `nas-cli run`: retrains each architecture stand-alone with
 * cfg.standalone's budget and returns the records (test top-1 in
 * `testTop1`), in the order given.
 */
export async function standaloneStage(input: StandaloneStageInput): Promise<GroundTruthRecord[]> {
  const { cfg, log } = input;
  const space = loadSpace(cfg);
  const data = await loadSplits(cfg, space);
  const gpu = input.gpu ?? (await openGpu(log));
  const ctx: StandaloneContext = { gpu, cfg, space, data, dir: join(input.dir, "standalone"), log };
  try {
    const out: GroundTruthRecord[] = [];
    for (const arch of input.archs)
      out.push(await retrainArch(ctx, arch, { reuse: true, resume: true, ...input.options }));
    log.info("stand-alone test accuracy:");
    for (const r of out)
      log.info(
        `  ${r.arch} | test top-1 ${fmt(100 * r.testTop1, 2, 6)}% | ` +
          `${(r.madds / 1e6).toFixed(2)} M MAdds`,
      );
    return out;
  } finally {
    if (!input.gpu) gpu.destroy();
  }
}
