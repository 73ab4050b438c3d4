// Stand-alone training of one architecture from scratch, with the same
// kernels, trainer and data pipeline as the supernet. Steps run on a
// shuffled, augmented stream of the training split; at every epoch end the
// network is scored on the validation batches (tracked BN: a stand-alone
// net's running statistics are its own). Checkpoints hold weights, momentum,
// BN statistics, the update count, the stream position, the finished
// epochs' records and the running epoch sums, so a resumed run continues
// exactly as an uninterrupted one.

import { existsSync } from "node:fs";
import type { Gpu } from "@fairnas/kernels";
import { loadCheckpoint, saveCheckpoint } from "../checkpoint.ts";
import { BatchStream, type Augment, type StreamState } from "../data/batches.ts";
import type { ImageSet, Normalization } from "../data/dataset.ts";
import { evaluateArch, type Score } from "../eval/evaluate.ts";
import { archHash, archToString, type Arch } from "../space/arch.ts";
import type { ResolvedSpace } from "../space/spec.ts";
import type { Supernet } from "../supernet/network.ts";
import { exportState, importState } from "../supernet/state.ts";
import { SupernetTrainer, upload, type DeviceBatch, type StepResult } from "../train/trainer.ts";
import { buildPathNet, StandaloneModel } from "./path-net.ts";
import type { EpochRecord } from "./record.ts";

export const STANDALONE_CHECKPOINT_FORMAT = 1;

export interface StandaloneSpec {
  readonly arch: Arch;
  /** Initialisation, data order, augmentation and dropout. */
  readonly seed: number;
  /** Passes over the training indices (fractions allowed). */
  readonly epochs: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly minLr: number;
  readonly warmupEpochs: number;
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  readonly labelSmoothing: number;
  readonly augment: Augment | null;
  /** Steps between checkpoints besides epoch ends (0: epoch ends only). */
  readonly checkpointEvery: number;
}

export interface StandaloneData {
  readonly set: ImageSet;
  readonly train: Int32Array;
  readonly norm: Normalization;
  /** Scored at every epoch end and at the finish. */
  readonly val: readonly DeviceBatch[];
  /** Scored once, at the finish. */
  readonly test: readonly DeviceBatch[];
}

export interface StandaloneHooks {
  onStep?(r: StepResult, totalSteps: number, ms: number): void;
  onEpoch?(e: EpochRecord): void;
  onResume?(step: number): void;
}

export interface StandaloneOutcome {
  readonly net: Supernet;
  readonly totalSteps: number;
  /** Steps run by this call (0 when a finished checkpoint was loaded). */
  readonly stepsRun: number;
  readonly epochs: readonly EpochRecord[];
  readonly val: Score;
  readonly test: Score;
  readonly trainSeconds: number;
}

interface EpochSums {
  loss: number;
  correct: number;
  images: number;
  seconds: number;
}

interface StandaloneMeta {
  readonly format: number;
  readonly kind: "standalone";
  readonly arch: string;
  readonly hash: string;
  readonly spaceSignature: string;
  readonly step: number;
  readonly updates: number;
  readonly stream: StreamState;
  readonly epochs: readonly EpochRecord[];
  readonly sums: EpochSums;
  readonly trainSeconds: number;
  readonly spec: StandaloneSpec;
}

/** Steps per epoch (whole batches) and in total for `spec` on `trainImages`. */
export function standaloneSteps(
  spec: StandaloneSpec,
  trainImages: number,
): { perEpoch: number; total: number } {
  const perEpoch = Math.floor(trainImages / spec.batchSize);
  if (perEpoch < 1) {
    throw new Error(
      `stand-alone training: ${trainImages} training images make no batch of ${spec.batchSize}`,
    );
  }
  return { perEpoch, total: Math.max(1, Math.round(spec.epochs * perEpoch)) };
}

/**
 * Trains `spec.arch` (or continues from `checkpoint` when `resume` and the
 * file exists). The caller owns the returned net and disposes it.
 */
export async function trainStandalone(
  gpu: Gpu,
  space: ResolvedSpace,
  spec: StandaloneSpec,
  data: StandaloneData,
  checkpoint: string,
  resume: boolean,
  hooks: StandaloneHooks = {},
): Promise<StandaloneOutcome> {
  const net = buildPathNet(gpu, space, spec.arch, spec.seed);
  try {
    return await trainNet(gpu, net, spec, data, checkpoint, resume, hooks);
  } catch (e) {
    net.dispose();
    throw e;
  }
}

async function trainNet(
  gpu: Gpu,
  net: Supernet,
  spec: StandaloneSpec,
  data: StandaloneData,
  checkpoint: string,
  resume: boolean,
  hooks: StandaloneHooks,
): Promise<StandaloneOutcome> {
  const { perEpoch, total } = standaloneSteps(spec, data.train.length);
  const start = resume ? await restore(gpu, net, spec, checkpoint) : null;
  if (start) hooks.onResume?.(start.step);
  const epochs: EpochRecord[] = [...(start?.epochs ?? [])];
  const sums: EpochSums = { ...(start?.sums ?? { loss: 0, correct: 0, images: 0, seconds: 0 }) };
  let trainSeconds = start?.trainSeconds ?? 0;

  const trainer = new SupernetTrainer(
    gpu,
    new StandaloneModel(gpu, net, spec.arch),
    {
      sampler: "spos",
      seed: spec.seed,
      sameBatch: true,
      schedule: {
        lr: spec.lr,
        minLr: spec.minLr,
        totalUpdates: total,
        warmupUpdates: Math.min(Math.round(spec.warmupEpochs * perEpoch), Math.floor(total / 2)),
      },
      optim: {
        momentum: spec.momentum,
        nesterov: spec.nesterov,
        weightDecay: spec.weightDecay,
        labelSmoothing: spec.labelSmoothing,
      },
    },
    { updates: start?.updates ?? 0 },
  );

  const stream = await BatchStream.inWorker(
    data.set,
    data.train,
    {
      batchSize: spec.batchSize,
      shuffle: true,
      dropLast: true,
      augment: spec.augment,
      seed: spec.seed,
      norm: data.norm,
    },
    start?.stream,
  );
  const source = { next: async () => upload(gpu, await stream.next(), net.space.spec.input) };
  const save = async (step: number) => {
    const m = meta(
      net,
      spec,
      step,
      trainer.updateCount,
      stream.state(),
      epochs,
      sums,
      trainSeconds,
    );
    await saveCheckpoint(checkpoint, { meta: m, tensors: await exportState(gpu, net) });
  };

  const first = start?.step ?? 0;
  try {
    for (let step = first; step < total; step++) {
      const t0 = performance.now();
      const r = await trainer.step(step, source);
      const ms = performance.now() - t0;
      trainSeconds += ms / 1000;
      sums.loss += r.loss * r.pathImages;
      sums.correct += r.top1 * r.pathImages;
      sums.images += r.pathImages;
      sums.seconds += ms / 1000;
      hooks.onStep?.(r, total, ms);

      const done = step + 1;
      const epochEnd = done % perEpoch === 0 || done === total;
      if (epochEnd) {
        const v = await evaluateArch(
          gpu,
          net,
          spec.arch,
          { batches: data.val, recal: [] },
          "tracked",
        );
        const e: EpochRecord = {
          epoch: done / perEpoch,
          step: done,
          loss: sums.loss / sums.images,
          top1: sums.correct / sums.images,
          valTop1: v.top1,
          valLoss: v.loss,
          seconds: sums.seconds,
        };
        epochs.push(e);
        Object.assign(sums, { loss: 0, correct: 0, images: 0, seconds: 0 });
        hooks.onEpoch?.(e);
      }
      const due = spec.checkpointEvery > 0 && done % spec.checkpointEvery === 0;
      if (epochEnd || due) await save(done);
    }
  } finally {
    await stream.close();
  }

  const evalSet = (batches: readonly DeviceBatch[]) =>
    evaluateArch(gpu, net, spec.arch, { batches, recal: [] }, "tracked");
  const val = await evalSet(data.val);
  const test = await evalSet(data.test);
  return { net, totalSteps: total, stepsRun: total - first, epochs, val, test, trainSeconds };
}

function meta(
  net: Supernet,
  spec: StandaloneSpec,
  step: number,
  updates: number,
  stream: StreamState,
  epochs: readonly EpochRecord[],
  sums: EpochSums,
  trainSeconds: number,
): StandaloneMeta {
  return {
    format: STANDALONE_CHECKPOINT_FORMAT,
    kind: "standalone",
    arch: archToString(net.space, spec.arch),
    hash: archHash(net.space, spec.arch),
    spaceSignature: net.space.signature,
    step,
    updates,
    stream,
    epochs: [...epochs],
    sums: { ...sums },
    trainSeconds,
    spec,
  };
}

/**
 * Loads a stand-alone checkpoint into `net`; null when there is none. A
 * checkpoint of another architecture, space or training spec is refused.
 */
async function restore(
  gpu: Gpu,
  net: Supernet,
  spec: StandaloneSpec,
  path: string,
): Promise<StandaloneMeta | null> {
  if (!existsSync(path)) return null;
  const { meta: raw, tensors } = await loadCheckpoint(path);
  const m = raw as StandaloneMeta;
  if (m?.kind !== "standalone" || m.format !== STANDALONE_CHECKPOINT_FORMAT) {
    throw new Error(
      `${path}: not a stand-alone checkpoint of format ${STANDALONE_CHECKPOINT_FORMAT}`,
    );
  }
  const arch = archToString(net.space, spec.arch);
  if (m.spaceSignature !== net.space.signature || m.arch !== arch) {
    throw new Error(
      `${path} holds ${m.arch} (space ${m.spaceSignature}), ` +
        `not ${arch} (space ${net.space.signature})`,
    );
  }
  if (JSON.stringify(m.spec) !== JSON.stringify(spec)) {
    const changed = settingDiffs(m.spec, spec, "").join(", ");
    throw new Error(
      `${path} was trained with other settings (${changed}); ` +
        `resume with the checkpoint's settings, or start again without --resume`,
    );
  }
  importState(gpu, net, tensors);
  return m;
}

/**
 * The settings that differ between two JSON-like values, one phrase each:
 * "epochs 0.5 in the checkpoint, 1 now". Nested fields are named by path.
 */
export function settingDiffs(was: unknown, now: unknown, path: string): string[] {
  const isObj = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === "object" && !Array.isArray(v);
  if (isObj(was) && isObj(now)) {
    const keys = [...new Set([...Object.keys(was), ...Object.keys(now)])].sort();
    return keys.flatMap((k) => settingDiffs(was[k], now[k], path ? `${path}.${k}` : k));
  }
  if (JSON.stringify(was) === JSON.stringify(now)) return [];
  const show = (v: unknown) => (v === undefined ? "unset" : JSON.stringify(v));
  return [`${path || "(settings)"} ${show(was)} in the checkpoint, ${show(now)} now`];
}
