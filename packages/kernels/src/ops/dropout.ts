// Host side of inverted dropout. The mask comes from a counter-based hash of
// (seed, element index), so it is deterministic and backward rebuilds it
// instead of storing it: both directions run the same kernel.

import { f32, type Gpu } from "../runtime/gpu.ts";
import { expectDistinct, expectShape, type Tensor } from "../runtime/tensor.ts";
import { fillTemplate, wgsl } from "../runtime/wgsl.ts";

export interface DropoutOptions {
  /** Probability of dropping an element, in [0, 1). */
  readonly rate: number;
  /** Any integer; used modulo 2^32. */
  readonly seed: number;
}

export type DropoutVariant = "scalar" | "vec4";

const CONFIG = { WG: 64, PER: 4 } as const;

const MASK_ARGS: Record<DropoutVariant, string> = {
  scalar: "keep(i)",
  vec4: "keep(4u * i), keep(4u * i + 1u), keep(4u * i + 2u), keep(4u * i + 3u)",
};

let forced: DropoutVariant | null = null;

/** Tests pin a variant with this; null restores automatic selection. */
export function forceDropoutVariant(v: DropoutVariant | null): void {
  forced = v;
}

export function selectDropoutVariant(count: number): DropoutVariant {
  return forced === "scalar" || count % 4 !== 0 ? "scalar" : "vec4";
}

function mix32(v: number): number {
  let h = v >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  h = Math.imul(h, 0x7feb352d) >>> 0;
  h = (h ^ (h >>> 15)) >>> 0;
  h = Math.imul(h, 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** `names`: the input's and the output's argument names, for errors. */
function record(
  gpu: Gpu,
  op: string,
  names: readonly [string, string],
  src: Tensor,
  opts: DropoutOptions,
  out: Tensor | undefined,
): Tensor {
  if (out) {
    expectShape(op, "output", out, src.shape);
    expectDistinct(op, [names[1], out], [names[0], src]);
  }
  if (!(opts.rate >= 0 && opts.rate < 1)) {
    throw new Error(`${op}: rate must be in [0, 1), got ${opts.rate}`);
  }
  if (!Number.isInteger(opts.seed))
    throw new Error(`${op}: seed must be an integer, got ${opts.seed}`);
  // Allocated only once the call is known to be valid (a refused call leaks nothing).
  const dst = out ?? gpu.empty(src.shape, `dropout.${names[1]}`);
  if (src.size === 0) return dst;
  const v = selectDropoutVariant(src.size);
  const count = v === "vec4" ? src.size / 4 : src.size;
  const file = "dropout.forward.wgsl";
  const pipe = gpu.pipeline({
    name: `dropout.forward.${v}`,
    code: fillTemplate(file, wgsl(file), {
      T: v === "vec4" ? "vec4<f32>" : "f32",
      MASK_ARGS: MASK_ARGS[v],
    }),
    entryPoint: "apply",
    constants: { WG: CONFIG.WG, PER: CONFIG.PER },
  });
  const key = mix32((opts.seed ^ 0x9e3779b9) >>> 0);
  const threshold = Math.round(opts.rate * 2 ** 24);
  gpu.dispatch(pipe, {
    tensors: [src, dst],
    params: [count, key, threshold, f32(1 / (1 - opts.rate))],
    groups: Math.ceil(count / (CONFIG.WG * CONFIG.PER)),
  });
  return dst;
}

/** y = x * mask / (1 - rate), mask[e] from hash(seed, e). `y` must not alias `x`. */
export function dropout(gpu: Gpu, x: Tensor, opts: DropoutOptions, y?: Tensor): Tensor {
  return record(gpu, "dropout", ["x", "y"], x, opts, y);
}

/** dx = dy * mask / (1 - rate) with the forward's (rate, seed). */
export function dropoutBackward(gpu: Gpu, dy: Tensor, opts: DropoutOptions, dx?: Tensor): Tensor {
  return record(gpu, "dropoutBackward", ["dy", "dx"], dy, opts, dx);
}
