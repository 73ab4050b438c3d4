// Per-op device time of the benchmark block's training step at its real
// shapes (N64 H28 W28 24->144->k5s1->24): which kernels the block spends on.
//   tsx bench/block-profile.ts
import {
  add,
  batchNormBackward,
  batchNormTrain,
  dwconv,
  dwconvBackwardInput,
  dwconvBackwardWeight,
  Gpu,
  pwconv,
  pwconvBackwardInput,
  pwconvBackwardWeight,
  Rng,
  type Shape,
  type Tensor,
} from "../mod.ts";
import { GpuTimer, median } from "../src/runtime/timing.ts";

const gpu = await Gpu.create({});
const timer = new GpuTimer(gpu);
const rng = new Rng(3);
const t = (shape: Shape, scale = 1): Tensor => {
  const n = shape.reduce((a, b) => a * b, 1);
  return gpu.tensor(
    shape,
    Float32Array.from({ length: n }, () => rng.normal() * scale),
    "p",
  );
};
const N = 64,
  H = 28,
  W = 28,
  Ci = 24,
  E = 144,
  K = 5;
const x = t([N, H, W, Ci]),
  h = t([N, H, W, E]),
  dyE = t([N, H, W, E], 0.01),
  dyC = t([N, H, W, Ci], 0.01);
const we = t([Ci, E], 0.2),
  wp = t([E, Ci], 0.1),
  wd = t([K, K, E], 0.2);
const bn = (C: number) => ({
  gamma: t([C]),
  beta: t([C]),
  runningMean: gpu.zeros([C], "m"),
  runningVar: gpu.zeros([C], "v"),
});
const bnE = bn(E),
  bnC = bn(Ci);
const gE = { dgamma: gpu.zeros([E], "g"), dbeta: gpu.zeros([E], "b") };
const gC = { dgamma: gpu.zeros([Ci], "g"), dbeta: gpu.zeros([Ci], "b") };
const dwe = gpu.zeros([Ci, E], "dwe"),
  dwp = gpu.zeros([E, Ci], "dwp"),
  dwd = gpu.zeros([K, K, E], "dwd");
const savedE = batchNormTrain(gpu, h, bnE, { momentum: 0.1, eps: 1e-5 }).saved;
const savedC = batchNormTrain(gpu, x, bnC, { momentum: 0.1, eps: 1e-5 }).saved;
const pre = { coef: t([3, E]), relu6: true };
const cases: [string, () => void][] = [
  ["dw 5x5 fwd 144 +pre", () => dwconv(gpu, h, wd, { stride: 1, pre }).dispose()],
  ["pw project fwd +pre", () => pwconv(gpu, h, wp, undefined, pre).dispose()],
  ["pw project dW +pre", () => pwconvBackwardWeight(gpu, h, dyC, dwp, false, pre)],
  ["dw 5x5 dW +pre", () => dwconvBackwardWeight(gpu, h, dyE, dwd, { stride: 1, pre }, false)],
  ["pw expand fwd 24->144", () => pwconv(gpu, x, we).dispose()],
  [
    "bn1 train relu6 144",
    () => {
      const r = batchNormTrain(gpu, h, bnE, { momentum: 0.1, eps: 1e-5, relu6: true });
      r.y.dispose();
      r.saved.mean.dispose();
      r.saved.invStd.dispose();
    },
  ],
  ["dw 5x5 fwd 144", () => dwconv(gpu, h, wd, { stride: 1 }).dispose()],
  ["pw project fwd 144->24", () => pwconv(gpu, h, wp).dispose()],
  [
    "bn3 train 24",
    () => {
      const r = batchNormTrain(gpu, x, bnC, { momentum: 0.1, eps: 1e-5 });
      r.y.dispose();
      r.saved.mean.dispose();
      r.saved.invStd.dispose();
    },
  ],
  ["add 24", () => add(gpu, x, dyC).dispose()],
  [
    "bn3 back 24",
    () => batchNormBackward(gpu, x, dyC, bnC, savedC, gC, { accumulate: false }).dispose(),
  ],
  ["pw project dW", () => pwconvBackwardWeight(gpu, h, dyC, dwp, false)],
  ["pw project dX", () => pwconvBackwardInput(gpu, dyC, wp).dispose()],
  [
    "bn back relu6 144",
    () =>
      batchNormBackward(gpu, h, dyE, bnE, savedE, gE, { relu6: true, accumulate: false }).dispose(),
  ],
  ["dw 5x5 dW", () => dwconvBackwardWeight(gpu, h, dyE, dwd, { stride: 1 }, false)],
  [
    "dw 5x5 dX",
    () => dwconvBackwardInput(gpu, dyE, wd, { stride: 1, inputShape: h.shape }).dispose(),
  ],
  ["pw expand dW", () => pwconvBackwardWeight(gpu, x, dyE, dwe, false)],
  ["pw expand dX", () => pwconvBackwardInput(gpu, dyE, we).dispose()],
];
const reps = Number(process.argv[2] ?? 7);
for (const [name, rec] of cases) {
  const ms: number[] = [];
  let e = 0;
  for (let i = 0; i < reps + 2; i++) {
    e = await timer.time(rec, e);
    if (i >= 2) ms.push(e);
  }
  console.log(`${name.padEnd(26)} ${median(ms).toFixed(2).padStart(8)} ms`);
}
timer.destroy();
gpu.destroy();
