// Host side of the two ceiling probes measured in every benchmark run on the
// benchmark's own device: an FMA-bound kernel (GFLOP/s) and a vec4
// streaming copy (GB/s). Kernel figures are reported as fractions of these.
// Both are short (a few ms at full speed) so they can run beside every
// repeat of every kernel: on a shared machine the load changes within a
// run, and a ratio is only fair against ceilings measured under the same load.

import type { Gpu, Tensor } from "../mod.ts";
import { f32 } from "../mod.ts";
import { wgsl } from "../src/runtime/wgsl.ts";

export const PROBE_CONFIG = {
  // ACC and UNROLL are fixed in probe.fma.wgsl (16 named accumulators, 8
  // FMAs each per loop iteration); ~2.1 GFLOP, ~20 ms at the ceiling: shorter
  // dispatches measured lower and noisier on lavapipe.
  fma: { WG: 64, ACC: 16, UNROLL: 8, INVOCATIONS: 65536, ITERS: 128 },
  // Larger workgroups (256 vs 64) amortise per-workgroup overhead on lavapipe.
  copy: { WG: 256, PER: 4, BYTES: 19 * 2 ** 20 },
} as const;

export interface ProbeCase {
  readonly flops: number;
  readonly bytes: number;
  record(): void;
  dispose(): void;
}

/** FLOPs: INVOCATIONS * ITERS * ACC * UNROLL * 2 (a fused multiply-add counts 2). */
export function fmaProbe(gpu: Gpu): ProbeCase {
  const { WG, ACC, UNROLL, INVOCATIONS, ITERS } = PROBE_CONFIG.fma;
  const y = gpu.empty([INVOCATIONS], "probe.fma.y");
  const pipe = gpu.pipeline({
    name: `probe.fma.acc${ACC}x${UNROLL}`,
    code: wgsl("probe.fma.wgsl"),
    constants: { WG },
  });
  return {
    flops: INVOCATIONS * ITERS * ACC * UNROLL * 2,
    bytes: INVOCATIONS * 4,
    record: () =>
      gpu.dispatch(pipe, {
        tensors: [y],
        params: [INVOCATIONS, ITERS, f32(0.999), f32(0.001)],
        groups: Math.ceil(INVOCATIONS / WG),
      }),
    dispose: () => y.dispose(),
  };
}

/** Bytes: the buffer read once and written once. */
export function copyProbe(gpu: Gpu): ProbeCase {
  const { WG, PER, BYTES } = PROBE_CONFIG.copy;
  const count = BYTES / 16;
  const src: Tensor = gpu.zeros([count * 4], "probe.copy.src");
  const dst: Tensor = gpu.empty([count * 4], "probe.copy.dst");
  const pipe = gpu.pipeline({
    name: "probe.copy.vec4",
    code: wgsl("probe.copy.wgsl"),
    constants: { WG, PER },
  });
  return {
    flops: 0,
    bytes: 2 * BYTES,
    record: () =>
      gpu.dispatch(pipe, {
        tensors: [src, dst],
        params: [count],
        groups: Math.ceil(count / (WG * PER)),
      }),
    dispose: () => {
      src.dispose();
      dst.dispose();
    },
  };
}
