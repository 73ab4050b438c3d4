// Supernet training: each step asks the sampler for its updates; each
// update runs forward+backward of its paths (gradients summed), then one
// SGD update of exactly the groups those paths touched. Loss and accuracy
// come back as scalars once per step; nothing else is read back.

import { sgdUpdate, type Gpu, type Tensor } from "@fairnas/kernels";
import type { Arch } from "../space/arch.ts";
import type { Param, ParamGroup } from "../supernet/params.ts";
import { FairnessCounter, planStep, type SamplerName } from "./sampler.ts";
import { learningRate, type ScheduleSpec } from "./schedule.ts";

/** One batch on the host: x [n,H,W,C] normalized, y [n] class ids. */
export interface HostBatch {
  readonly x: Float32Array;
  readonly y: Float32Array;
  readonly n: number;
}

/** Yields device batches; the trainer disposes each when done with it. */
export interface BatchSource {
  next(): Promise<DeviceBatch>;
}

export interface OptimConfig {
  readonly momentum: number;
  readonly nesterov: boolean;
  /** Applied to conv and FC weights; not to BN parameters or biases. */
  readonly weightDecay: number;
  readonly labelSmoothing: number;
}

export interface StepConfig {
  readonly sampler: SamplerName;
  readonly seed: number;
  /** fair: run the m paths on one batch (true) or on m different batches. */
  readonly sameBatch: boolean;
  readonly schedule: ScheduleSpec;
  readonly optim: OptimConfig;
}

export interface StepResult {
  readonly step: number;
  readonly loss: number;
  readonly top1: number;
  readonly lr: number;
  /** Images through the network counted once per path. */
  readonly pathImages: number;
  readonly paths: readonly Arch[];
}

export class NonFiniteLossError extends Error {
  override name = "NonFiniteLossError";
}

/** Batches a step of this sampler consumes. */
export function batchesPerStep(sampler: SamplerName, choices: number, sameBatch: boolean): number {
  if (sampler === "fair") return sameBatch ? 1 : choices;
  if (sampler === "spos") return 1;
  return choices;
}

/** Optimizer updates a step of this sampler makes. */
export function updatesPerStep(sampler: SamplerName, choices: number): number {
  return sampler === "ef" || sampler === "ef-lr" ? choices : 1;
}

/** What the trainer needs of a weight-sharing model. */
export interface TrainableModel {
  readonly layers: number;
  readonly choices: number;
  /** Parameter groups a path trains (shared parts and its choice blocks). */
  groupsFor(arch: Arch): ParamGroup[];
  /**
   * Forward and backward of one path on one batch: writes (first of the
   * update) or adds the gradients, and adds [sum loss, correct] to `stats`.
   */
  trainPath(arch: Arch, batch: DeviceBatch, stats: Tensor, opts: PathOptions): void;
  describe(arch: Arch): string;
}

export interface PathOptions {
  readonly labelSmoothing: number;
  readonly dropoutSeed: number;
}

export class SupernetTrainer {
  readonly counter: FairnessCounter;
  private updates: number;

  constructor(
    private readonly gpu: Gpu,
    readonly net: TrainableModel,
    private readonly cfg: StepConfig,
    start: { readonly updates: number; readonly counts?: readonly (readonly number[])[] } = {
      updates: 0,
    },
  ) {
    this.counter = new FairnessCounter(net.layers, net.choices, start.counts);
    this.updates = start.updates;
  }

  get updateCount(): number {
    return this.updates;
  }

  /** Runs step `step` (0-based) on batches from `data`. */
  async step(step: number, data: BatchSource): Promise<StepResult> {
    const net = this.net;
    const plan = planStep(
      { name: this.cfg.sampler, layers: net.layers, choices: net.choices, seed: this.cfg.seed },
      step,
    );
    const stats: Tensor[] = [];
    const allPaths: Arch[] = [];
    let pathImages = 0;
    let lr = 0;
    for (const paths of plan.updates) {
      lr = learningRate(this.cfg.schedule, this.updates) * plan.lrScale;
      let batch: DeviceBatch | null = null;
      for (const [k, path] of paths.entries()) {
        if (!batch || !this.cfg.sameBatch) {
          batch?.dispose();
          batch = await data.next();
        }
        const s = this.gpu.zeros([2], "step.stats");
        stats.push(s);
        const opts = {
          labelSmoothing: this.cfg.optim.labelSmoothing,
          dropoutSeed: dropoutSeed(this.cfg.seed, step, allPaths.length + k),
        };
        net.trainPath(path, batch, s, opts);
        pathImages += batch.n;
      }
      batch?.dispose();
      this.applyUpdate(paths, lr);
      this.counter.record(paths);
      allPaths.push(...paths);
      this.updates += 1;
    }
    await this.gpu.sync();
    const { loss, top1 } = await this.readStats(step, stats, allPaths, pathImages);
    return { step, loss, top1, lr, pathImages, paths: allPaths };
  }

  /** One SGD update of every parameter the paths touched; the rest keep their momentum. */
  private applyUpdate(paths: readonly Arch[], lr: number): void {
    const groups = new Set<ParamGroup>();
    for (const p of paths) for (const g of this.net.groupsFor(p)) groups.add(g);
    const o = this.cfg.optim;
    for (const g of groups) {
      for (const p of g.params) {
        if (!p.fresh) throw new Error(`internal: ${p.name} has no gradient this update`);
        sgdUpdate(this.gpu, p.w, p.g, p.m, {
          lr,
          momentum: o.momentum,
          nesterov: o.nesterov,
          weightDecay: decays(p) ? o.weightDecay : 0,
        });
        p.fresh = false;
      }
    }
  }

  private async readStats(
    step: number,
    stats: Tensor[],
    paths: Arch[],
    images: number,
  ): Promise<{ loss: number; top1: number }> {
    let loss = 0;
    let correct = 0;
    for (const [k, s] of stats.entries()) {
      const [l, c] = await this.gpu.read(s);
      s.dispose();
      if (!Number.isFinite(l)) {
        for (const rest of stats.slice(k + 1)) rest.dispose();
        const arch = this.net.describe(paths[k]);
        throw new NonFiniteLossError(`non-finite loss (${l}) at step ${step} on path ${arch}`);
      }
      loss += l;
      correct += c;
    }
    return { loss: loss / images, top1: correct / images };
  }
}

function decays(p: Param): boolean {
  return p.kind === "conv" || p.kind === "fc-weight";
}

function dropoutSeed(seed: number, step: number, path: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 31) + Math.imul(step, 0x85ebca6b) + path * 7919) >>> 0;
}

export interface DeviceBatch {
  readonly x: Tensor;
  readonly y: Tensor;
  readonly n: number;
  dispose(): void;
}

export function upload(
  gpu: Gpu,
  b: HostBatch,
  input: { readonly height: number; readonly width: number; readonly channels: number },
): DeviceBatch {
  const x = gpu.tensor([b.n, input.height, input.width, input.channels], b.x, "batch.x");
  const y = gpu.tensor([b.n], b.y, "batch.y");
  return {
    x,
    y,
    n: b.n,
    dispose: () => {
      x.dispose();
      y.dispose();
    },
  };
}
