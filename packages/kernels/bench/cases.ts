// Benchmark cases: each kernel at a layer shape, with the cost model its
// ratio is taken against (FLOPs for GEMM-like kernels, the bytes a perfect
// kernel must move for the memory-bound ones) and a recorder over
// preallocated tensors. bench/kernels.ts times them.

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
  pwconv,
  pwconvBackwardInput,
  pwconvBackwardWeight,
  Rng,
  type Gpu,
  type Shape,
  type Tensor,
} from "../mod.ts";

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

export type Bound = "gflops" | "gbps";

/** One timed piece of work: its cost model and a recorder over preallocated tensors. */
export interface Case {
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
export function filled(gpu: Gpu, shape: Shape, seed: number, label: string, scale = 1): Tensor {
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

export function disposeAll(ts: readonly Tensor[]): void {
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
