// Strip heights of the sliding-window depthwise kernels, compared side by
// side in one process: for each shape and pass, the candidate heights take
// turns for many rounds (so drift on a shared machine hits them alike) and
// the median device ms of each is printed. Used to set CONFIG.slide in
// src/ops/dwconv.ts (maps of at most SMALL_MAP rows take one strip per
// image instead, whatever the table says).
//
//   tsx bench/slide-tune.ts [--rounds R] [--match "H28 C96 K7 S2"]
//
// --match keeps the shapes whose label ("N64 H28 C96 K7 S2") contains it.

import { parseArgs } from "node:util";
import {
  dwconv,
  dwconvBackwardInput,
  dwconvBackwardWeight,
  dwconvOutSize,
  Gpu,
  setSlideStripHeights,
  type SlidePass,
} from "../mod.ts";
import { GpuTimer, interleavedMedians } from "../src/runtime/timing.ts";
import { filled } from "./cases.ts";

interface TuneShape {
  readonly N: number;
  readonly H: number;
  readonly C: number;
  readonly K: number;
  readonly S: 1 | 2;
}

/**
 * 28x28 maps at every kernel size and stride (the benchmark block's layer
 * among them), and the fmnist space's small maps.
 */
const SHAPES: readonly TuneShape[] = [
  { N: 64, H: 28, C: 96, K: 3, S: 1 },
  { N: 64, H: 28, C: 144, K: 5, S: 1 },
  { N: 64, H: 28, C: 96, K: 7, S: 1 },
  { N: 64, H: 28, C: 96, K: 3, S: 2 },
  { N: 64, H: 28, C: 96, K: 5, S: 2 },
  { N: 64, H: 28, C: 96, K: 7, S: 2 },
  { N: 128, H: 14, C: 48, K: 7, S: 2 },
  { N: 128, H: 7, C: 96, K: 7, S: 1 },
  { N: 128, H: 7, C: 96, K: 5, S: 1 },
  { N: 128, H: 4, C: 144, K: 7, S: 1 },
];

const CANDIDATES: Record<1 | 2, readonly number[]> = { 1: [2, 3, 4, 7], 2: [2, 4, 6, 7, 14] };
const PASSES: readonly SlidePass[] = ["forward", "backwardInput", "backwardWeight"];

function recorder(gpu: Gpu, s: TuneShape, pass: SlidePass): { run(): void; dispose(): void } {
  const OH = dwconvOutSize(s.H, s.K, s.S);
  const x = filled(gpu, [s.N, s.H, s.H, s.C], 1, "tune.x");
  const dy = filled(gpu, [s.N, OH, OH, s.C], 2, "tune.dy");
  const w = filled(gpu, [s.K, s.K, s.C], 3, "tune.w");
  const opts = { stride: s.S };
  const run = {
    forward: () => dwconv(gpu, x, w, opts).dispose(),
    backwardInput: () =>
      dwconvBackwardInput(gpu, dy, w, { ...opts, inputShape: x.shape }).dispose(),
    backwardWeight: () => dwconvBackwardWeight(gpu, x, dy, w, opts, false),
  }[pass];
  return { run, dispose: () => [x, dy, w].forEach((t) => t.dispose()) };
}

const shapeLabel = (s: TuneShape): string => `N${s.N} H${s.H} C${s.C} K${s.K} S${s.S}`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { rounds: { type: "string" }, match: { type: "string" } },
  });
  const rounds = Number(values.rounds ?? 15);
  const shapes = SHAPES.filter((s) => shapeLabel(s).includes(values.match ?? ""));
  if (shapes.length === 0) throw new Error(`slide-tune: no shape matches "${values.match}"`);
  const gpu = await Gpu.create({});
  const timer = new GpuTimer(gpu);
  try {
    for (const s of shapes) {
      for (const pass of PASSES) {
        // Backward-input strips must be whole multiples of the stride.
        const ths = CANDIDATES[s.S].filter((th) => pass !== "backwardInput" || th % s.S === 0);
        const rec = recorder(gpu, s, pass);
        const ms = await interleavedMedians(
          timer,
          ths,
          (th) => {
            setSlideStripHeights({ [pass]: { [s.S]: th } });
            rec.run();
          },
          rounds,
        );
        setSlideStripHeights({});
        rec.dispose();
        const cells = ths.map((th) => `${th}: ${ms.get(th)!.toFixed(2)}`);
        const label = `${shapeLabel(s)} ${pass}`;
        console.log(`${label.padEnd(40)} | ${cells.join(" | ")} ms`);
      }
    }
  } finally {
    timer.destroy();
    gpu.destroy();
  }
}

await main();
