// The supernet training loop: steps, periodic atomic checkpoints, and exact
// resume. Path sampling, data order, augmentation and dropout all derive
// from (seed, step), so a checkpoint needs only the weights, momentum, BN
// statistics, fairness counters, update count and the data stream's
// position to continue exactly as an uninterrupted run would.

import type { Gpu } from "@fairnas/kernels";
import { loadCheckpoint, saveCheckpoint } from "../checkpoint.ts";
import type { StreamState } from "../data/batches.ts";
import type { Supernet } from "../supernet/network.ts";
import { exportState, importState } from "../supernet/state.ts";
import type { BatchSource, StepResult, SupernetTrainer } from "./trainer.ts";

export const CHECKPOINT_FORMAT = 1;

export interface SupernetCheckpointMeta {
  readonly format: number;
  readonly kind: "supernet";
  readonly step: number;
  readonly updates: number;
  readonly counts: readonly (readonly number[])[];
  readonly stream: StreamState;
  readonly spaceName: string;
  readonly spaceSignature: string;
  readonly config: unknown;
}

export interface LoopOptions {
  readonly totalSteps: number;
  readonly startStep: number;
  readonly checkpointEvery: number;
  readonly checkpointPath: string;
  readonly config: unknown;
}

export interface StepReport extends StepResult {
  readonly ms: number;
  readonly poolHighWaterBytes: number;
}

export interface LoopHooks {
  onStep?(r: StepReport): void;
  onCheckpoint?(step: number, path: string): void;
}

/** A data source that can report its position for checkpoints. */
export interface PositionedSource extends BatchSource {
  state(): StreamState;
}

export async function trainLoop(
  gpu: Gpu,
  net: Supernet,
  trainer: SupernetTrainer,
  data: PositionedSource,
  opts: LoopOptions,
  hooks: LoopHooks = {},
): Promise<void> {
  for (let step = opts.startStep; step < opts.totalSteps; step++) {
    const t0 = performance.now();
    const r = await trainer.step(step, data);
    const ms = performance.now() - t0;
    hooks.onStep?.({ ...r, ms, poolHighWaterBytes: gpu.stats().highWaterBytes });
    const done = step + 1;
    const due = opts.checkpointEvery > 0 && done % opts.checkpointEvery === 0;
    if (due || done === opts.totalSteps) {
      await writeSupernetCheckpoint(gpu, net, trainer, data.state(), done, opts);
      hooks.onCheckpoint?.(done, opts.checkpointPath);
    }
  }
}

async function writeSupernetCheckpoint(
  gpu: Gpu,
  net: Supernet,
  trainer: SupernetTrainer,
  stream: StreamState,
  step: number,
  opts: LoopOptions,
): Promise<void> {
  const meta: SupernetCheckpointMeta = {
    format: CHECKPOINT_FORMAT,
    kind: "supernet",
    step,
    updates: trainer.updateCount,
    counts: trainer.counter.counts,
    stream,
    spaceName: net.space.spec.name,
    spaceSignature: net.space.signature,
    config: opts.config,
  };
  await saveCheckpoint(opts.checkpointPath, { meta, tensors: await exportState(gpu, net) });
}

/**
 * Loads a supernet checkpoint into `net`. A checkpoint of another search
 * space is refused with a message naming both spaces.
 */
export async function restoreSupernet(
  gpu: Gpu,
  net: Supernet,
  path: string,
): Promise<SupernetCheckpointMeta> {
  const { meta, tensors } = await loadCheckpoint(path);
  const m = meta as SupernetCheckpointMeta;
  if (m?.kind !== "supernet" || m.format !== CHECKPOINT_FORMAT) {
    throw new Error(`${path}: not a supernet checkpoint of format ${CHECKPOINT_FORMAT}`);
  }
  if (m.spaceSignature !== net.space.signature) {
    throw new Error(
      `${path} was written for search space '${m.spaceName}' (signature ${m.spaceSignature}), ` +
        `but this run uses '${net.space.spec.name}' (signature ${net.space.signature})`,
    );
  }
  importState(gpu, net, tensors);
  return m;
}
