// The rows pointwise GEMMs (pwconv-rows.ts) against the tiled ones, side by
// side in one process: for each GEMM (forward, input gradient or weight
// gradient) the two variants take turns for many
// rounds (so drift on a shared machine hits them alike), and the median
// device ms of each and their ratio are printed. Used to set where
// selectPwconvVariant takes the rows kernels on software adapters.
//
//   tsx bench/rows-tune.ts [--rounds R] [--match "K144"]
//
// --match keeps the GEMMs whose label ("fwd M50176 K144 N24") contains it.

import { parseArgs } from "node:util";
import { Gpu } from "../mod.ts";
import {
  pwconvBackwardInputWith,
  pwconvBackwardWeightWith,
  pwconvForwardWith,
  type PwconvVariant,
} from "../src/ops/pwconv.ts";
import { GpuTimer, interleavedMedians } from "../src/runtime/timing.ts";
import { filled } from "./cases.ts";

type TunePass = "fwd" | "dx" | "dw";

interface TuneGemm {
  /**
   * forward y = x w (w [K, N]), input gradient dx = dy w^T (w [N, K]), or
   * weight gradient dw [K, N] = x^T dy (x [M, K], dy [M, N]: a K -> N layer)
   */
  readonly pass: TunePass;
  readonly M: number;
  /** the reduction (for dw: the layer's input channels) */
  readonly K: number;
  /** the output width (for dw: the layer's output channels) */
  readonly N: number;
}

const g = (pass: TunePass, M: number, K: number, N: number): TuneGemm => ({ pass, M, K, N });

/**
 * The benchmark block's and kernels' GEMMs at batch 64 (28x28 and 14x14),
 * the fmnist space's (batch 128 at 7x7 and 4x4), and wide ones of the
 * 224x224 space (batch 64 at 28x28, 14x14 and 7x7).
 */
const GEMMS: readonly TuneGemm[] = [
  g("dx", 50176, 96, 16),
  g("fwd", 50176, 144, 24),
  g("dx", 50176, 144, 24),
  g("fwd", 12544, 96, 24),
  g("dx", 12544, 96, 24),
  g("fwd", 6272, 48, 16),
  g("fwd", 6272, 96, 16),
  g("dx", 6272, 96, 16),
  g("fwd", 2048, 72, 24),
  g("fwd", 2048, 144, 24),
  g("dx", 2048, 144, 24),
  g("fwd", 2048, 192, 32),
  g("dx", 2048, 192, 32),
  g("fwd", 50176, 40, 240),
  g("fwd", 12544, 96, 576),
  g("fwd", 12544, 576, 96),
  g("dx", 3136, 1152, 192),
  g("dw", 50176, 16, 96),
  g("dw", 50176, 24, 144),
  g("dw", 50176, 144, 24),
  g("dw", 12544, 96, 24),
  g("dw", 12544, 24, 96),
  g("dw", 6272, 16, 48),
  g("dw", 6272, 16, 96),
  g("dw", 6272, 96, 16),
  g("dw", 2048, 24, 144),
  g("dw", 2048, 144, 24),
  g("dw", 2048, 32, 192),
  g("dw", 2048, 192, 32),
  g("dw", 12544, 96, 576),
  g("dw", 3136, 1152, 192),
];

const label = (t: TuneGemm): string => `${t.pass} M${t.M} K${t.K} N${t.N}`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { rounds: { type: "string" }, match: { type: "string" } },
  });
  const rounds = Number(values.rounds ?? 15);
  const gemms = GEMMS.filter((t) => label(t).includes(values.match ?? ""));
  if (gemms.length === 0) throw new Error(`rows-tune: no GEMM matches "${values.match}"`);
  const gpu = await Gpu.create({});
  const timer = new GpuTimer(gpu);
  try {
    for (const t of gemms) {
      const x = filled(gpu, [t.M, t.K], 1, "tune.x");
      const w = filled(gpu, t.pass === "dx" ? [t.N, t.K] : [t.K, t.N], 2, "tune.w");
      const dy = filled(gpu, [t.M, t.N], 3, "tune.dy");
      const y = gpu.empty([t.M, t.N], "tune.y");
      const run = (v: PwconvVariant): void => {
        if (t.pass === "fwd") pwconvForwardWith(gpu, v, x, w, y, { M: t.M, CI: t.K, CO: t.N });
        else if (t.pass === "dx")
          pwconvBackwardInputWith(gpu, v, x, w, y, { M: t.M, CI: t.N, CO: t.K });
        else pwconvBackwardWeightWith(gpu, v, x, dy, w, false, { M: t.M, CI: t.K, CO: t.N });
      };
      const ms = await interleavedMedians(timer, ["tiled", "rows"] as const, run, rounds);
      for (const u of [x, w, dy, y]) u.dispose();
      const [tiled, rows] = [ms.get("tiled")!, ms.get("rows")!];
      const cells = `tiled ${tiled.toFixed(2)} | rows ${rows.toFixed(2)} ms`;
      console.log(`${label(t).padEnd(24)} | ${cells} | rows ${(tiled / rows).toFixed(2)}x`);
    }
  } finally {
    timer.destroy();
    gpu.destroy();
  }
}

await main();
