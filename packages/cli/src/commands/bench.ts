// `nas-cli bench kernels [--json] [--quick] [--peer] [--out FILE]`: every
// kernel at the Fashion-MNIST and FairNAS layer shapes (batch 64) against
// the FMA and copy probes of the same run, plus the training-mode MBConv
// block, optionally beside tfjs-webgpu. The JSON is bench.json of a run
// directory (packages/viz/src/records.ts, BenchRecord).
//
// `nas-cli bench train [--quick] [--json]`: throughput of fair supernet
// steps (images x paths / s) on the fmnist space at the preset's batch size
// with synthetic data, and the GPU pool's high-water mark.
//
// For `nas-cli run`: benchStage(dir, gpu, log, quick) writes DIR/bench.json.

import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  benchKernels,
  Gpu,
  Logger,
  Rng,
  targetReport,
  type BenchResult,
  type BenchSpace,
} from "@fairnas/kernels";
import {
  getSpace,
  resolveSpace,
  Supernet,
  SupernetModel,
  SupernetTrainer,
  upload,
  type BatchSource,
  type ResolvedSpace,
} from "@fairnas/nas";
import { parse, UsageError } from "../args.ts";
import { resolveConfig } from "../config.ts";
import { checkOutFile, mib, writeAtomic, type OutKind } from "../output.ts";

const BENCH_BATCH = 64;

/** Conv shapes of a resolved space, per image, as the kernel benchmark takes them. */
export function benchSpaceOf(space: ResolvedSpace): BenchSpace {
  const kernels = [...new Set(space.spec.choices.map((c) => c.kernel))];
  const expands = [...new Set(space.spec.choices.map((c) => c.expand))];
  const st = space.stem;
  const h = space.head;
  return {
    name: space.spec.name,
    stem: { H: st.inH, W: st.inW, Cin: st.inC, Cout: st.outC, K: st.kernel, S: st.stride },
    layers: space.layers.map((l) => ({
      label: l.label,
      H: l.inH,
      W: l.inW,
      Cin: l.inC,
      Cout: l.outC,
      S: l.stride,
      kernels,
      expands,
    })),
    head: h.width > 0 ? { H: h.H, W: h.W, Cin: h.inC, Cout: h.width } : null,
  };
}

/** The kernel benchmark over the fmnist and fairnas spaces on `gpu`. */
export function runKernelBench(
  gpu: Gpu,
  log: Logger,
  opts: { quick: boolean; peer: boolean },
): Promise<BenchResult> {
  const spaces = ["fmnist", "fairnas"].map((n) => benchSpaceOf(resolveSpace(getSpace(n))));
  return benchKernels(gpu, { ...opts, spaces, batch: BENCH_BATCH, log });
}

/**
 * Stage for `nas-cli run`: runs the kernel benchmark on the run's device and
 * writes DIR/bench.json (the report's benchmark section reads it).
 */
export async function benchStage(
  dir: string,
  gpu: Gpu,
  log: Logger,
  quick: boolean,
): Promise<BenchResult> {
  const r = await runKernelBench(gpu, log, { quick, peer: false });
  writeAtomic(join(dir, "bench.json"), `${JSON.stringify(r, null, 2)}\n`);
  return r;
}

export async function benchCommand(args: string[], log: Logger): Promise<void> {
  const [what, ...rest] = args;
  if (what !== "kernels" && what !== "train") {
    throw new UsageError(
      `bench needs 'kernels' or 'train', got ${what === undefined ? "nothing" : `'${what}'`}`,
    );
  }
  const { values: v } = parse(rest, {
    json: { type: "boolean" },
    quick: { type: "boolean" },
    peer: { type: "boolean" },
    out: { type: "string" },
  });
  if (what === "train" && (v.peer || v.out))
    throw new UsageError("--peer and --out belong to `bench kernels`");
  if (v.out !== undefined) checkOutFile(v.out, BENCH_OUT);
  // With --json only the JSON goes to stdout; the table goes to stderr.
  const out = v.json ? new Logger(log.err, log.err, log.level) : log;
  const gpu = await Gpu.create({ log });
  try {
    const result =
      what === "kernels"
        ? await kernelsCommand(gpu, out, { quick: v.quick ?? false, peer: v.peer ?? false }, v.out)
        : await trainBench(gpu, out, v.quick ?? false);
    if (v.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    gpu.destroy();
  }
}

/** bench kernels --out may replace an earlier result of its own only. */
const BENCH_OUT: OutKind = {
  what: "kernel benchmark result",
  noun: "JSON",
  ours: (path) => {
    if (statSync(path).size > 16 * 2 ** 20) return false;
    try {
      const v = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown> | null;
      return v !== null && Array.isArray(v.kernels) && typeof v.ceilings === "object";
    } catch {
      return false;
    }
  },
};

async function kernelsCommand(
  gpu: Gpu,
  log: Logger,
  opts: { quick: boolean; peer: boolean },
  outFile?: string,
): Promise<BenchResult> {
  const r = await runKernelBench(gpu, log, opts);
  log.info("");
  for (const l of targetReport(r)) log.info(l);
  if (outFile) {
    // Checked again: something else may have taken the name while it ran.
    checkOutFile(outFile, BENCH_OUT);
    writeAtomic(outFile, `${JSON.stringify(r, null, 2)}\n`);
    log.info(`wrote ${outFile}`);
  }
  return r;
}

export interface TrainBenchResult {
  readonly space: string;
  readonly batchSize: number;
  readonly pathsPerStep: number;
  readonly steps: number;
  readonly msPerStep: number;
  /** Images through the network per second, counted once per path. */
  readonly pathImagesPerSec: number;
  readonly poolHighWaterBytes: number;
}

/**
 * Synthetic batches: one random normalized batch, uploaded anew each time
 * as real data would be.
 */
function syntheticSource(gpu: Gpu, space: ResolvedSpace, n: number): BatchSource {
  const { height, width, channels } = space.spec.input;
  const rng = new Rng(5);
  const x = Float32Array.from({ length: n * height * width * channels }, () => rng.normal());
  const y = Float32Array.from({ length: n }, (_, i) => i % space.spec.classes);
  return { next: () => Promise.resolve(upload(gpu, { x, y, n }, space.spec.input)) };
}

/** Fair supernet steps on the fmnist space at the fmnist preset's batch size. */
export async function trainBench(gpu: Gpu, log: Logger, quick: boolean): Promise<TrainBenchResult> {
  const cfg = resolveConfig("fmnist", null, {});
  const t = cfg.train;
  const space = resolveSpace(getSpace(cfg.space));
  const net = new Supernet(gpu, space, cfg.seed);
  const trainer = new SupernetTrainer(gpu, new SupernetModel(gpu, net), {
    sampler: "fair",
    seed: cfg.seed,
    sameBatch: t.sameBatch,
    schedule: { lr: t.lr, minLr: t.minLr, warmupUpdates: 0, totalUpdates: 1000 },
    optim: {
      momentum: t.momentum,
      nesterov: t.nesterov,
      weightDecay: t.weightDecay,
      labelSmoothing: t.labelSmoothing,
    },
  });
  const source = syntheticSource(gpu, space, t.batchSize);
  const [warmup, steps] = quick ? [1, 3] : [2, 10];
  log.info(
    `bench train | space ${space.spec.name} | batch ${t.batchSize} | sampler fair | ` +
      `${warmup} warm-up + ${steps} steps`,
  );
  let images = 0;
  let ms = 0;
  let paths = 0;
  try {
    for (let s = 0; s < warmup + steps; s++) {
      if (s === warmup) gpu.pool.resetHighWater();
      const t0 = performance.now();
      const r = await trainer.step(s, source);
      const dt = performance.now() - t0;
      paths = r.paths.length;
      log.info(
        `step ${String(s).padStart(3)} | ${dt.toFixed(0).padStart(6)} ms | ` +
          `${r.paths.length} paths x ${t.batchSize} | loss ${r.loss.toFixed(4)}` +
          (s < warmup ? " | warm-up" : ""),
      );
      if (s < warmup) continue;
      images += r.pathImages;
      ms += dt;
    }
  } finally {
    net.dispose();
  }
  const res: TrainBenchResult = {
    space: space.spec.name,
    batchSize: t.batchSize,
    pathsPerStep: paths,
    steps,
    msPerStep: ms / steps,
    pathImagesPerSec: images / (ms / 1000),
    poolHighWaterBytes: gpu.stats().highWaterBytes,
  };
  log.info(
    `throughput ${res.pathImagesPerSec.toFixed(0)} images x paths / s | ` +
      `${res.msPerStep.toFixed(0)} ms/step | pool high-water ${mib(res.poolHighWaterBytes)}`,
  );
  return res;
}
