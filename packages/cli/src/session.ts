// Pieces every command shares: the run directory layout, data splits,
// device batches for evaluation, and the device itself.

import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { Gpu, Rng, type Logger } from "@fairnas/kernels";
import {
  batchesPerStep,
  BatchPreparer,
  computeNormalization,
  getSpace,
  loadDataset,
  resolveSpace,
  restoreSupernet,
  splitTrainVal,
  Supernet,
  upload,
  type DeviceBatch,
  type EvalData,
  type ImageSet,
  type Normalization,
  type ResolvedSpace,
} from "@fairnas/nas";
import { UsageError } from "./args.ts";
import { validate, type RunConfig } from "./config.ts";
import { creationBlock, writeAtomic } from "./output.ts";

export const RUN_FILES = {
  config: "config.json",
  metrics: "metrics.jsonl",
  checkpoint: join("checkpoints", "supernet.ckpt"),
  architectures: "architectures.csv",
  summary: "summary.json",
  elapsed: "elapsed.json",
} as const;

export function runPath(dir: string, file: keyof typeof RUN_FILES): string {
  return join(dir, RUN_FILES[file]);
}

/** Everything a run writes into its directory (files and folders). */
const RUN_OUTPUTS = [
  "config.json",
  "metrics.jsonl",
  "summary.json",
  "elapsed.json",
  "architectures.csv",
  "pareto.json",
  "pareto.csv",
  "ranking.json",
  "ranking.csv",
  "ablation.json",
  "ablation.md",
  "similarity.json",
  "ponas.json",
  "ponas-table.json",
  "report.html",
  "checkpoints",
  "standalone",
];

/**
 * Refuses an --out directory that is empty, is or lies under an existing
 * file, or cannot be created or written (a read-only mount, no permission),
 * before anything is written (a file is left as it is).
 */
export function checkOutDir(dir: string, what = "output directory"): void {
  if (dir === "") throw new UsageError(`--out is empty; name the ${what}`);
  for (let p = dir; ; p = dirname(p)) {
    if (existsSync(p)) {
      if (statSync(p).isDirectory()) break;
      const how =
        p === dir ? "is a file, not a run directory" : `lies under ${p}, a file, not a directory`;
      throw new UsageError(`${dir} ${how} (choose another --out)`);
    }
    if (dirname(p) === p) break;
  }
  const block = creationBlock(dir);
  if (block !== null) {
    const verb = existsSync(dir) ? "write to" : "create";
    throw new Error(`cannot ${verb} ${what} ${dir}: ${block}`);
  }
}

/** A supernet run (`run`, `train`) or a PONAS run (`ponas`, `run --mode ponas`). */
export type RunKind = "supernet" | "ponas";

/** Files only a run of that kind writes. */
const KIND_FILES: Readonly<Record<RunKind, readonly string[]>> = {
  supernet: [RUN_FILES.checkpoint, RUN_FILES.architectures],
  ponas: [
    join("checkpoints", "ponas-meta.ckpt"),
    join("checkpoints", "ponas-supernet.ckpt"),
    "ponas-table.json",
  ],
};

/**
 * --resume continues a run of the same kind only: resuming the other kind
 * would find no checkpoint of its own, start from step 0 and drop the
 * run's metrics records.
 */
function checkResumeKind(dir: string, kind: RunKind): void {
  const other: RunKind = kind === "ponas" ? "supernet" : "ponas";
  const found = KIND_FILES[other].find((f) => existsSync(join(dir, f)));
  if (found === undefined) return;
  const how =
    other === "ponas"
      ? "`nas-cli ponas --resume` or `nas-cli run --mode ponas --resume`"
      : "`nas-cli run --resume` or `nas-cli train --resume`";
  throw new UsageError(
    `--resume: ${dir} holds a ${other === "ponas" ? "PONAS" : "supernet"} run (${found}); ` +
      `continue it with ${how}, or choose another --out`,
  );
}

/** The kind of run `dir` holds, by the first file only that kind writes; null if neither. */
export function runKindOf(dir: string): { kind: RunKind; file: string } | null {
  for (const kind of ["ponas", "supernet"] as const) {
    const file = KIND_FILES[kind].find((f) => existsSync(join(dir, f)));
    if (file !== undefined) return { kind, file };
  }
  return null;
}

/**
 * Refuses a PONAS run where a supernet run is needed (`eval`, `search`,
 * `rank`), saying what a PONAS run answers instead.
 */
export function requireSupernetRun(dir: string, command: string): void {
  const found = runKindOf(dir);
  if (found?.kind !== "ponas") return;
  throw new Error(
    `${dir} is a PONAS run (${found.file}), and ${command} needs a supernet run ` +
      "(`nas-cli run` or `nas-cli train`); in a PONAS run, " +
      `\`nas-cli specialize --run ${dir} --max-madds X\` gives the best network under a ` +
      "budget with its predicted top-1, and `--sweep` scores the budget curve's networks " +
      "on the run's fine-tuned supernet",
  );
}

/**
 * Makes `dir` ready for a new run. A directory that already holds a run is
 * refused unless the run is resumed or `overwrite` is given, in which case
 * the earlier run's outputs (and nothing else) are removed first.
 */
export function claimRunDir(
  dir: string,
  resume: boolean,
  overwrite: boolean,
  kind: RunKind = "supernet",
): void {
  checkOutDir(dir, "run directory");
  if (resume) checkResumeKind(dir, kind);
  if (resume || !existsSync(runPath(dir, "config"))) return;
  if (!overwrite) {
    throw new UsageError(
      `${dir} already holds a run (${RUN_FILES.config}); continue it with --resume, ` +
        `choose another --out, or replace it with --overwrite`,
    );
  }
  for (const name of RUN_OUTPUTS) rmSync(join(dir, name), { recursive: true, force: true });
}

/**
 * Wall-clock seconds a run has taken over all its invocations. elapsed.json
 * holds the total so far; an invocation adds its own time to it and saves
 * at every checkpoint and when it finishes, so an interrupted invocation
 * counts up to its last save.
 */
export class RunClock {
  private constructor(
    private readonly path: string,
    /** Seconds recorded by the invocations before this one. */
    readonly earlierSeconds: number,
    private readonly t0: number,
  ) {}

  /**
   * `t0`: when this invocation started (performance.now()). A fresh run
   * starts from 0; a resumed one from the run's elapsed.json.
   */
  static open(dir: string, resume: boolean, t0: number, log: Logger): RunClock {
    const path = runPath(dir, "elapsed");
    return new RunClock(path, resume ? earlierSeconds(path, log) : 0, t0);
  }

  /** Seconds of this invocation so far. */
  invocationSeconds(): number {
    return (performance.now() - this.t0) / 1000;
  }

  /** Writes the run's total so far and returns it. */
  save(): number {
    const seconds = this.earlierSeconds + this.invocationSeconds();
    writeAtomic(this.path, `${JSON.stringify({ seconds })}\n`);
    return seconds;
  }
}

function earlierSeconds(path: string, log: Logger): number {
  if (!existsSync(path)) {
    log.warn(`--resume: no ${path}; the run's total time counts from this invocation`);
    return 0;
  }
  let seconds: unknown;
  try {
    seconds = (JSON.parse(readFileSync(path, "utf8")) as { seconds?: unknown }).seconds;
  } catch {
    seconds = undefined;
  }
  if (typeof seconds === "number" && Number.isFinite(seconds) && seconds >= 0) return seconds;
  log.warn(`${path} is damaged; the run's total time counts from this invocation`);
  return 0;
}

export interface DataSplits {
  readonly set: ImageSet;
  readonly test: ImageSet;
  readonly train: Int32Array;
  /** Validation indices, sorted. */
  readonly val: Int32Array;
  /** The same in their seeded draw order: `drawnSubset` takes random subsets of it. */
  readonly valOrder: Int32Array;
  readonly norm: Normalization;
}

/** Loads the dataset and makes the seeded train/validation split. */
export async function loadSplits(cfg: RunConfig, space: ResolvedSpace): Promise<DataSplits> {
  const inp = space.spec.input;
  // Only CIFAR-10 has colour images: the hint for missing data follows the space.
  const expect = inp.channels === 3 ? "cifar10" : "idx";
  const { train: set, test } = await loadDataset(cfg.data, { expect });
  if (set.height !== inp.height || set.width !== inp.width || set.channels !== inp.channels) {
    throw new Error(
      `dataset ${cfg.data} has images ${set.height}x${set.width}x${set.channels} ` +
        `but search space ` +
        `'${space.spec.name}' expects ${inp.height}x${inp.width}x${inp.channels}`,
    );
  }
  if (set.classes > space.spec.classes) {
    const at = set.labels.findIndex((l) => l >= space.spec.classes);
    throw new Error(
      `${set.source}: label ${set.labels[at]} at index ${at} is out of range for search space ` +
        `'${space.spec.name}' (${space.spec.classes} classes, labels 0..${space.spec.classes - 1})`,
    );
  }
  const t = cfg.train;
  if (t.cropPad >= Math.min(set.height, set.width))
    throw new Error(
      `train.cropPad ${t.cropPad} must be smaller than the ${set.height}x${set.width} images ` +
        `(random crops would show mostly padding)`,
    );
  if (t.valSize >= set.n)
    throw new Error(`train.valSize ${t.valSize} leaves no training images (dataset has ${set.n})`);
  const { train, val, valOrder } = splitTrainVal(set.n, t.valSize, cfg.seed, t.trainLimit);
  const norm = computeNormalization(set, train);
  return { set, test, train, val, valOrder, norm };
}

export function loadSpace(cfg: RunConfig): ResolvedSpace {
  return resolveSpace(getSpace(cfg.space));
}

/** Uploads a split once, in order, without augmentation, for evaluation. */
export function deviceBatches(
  gpu: Gpu,
  set: ImageSet,
  indices: Int32Array,
  norm: Normalization,
  batchSize: number,
  space: ResolvedSpace,
): DeviceBatch[] {
  const prep = new BatchPreparer(set, indices, {
    batchSize,
    shuffle: false,
    dropLast: false,
    augment: null,
    seed: 0,
    norm,
  });
  const out: DeviceBatch[] = [];
  for (let position = 0; position < indices.length; position += batchSize) {
    const b = prep.prepare({ epoch: 0, position, batches: out.length });
    out.push(upload(gpu, b, space.spec.input));
  }
  return out;
}

const RECAL_STREAM = 0x4eca1;

/**
 * Training images BN recalibration uses for `batches` batches of `B`:
 * whole batches only (the population merge assumes equal-size batches),
 * at most as many as the training images fill, and at least one.
 */
export function recalImages(trainImages: number, B: number, batches: number): number {
  const whole = Math.floor(Math.min(trainImages, batches * B) / B);
  return Math.min(trainImages, Math.max(1, whole) * B);
}

/** Validation batches plus a fixed, seeded set of training batches for BN recalibration. */
export function evalData(
  gpu: Gpu,
  cfg: RunConfig,
  d: DataSplits,
  space: ResolvedSpace,
): EvalData & { dispose(): void } {
  const e = cfg.eval;
  const B = cfg.train.batchSize;
  const want = recalImages(d.train.length, B, e.recalBatches);
  const perm = Rng.derive(cfg.seed, RECAL_STREAM).permutation(d.train.length).slice(0, want);
  const recalIdx = Int32Array.from(perm, (k) => d.train[k]);
  const batches = deviceBatches(gpu, d.set, d.val, d.norm, e.batchSize, space);
  const recal = deviceBatches(gpu, d.set, recalIdx, d.norm, B, space);
  return {
    batches,
    recal,
    dispose: () => {
      for (const b of [...batches, ...recal]) b.dispose();
    },
  };
}

export async function openGpu(log: Logger): Promise<Gpu> {
  const gpu = await Gpu.create({ log });
  log.debug(`device: ${gpu.adapter.description}`);
  return gpu;
}

export interface OpenRun {
  readonly dir: string;
  readonly cfg: RunConfig;
  readonly space: ResolvedSpace;
  readonly data: DataSplits;
  readonly gpu: Gpu;
  readonly net: Supernet;
  /** Frees the supernet and the device. */
  close(): void;
}

/** Refuses a run directory that does not exist or is a file, before reading it. */
export function checkRunDir(dir: string): void {
  if (dir === "") throw new UsageError("the run directory is empty; name one");
  if (!existsSync(dir)) throw new Error(`run directory ${dir} does not exist`);
  if (statSync(dir).isDirectory()) return;
  const hint = basename(dir) === RUN_FILES.config ? `; name its directory, ${dirname(dir)}` : "";
  throw new Error(`${dir} is a file, not a run directory${hint}`);
}

/** The stored config of a run directory (validated). */
export function readRunConfig(dir: string): RunConfig {
  checkRunDir(dir);
  const path = runPath(dir, "config");
  if (!existsSync(path)) throw new Error(`${dir} is not a run directory (no ${RUN_FILES.config})`);
  return readStoredConfig(path);
}

/** A run directory's stored configuration, or an error naming the damaged file. */
export function readStoredConfig(path: string): RunConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new Error(`${path} is damaged (not valid JSON: ${(e as Error).message})`);
  }
  try {
    if (raw === null || typeof raw !== "object" || Array.isArray(raw))
      throw new Error("not a JSON object");
    return validate(raw as RunConfig);
  } catch (e) {
    throw new Error(`${path} is damaged or incomplete: ${(e as Error).message}`);
  }
}

/**
 * Warns when a run's supernet checkpoint stops short of its training: the
 * training was interrupted or is still running, and what is scored comes
 * from a partly trained supernet.
 */
export function warnIfPartlyTrained(log: Logger, dir: string, step: number, total: number): void {
  if (step >= total) return;
  log.warn(
    `${runPath(dir, "checkpoint")} is at step ${step} of ${total}: its training was ` +
      `interrupted or is still running, so scores come from a partly trained supernet ` +
      `(\`nas-cli train --out ${dir} --resume\` finishes it)`,
  );
}

/** Supernet training steps of a run: train.epochs passes over `trainImages`. */
export function stepsFor(cfg: RunConfig, trainImages: number, choices: number): number {
  const t = cfg.train;
  const perStep = t.batchSize * batchesPerStep(t.sampler, choices, t.sameBatch);
  return Math.max(1, Math.round((t.epochs * trainImages) / perStep));
}

/**
 * Opens a trained run: its config, data splits, a device and the supernet
 * restored from the run's checkpoint. `patch` adjusts the stored config
 * (e.g. evaluation settings) without writing it back.
 */
export async function openRun(
  dir: string,
  log: Logger,
  patch: (c: RunConfig) => RunConfig = (c) => c,
): Promise<OpenRun> {
  const cfg = patch(readRunConfig(dir));
  requireSupernetRun(dir, "this command");
  const ckpt = runPath(dir, "checkpoint");
  if (!existsSync(ckpt))
    throw new Error(
      `${dir} has no trained supernet (missing ${ckpt}); ` +
        "run `nas-cli train` or `nas-cli run` first",
    );
  const space = loadSpace(cfg);
  const data = await loadSplits(cfg, space);
  const gpu = await openGpu(log);
  const net = new Supernet(gpu, space, cfg.seed);
  try {
    const meta = await restoreSupernet(gpu, net, ckpt);
    warnIfPartlyTrained(log, dir, meta.step, stepsFor(cfg, data.train.length, space.tokens.length));
  } catch (e) {
    net.dispose();
    gpu.destroy();
    throw e;
  }
  return {
    dir,
    cfg,
    space,
    data,
    gpu,
    net,
    close: () => {
      net.dispose();
      gpu.destroy();
    },
  };
}
