// Kernel benchmark: every kernel at the layer shapes of a search space
// (batch 64), timed on the device (timestamp queries where the adapter has
// them, else wall clock with sleep-before-await), as median ms over repeats
// after warm-up, GFLOP/s (a multiply-add counts 2) and GB/s (the bytes a
// perfect kernel must move: each input read once, each output written once),
// and the ratio to one of two ceilings probed in the same run, as the issue
// sets its targets: GEMM-like kernels (pwconv, conv2d) against the FMA probe's
// GFLOP/s, depthwise conv and batch norm against the copy probe's GB/s. The
// probes run beside every repeat (see timeCase). Plus the training-mode
// MBConv block 24->144->dw5x5->24 at 28x28, optionally beside tfjs-webgpu.
//
// The kernels package does not know search spaces: layer shapes come in as
// data (the CLI resolves them from @fairnas/nas; DEFAULT_SHAPES below, the
// same spaces written out, serve `npm run bench` in this package).
//
//   tsx bench/kernels.ts [--quick] [--json] [--peer]

import { pathToFileURL } from "node:url";
import {
  batchNormBackward,
  batchNormTrain,
  conv2d,
  conv2dBackwardWeight,
  conv2dOutSize,
  dwconv,
  dwconvBackwardInput,
  dwconvBackwardWeight,
  dwconvOutSize,
  Gpu,
  Logger,
  pwconv,
  pwconvBackwardInput,
  pwconvBackwardWeight,
  Rng,
  type Shape,
  type Tensor,
} from "../mod.ts";
import { GpuTimer, median } from "../src/runtime/timing.ts";
import { MbconvBlock, mbconvLabel, mbconvOutShape, type MbconvSpec } from "./mbconv.ts";
import { copyProbe, fmaProbe, type ProbeCase } from "./probes.ts";

/** One searchable layer: every kernel size and expansion of its choices. */
export interface BenchLayer {
  readonly label: string;
  readonly H: number;
  readonly W: number;
  readonly Cin: number;
  readonly Cout: number;
  readonly S: number;
  readonly kernels: readonly number[];
  readonly expands: readonly number[];
}

/** The conv shapes of one space, per image (the batch is the benchmark's). */
export interface BenchSpace {
  readonly name: string;
  readonly stem: {
    readonly H: number;
    readonly W: number;
    readonly Cin: number;
    readonly Cout: number;
    readonly K: number;
    readonly S: number;
  };
  readonly layers: readonly BenchLayer[];
  /** 1x1 head conv at the last feature map; null when the space has none. */
  readonly head: {
    readonly H: number;
    readonly W: number;
    readonly Cin: number;
    readonly Cout: number;
  } | null;
}

export interface BenchOptions {
  /** Target shapes and the block only, few repeats: under a minute on lavapipe. */
  readonly quick: boolean;
  /** Add the tfjs-webgpu peer beside the block. */
  readonly peer: boolean;
  /** Spaces whose layers are swept (full mode); DEFAULT_SHAPES when absent. */
  readonly spaces?: readonly BenchSpace[];
  readonly batch?: number;
  /** Force wall-clock timing even where timestamps exist. */
  readonly wallClock?: boolean;
  readonly log?: Logger;
}

export interface BenchKernelResult {
  readonly name: string;
  readonly shape: string;
  readonly ms: number;
  readonly gflops: number;
  readonly gbps: number;
  readonly ratio: number;
}

export interface BenchBlockResult {
  readonly name: string;
  readonly fwdMs: number;
  readonly fwdBwdMs: number;
  readonly peer: { readonly name: string; readonly fwdBwdMs: number } | null;
}

/** What `nas-cli bench kernels --json` prints and a run directory's bench.json holds. */
export interface BenchResult {
  readonly device: string;
  readonly ceilings: { readonly gflops: number; readonly gbps: number };
  readonly kernels: readonly BenchKernelResult[];
  readonly blocks: readonly BenchBlockResult[];
}

/** The ratio targets, by kernel name and shape. */
export const BENCH_TARGETS: readonly {
  readonly name: string;
  readonly shape: string;
  readonly min: number;
}[] = [
  { name: "pwconv.forward", shape: "N64 H28 W28 C16->96", min: 0.25 },
  { name: "pwconv.backward", shape: "N64 H28 W28 C16->96", min: 0.2 },
  { name: "dwconv.forward", shape: "N64 H28 W28 C96 K3 S1", min: 0.3 },
  { name: "dwconv.backward", shape: "N64 H28 W28 C96 K3 S1", min: 0.3 },
  { name: "dwconv.forward", shape: "N64 H28 W28 C96 K7 S2", min: 0.3 },
  { name: "dwconv.backward", shape: "N64 H28 W28 C96 K7 S2", min: 0.3 },
];

/** The block of the peer comparison. */
export const TARGET_BLOCK: MbconvSpec = {
  N: 64,
  H: 28,
  W: 28,
  Cin: 24,
  E: 144,
  Cout: 24,
  K: 5,
  S: 1,
  R: 0,
  momentum: 0.1,
  eps: 1e-5,
};

const RUNS = {
  quick: { warmup: 1, repeats: 3, blockRepeats: 3, peerRepeats: 1 },
  full: { warmup: 2, repeats: 7, blockRepeats: 5, peerRepeats: 3 },
} as const;

type Bound = "gflops" | "gbps";

/** One timed piece of work: its cost model and a recorder over preallocated tensors. */
interface Case {
  readonly name: string;
  readonly shape: string;
  readonly flops: number;
  readonly bytes: number;
  /** The ceiling the ratio is taken against. */
  readonly bound: Bound;
  /** Allocates the tensors (at most once); returns the recorder and the cleanup. */
  setup(gpu: Gpu): { record(): void; dispose(): void };
}

// ---- data ----

/** A tensor of repeatable pseudo-random values (a short normal pattern, tiled). */
function filled(gpu: Gpu, shape: Shape, seed: number, label: string, scale = 1): Tensor {
  const rng = new Rng(seed);
  const pattern = Float32Array.from({ length: 4099 }, () => rng.normal() * scale);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i += pattern.length)
    data.set(pattern.subarray(0, Math.min(pattern.length, n - i)), i);
  return gpu.tensor(shape, data, label);
}

function owned(gpu: Gpu, list: [Shape, string][]): Tensor[] {
  return list.map(([shape, label], i) => filled(gpu, shape, i + 1, label, 0.5));
}

function disposeAll(ts: readonly Tensor[]): void {
  for (const t of ts) t.dispose();
}

const nhwc = (N: number, H: number, W: number): string => `N${N} H${H} W${W}`;

// ---- cases ----

function pwCases(N: number, H: number, W: number, Ci: number, Co: number, split: boolean): Case[] {
  const M = N * H * W;
  const shape = `${nhwc(N, H, W)} C${Ci}->${Co}`;
  const gemm = 2 * M * Ci * Co;
  const fwd: Case = {
    name: "pwconv.forward",
    shape,
    bound: "gflops",
    flops: gemm,
    bytes: 4 * (M * Ci + Ci * Co + M * Co),
    setup: (gpu) => {
      const [x, w, y] = owned(gpu, [
        [[N, H, W, Ci], "x"],
        [[Ci, Co], "w"],
        [[N, H, W, Co], "y"],
      ]);
      return { record: () => void pwconv(gpu, x, w, y), dispose: () => disposeAll([x, w, y]) };
    },
  };
  const bwdTensors = (gpu: Gpu): Tensor[] =>
    owned(gpu, [
      [[N, H, W, Co], "dy"],
      [[N, H, W, Ci], "x"],
      [[Ci, Co], "w"],
      [[N, H, W, Ci], "dx"],
      [[Ci, Co], "dw"],
    ]);
  const bwd: Case = {
    name: "pwconv.backward",
    shape,
    bound: "gflops",
    flops: 2 * gemm,
    bytes: 4 * (M * Co + 2 * M * Ci + 2 * Ci * Co),
    setup: (gpu) => {
      const [dy, x, w, dx, dw] = bwdTensors(gpu);
      return {
        record: () => {
          pwconvBackwardInput(gpu, dy, w, dx);
          pwconvBackwardWeight(gpu, x, dy, dw, false);
        },
        dispose: () => disposeAll([dy, x, w, dx, dw]),
      };
    },
  };
  if (!split) return [fwd, bwd];
  const dxCase: Case = {
    name: "pwconv.backward-input",
    shape,
    bound: "gflops",
    flops: gemm,
    bytes: 4 * (M * Co + Ci * Co + M * Ci),
    setup: (gpu) => {
      const [dy, x, w, dx, dw] = bwdTensors(gpu);
      return {
        record: () => void pwconvBackwardInput(gpu, dy, w, dx),
        dispose: () => disposeAll([dy, x, w, dx, dw]),
      };
    },
  };
  const dwCase: Case = {
    name: "pwconv.backward-weight",
    shape,
    bound: "gflops",
    flops: gemm,
    bytes: 4 * (M * Co + M * Ci + Ci * Co),
    setup: (gpu) => {
      const [dy, x, w, dx, dw] = bwdTensors(gpu);
      return {
        record: () => pwconvBackwardWeight(gpu, x, dy, dw, false),
        dispose: () => disposeAll([dy, x, w, dx, dw]),
      };
    },
  };
  return [fwd, bwd, dxCase, dwCase];
}

function dwCases(
  N: number,
  H: number,
  W: number,
  C: number,
  K: number,
  S: number,
  split: boolean,
): Case[] {
  const OH = dwconvOutSize(H, K, S);
  const OW = dwconvOutSize(W, K, S);
  const X = N * H * W * C;
  const Y = N * OH * OW * C;
  const shape = `${nhwc(N, H, W)} C${C} K${K} S${S}`;
  const tensors = (gpu: Gpu): Tensor[] =>
    owned(gpu, [
      [[N, H, W, C], "x"],
      [[K, K, C], "w"],
      [[N, OH, OW, C], "y"],
      [[N, H, W, C], "dx"],
      [[K, K, C], "dw"],
    ]);
  const stride = { stride: S };
  const make = (
    name: string,
    flops: number,
    bytes: number,
    rec: (gpu: Gpu, t: Tensor[]) => void,
  ): Case => ({
    name,
    shape,
    bound: "gbps",
    flops,
    bytes,
    setup: (gpu) => {
      const t = tensors(gpu);
      return { record: () => rec(gpu, t), dispose: () => disposeAll(t) };
    },
  });
  const tap = 2 * K * K * Y;
  // Backward: y stands in for dy (same shape).
  const cases = [
    make(
      "dwconv.forward",
      tap,
      4 * (X + K * K * C + Y),
      (gpu, [x, w, y]) => void dwconv(gpu, x, w, stride, y),
    ),
    make("dwconv.backward", 2 * tap, 4 * (Y + 2 * X + 2 * K * K * C), (gpu, [x, w, dy, dx, dw]) => {
      dwconvBackwardInput(gpu, dy, w, { stride: S, inputShape: x.shape }, dx);
      dwconvBackwardWeight(gpu, x, dy, dw, stride, false);
    }),
  ];
  if (!split) return cases;
  return [
    ...cases,
    make(
      "dwconv.backward-input",
      tap,
      4 * (Y + K * K * C + X),
      (gpu, [x, w, dy, dx]) =>
        void dwconvBackwardInput(gpu, dy, w, { stride: S, inputShape: x.shape }, dx),
    ),
    make("dwconv.backward-weight", tap, 4 * (Y + X + K * K * C), (gpu, [x, , dy, , dw]) =>
      dwconvBackwardWeight(gpu, x, dy, dw, stride, false),
    ),
  ];
}

/** Training-mode BN fused with ReLU6: forward (stats + apply) and backward. */
function bnCases(N: number, H: number, W: number, C: number): Case[] {
  const X = N * H * W * C;
  const shape = `${nhwc(N, H, W)} C${C}`;
  const tensors = (gpu: Gpu): Tensor[] => [
    ...owned(gpu, [
      [[N, H, W, C], "x"],
      [[N, H, W, C], "y"],
      [[N, H, W, C], "dy"],
      [[C], "beta"],
    ]),
    gpu.tensor([C], new Float32Array(C).fill(1), "gamma"),
    gpu.zeros([C], "rm"),
    gpu.tensor([C], new Float32Array(C).fill(1), "rv"),
    gpu.zeros([C], "dgamma"),
    gpu.zeros([C], "dbeta"),
  ];
  const opts = { momentum: 0.1, eps: 1e-5, relu6: true };
  const fwd: Case = {
    name: "batchnorm.forward.relu6",
    shape,
    bound: "gbps",
    flops: 0,
    bytes: 8 * X,
    setup: (gpu) => {
      const t = tensors(gpu);
      const [x, y, , beta, gamma, runningMean, runningVar] = t;
      const p = { gamma, beta, runningMean, runningVar };
      const record = (): void => {
        const { saved } = batchNormTrain(gpu, x, p, opts, y);
        saved.mean.dispose();
        saved.invStd.dispose();
      };
      return { record, dispose: () => disposeAll(t) };
    },
  };
  const bwd: Case = {
    name: "batchnorm.backward.relu6",
    shape,
    bound: "gbps",
    flops: 0,
    bytes: 12 * X,
    setup: (gpu) => {
      const t = tensors(gpu);
      const [x, y, dy, beta, gamma, runningMean, runningVar, dgamma, dbeta] = t;
      const p = { gamma, beta, runningMean, runningVar };
      const { saved } = batchNormTrain(gpu, x, p, opts, y);
      const dx = gpu.empty(x.shape, "dx");
      const record = (): void =>
        void batchNormBackward(
          gpu,
          x,
          dy,
          p,
          saved,
          { dgamma, dbeta },
          { relu6: true, accumulate: false },
          dx,
        );
      return { record, dispose: () => disposeAll([...t, dx, saved.mean, saved.invStd]) };
    },
  };
  return [fwd, bwd];
}

function stemCases(N: number, st: BenchSpace["stem"]): Case[] {
  const OH = conv2dOutSize(st.H, st.K, st.S);
  const OW = conv2dOutSize(st.W, st.K, st.S);
  const X = N * st.H * st.W * st.Cin;
  const Y = N * OH * OW * st.Cout;
  const Wn = st.K * st.K * st.Cin * st.Cout;
  const shape = `${nhwc(N, st.H, st.W)} C${st.Cin}->${st.Cout} K${st.K} S${st.S}`;
  const flops = 2 * Y * st.K * st.K * st.Cin;
  const tensors = (gpu: Gpu): Tensor[] =>
    owned(gpu, [
      [[N, st.H, st.W, st.Cin], "x"],
      [[st.K, st.K, st.Cin, st.Cout], "w"],
      [[N, OH, OW, st.Cout], "y"],
    ]);
  const stride = { stride: st.S };
  return [
    {
      name: "conv2d.forward",
      shape,
      bound: "gflops",
      flops,
      bytes: 4 * (X + Wn + Y),
      setup: (gpu) => {
        const [x, w, y] = tensors(gpu);
        return {
          record: () => void conv2d(gpu, x, w, stride, y),
          dispose: () => disposeAll([x, w, y]),
        };
      },
    },
    {
      name: "conv2d.backward-weight",
      shape,
      bound: "gflops",
      flops,
      bytes: 4 * (X + Wn + Y),
      setup: (gpu) => {
        const [x, dw, dy] = tensors(gpu);
        return {
          record: () => conv2dBackwardWeight(gpu, x, dy, dw, stride, false),
          dispose: () => disposeAll([x, dw, dy]),
        };
      },
    },
  ];
}

/** Largest batch <= N whose biggest tensor fits one storage binding. */
function fitBatch(gpu: Gpu, N: number, perImageFloats: number): number {
  const max = gpu.limits.maxStorageBufferBindingSize;
  return Math.max(1, Math.min(N, Math.floor(max / (perImageFloats * 4))));
}

/** Every kernel at every layer shape of `space`, deduplicated by name and shape. */
export function spaceCases(gpu: Gpu, space: BenchSpace, batch: number): Case[] {
  const out: Case[] = [];
  const st = space.stem;
  out.push(
    ...stemCases(fitBatch(gpu, batch, Math.max(st.H * st.W * st.Cin, st.H * st.W * st.Cout)), st),
  );
  for (const l of space.layers) {
    for (const e of l.expands) {
      const E = l.Cin * e;
      const N = fitBatch(gpu, batch, l.H * l.W * E);
      const OH = dwconvOutSize(l.H, 3, l.S);
      const OW = dwconvOutSize(l.W, 3, l.S);
      out.push(...pwCases(N, l.H, l.W, l.Cin, E, false), ...bnCases(N, l.H, l.W, E));
      for (const K of l.kernels) out.push(...dwCases(N, l.H, l.W, E, K, l.S, false));
      out.push(
        ...bnCases(N, OH, OW, E),
        ...pwCases(N, OH, OW, E, l.Cout, false),
        ...bnCases(N, OH, OW, l.Cout),
      );
    }
  }
  const h = space.head;
  if (h)
    out.push(...pwCases(fitBatch(gpu, batch, h.H * h.W * h.Cout), h.H, h.W, h.Cin, h.Cout, false));
  const seen = new Set<string>();
  return out.filter((c) => {
    const key = `${c.name}|${c.shape}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The target shapes, with dX and dW also apart for diagnosis. */
export function targetCases(): Case[] {
  return [
    ...pwCases(64, 28, 28, 16, 96, true),
    ...dwCases(64, 28, 28, 96, 3, 1, true),
    ...dwCases(64, 28, 28, 96, 7, 2, true),
    ...pwCases(64, 14, 14, 96, 24, true),
    ...bnCases(64, 28, 28, 96),
  ];
}

// ---- timing ----

interface Runs {
  readonly warmup: number;
  readonly repeats: number;
}

/** Median device ms of `record` over repeats, after warm-up (the first run also compiles). */
export async function timeRecorded(
  timer: GpuTimer,
  record: () => void,
  runs: Runs,
): Promise<number> {
  let expected = 0;
  const times: number[] = [];
  for (let i = 0; i < runs.warmup + runs.repeats; i++) {
    const ms = await timer.time(record, expected);
    expected = ms;
    if (i >= runs.warmup) times.push(ms);
  }
  return median(times);
}

interface Probes {
  readonly fma: ProbeCase;
  readonly copy: ProbeCase;
}

/** Ceilings seen in the run: every probe sample, medians taken at the end. */
interface CeilingSamples {
  readonly gflops: number[];
  readonly gbps: number[];
}

/**
 * Times a kernel case with both probes run right before each repeat. The
 * ratio is the median over repeats of GFLOP/s / FMA probe (or GB/s / copy
 * probe, by the case's bound), each repeat against the probes beside it.
 */
async function timeCase(
  timer: GpuTimer,
  c: Case,
  record: () => void,
  probes: Probes,
  runs: Runs,
  ceil: CeilingSamples,
): Promise<BenchKernelResult> {
  const ms: number[] = [];
  const ratios: number[] = [];
  const expected = { fma: 0, copy: 0, kernel: 0 };
  for (let i = 0; i < runs.warmup + runs.repeats; i++) {
    expected.fma = await timer.time(probes.fma.record, expected.fma);
    expected.copy = await timer.time(probes.copy.record, expected.copy);
    expected.kernel = await timer.time(record, expected.kernel);
    if (i < runs.warmup) continue;
    const F = probes.fma.flops / (expected.fma * 1e6);
    const B = probes.copy.bytes / (expected.copy * 1e6);
    ceil.gflops.push(F);
    ceil.gbps.push(B);
    ms.push(expected.kernel);
    ratios.push(
      c.bound === "gflops"
        ? c.flops / (expected.kernel * 1e6) / F
        : c.bytes / (expected.kernel * 1e6) / B,
    );
  }
  const m = median(ms);
  return {
    name: c.name,
    shape: c.shape,
    ms: m,
    gflops: c.flops / (m * 1e6),
    gbps: c.bytes / (m * 1e6),
    ratio: median(ratios),
  };
}

/** Forward and forward+backward of one training-mode block, median ms each. */
export async function timeBlock(
  gpu: Gpu,
  timer: GpuTimer,
  spec: MbconvSpec,
  runs: Runs,
): Promise<{ fwdMs: number; fwdBwdMs: number }> {
  const rng = new Rng(17);
  const block = new MbconvBlock(gpu, spec, (name, shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    if (name.endsWith(".gamma")) return new Float32Array(n).fill(1);
    if (name.endsWith(".beta")) return new Float32Array(n);
    return Float32Array.from({ length: n }, () => rng.normal() * Math.sqrt(2 / shape[0]));
  });
  const x = filled(gpu, [spec.N, spec.H, spec.W, spec.Cin], 3, "block.x");
  const dy = filled(gpu, mbconvOutShape(spec), 4, "block.dy", 0.01);
  const fwdMs = await timeRecorded(timer, () => block.forward(x, false).y.dispose(), runs);
  const fwdBwdMs = await timeRecorded(
    timer,
    () => {
      const pass = block.forward(x, true);
      pass.backward!(dy).dispose();
      pass.y.dispose();
    },
    runs,
  );
  disposeAll([x, dy]);
  block.dispose();
  return { fwdMs, fwdBwdMs };
}

// ---- the run ----

function line(r: BenchKernelResult): string {
  return (
    `${r.name.padEnd(26)} | ${r.shape.padEnd(30)} | ${r.ms.toFixed(3).padStart(9)} ms | ` +
    `${r.gflops.toFixed(1).padStart(6)} GFLOP/s | ${r.gbps.toFixed(2).padStart(6)} GB/s | ${(r.ratio * 100).toFixed(1).padStart(5)}%`
  );
}

/** Runs the benchmark on `gpu` and returns the bench.json record. */
export async function benchKernels(gpu: Gpu, opts: BenchOptions): Promise<BenchResult> {
  const log = opts.log ?? new Logger(process.stderr, process.stderr);
  const runs = opts.quick ? RUNS.quick : RUNS.full;
  const timer = new GpuTimer(gpu, opts.wallClock ?? false);
  try {
    log.info(
      `device: ${gpu.adapter.description} | timing: ${timer.kind} | ${opts.quick ? "quick" : "full"}`,
    );
    const probes: Probes = { fma: fmaProbe(gpu), copy: copyProbe(gpu) };
    const samples: CeilingSamples = { gflops: [], gbps: [] };
    const cases = [...targetCases()];
    if (!opts.quick) {
      for (const s of opts.spaces ?? DEFAULT_SHAPES)
        cases.push(...spaceCases(gpu, s, opts.batch ?? 64));
    }
    const kernels: BenchKernelResult[] = [];
    for (const c of cases) {
      const rec = c.setup(gpu);
      const r = await timeCase(timer, c, rec.record, probes, runs, samples);
      rec.dispose();
      kernels.push(r);
      log.info(line(r));
    }
    probes.fma.dispose();
    probes.copy.dispose();
    const ceilings = { gflops: median(samples.gflops), gbps: median(samples.gbps) };
    log.info(
      `ceilings (median of ${samples.gflops.length} probe runs): FMA probe ${ceilings.gflops.toFixed(1)} GFLOP/s ` +
        `(${Math.min(...samples.gflops).toFixed(1)}-${Math.max(...samples.gflops).toFixed(1)}) | copy probe ` +
        `${ceilings.gbps.toFixed(2)} GB/s (${Math.min(...samples.gbps).toFixed(2)}-${Math.max(...samples.gbps).toFixed(2)})`,
    );
    const blocks = [await blockResult(gpu, timer, TARGET_BLOCK, runs, opts, log)];
    return { device: gpu.adapter.description, ceilings, kernels, blocks };
  } finally {
    timer.destroy();
  }
}

async function blockResult(
  gpu: Gpu,
  timer: GpuTimer,
  spec: MbconvSpec,
  runs: { warmup: number; blockRepeats: number; peerRepeats: number },
  opts: BenchOptions,
  log: Logger,
): Promise<BenchBlockResult> {
  const name = `mbconv train ${mbconvLabel(spec)} BN ReLU6 residual`;
  const t = await timeBlock(gpu, timer, spec, { warmup: runs.warmup, repeats: runs.blockRepeats });
  log.info(
    `${name} | forward ${t.fwdMs.toFixed(2)} ms | forward+backward ${t.fwdBwdMs.toFixed(2)} ms`,
  );
  let peer: BenchBlockResult["peer"] = null;
  if (opts.peer) {
    try {
      const { peerMbconv } = await import("./peer-tfjs.ts");
      const p = await peerMbconv(gpu, spec, { warmup: 1, repeats: runs.peerRepeats });
      peer = { name: p.name, fwdBwdMs: p.fwdBwdMs };
      log.info(
        `${p.name} | forward ${p.fwdMs.toFixed(1)} ms | forward+backward ${p.fwdBwdMs.toFixed(1)} ms | ours ${(p.fwdBwdMs / t.fwdBwdMs).toFixed(1)}x faster`,
      );
    } catch (e) {
      log.warn(`peer not measured: ${(e as Error).message}`);
    }
  }
  return { name, fwdMs: t.fwdMs, fwdBwdMs: t.fwdBwdMs, peer };
}

/** Target ratio checks for a result: one line each, with pass or miss. */
export function targetReport(r: BenchResult): string[] {
  const out: string[] = [];
  for (const t of BENCH_TARGETS) {
    const k = r.kernels.find((q) => q.name === t.name && q.shape === t.shape);
    if (!k) continue;
    const got = k.ratio;
    const probeName = t.name.startsWith("pwconv") ? "FMA" : "copy";
    out.push(
      `${t.name} ${t.shape}: ${(got * 100).toFixed(1)}% of the ${probeName} probe (target >= ${t.min * 100}%) ${got >= t.min ? "ok" : "MISS"}`,
    );
  }
  for (const b of r.blocks) {
    if (b.peer) {
      const x = b.peer.fwdBwdMs / b.fwdBwdMs;
      out.push(
        `${b.name}: ${x.toFixed(1)}x faster than ${b.peer.name} (target >= 20x) ${x >= 20 ? "ok" : "MISS"}`,
      );
    }
    out.push(
      `${b.name}: forward+backward ${b.fwdBwdMs.toFixed(1)} ms (target <= 200 ms, stretch 80 ms) ${b.fwdBwdMs <= 200 ? "ok" : "MISS"}`,
    );
  }
  return out;
}

// ---- data: the spaces' conv shapes (see packages/nas/src/space/presets.ts) ----

const KS = [3, 5, 7] as const;
const ES = [3, 6] as const;
const layer = (label: string, H: number, Cin: number, Cout: number, S: number): BenchLayer => ({
  label,
  H,
  W: H,
  Cin,
  Cout,
  S,
  kernels: KS,
  expands: ES,
});

export const DEFAULT_SHAPES: readonly BenchSpace[] = [
  {
    name: "fmnist",
    stem: { H: 28, W: 28, Cin: 1, Cout: 8, K: 3, S: 2 },
    layers: [
      layer("stage1.block1", 14, 8, 16, 2),
      layer("stage1.block2", 7, 16, 16, 1),
      layer("stage2.block1", 7, 16, 24, 2),
      layer("stage2.block2", 4, 24, 24, 1),
      layer("stage3.block1", 4, 24, 32, 1),
      layer("stage3.block2", 4, 32, 32, 1),
    ],
    head: { H: 4, W: 4, Cin: 32, Cout: 128 },
  },
  {
    name: "fairnas",
    stem: { H: 224, W: 224, Cin: 3, Cout: 32, K: 3, S: 2 },
    layers: [
      layer("stage1.block1", 112, 16, 32, 2),
      layer("stage1.block2", 56, 32, 32, 1),
      layer("stage2.block1", 56, 32, 40, 2),
      layer("stage2.block2", 28, 40, 40, 1),
      layer("stage3.block1", 28, 40, 80, 2),
      layer("stage3.block2", 14, 80, 80, 1),
      layer("stage4.block1", 14, 80, 96, 1),
      layer("stage4.block2", 14, 96, 96, 1),
      layer("stage5.block1", 14, 96, 192, 2),
      layer("stage5.block2", 7, 192, 192, 1),
      layer("stage6.block1", 7, 192, 320, 1),
    ],
    head: { H: 7, W: 7, Cin: 320, Cout: 1280 },
  },
];

async function main(argv: readonly string[]): Promise<void> {
  const quick = argv.includes("--quick");
  const json = argv.includes("--json");
  const log = new Logger(json ? process.stderr : process.stdout, process.stderr);
  const gpu = await Gpu.create({ log });
  try {
    const r = await benchKernels(gpu, { quick, peer: argv.includes("--peer"), log });
    for (const l of targetReport(r)) log.info(l);
    if (json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
  } finally {
    gpu.destroy();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(process.argv.slice(2));
}
