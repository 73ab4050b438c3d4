// Host side of the fused SGD step. w, g and m are flat arrays of any size:
// the vec4 variant updates the whole vec4s, then a scalar dispatch takes the
// 0-3 float tail; the naive variant is scalar throughout.

import { f32, type Gpu } from "../runtime/gpu.ts";
import { expectDistinct, shapeStr, type Tensor } from "../runtime/tensor.ts";
import { fillTemplate, wgsl } from "../runtime/wgsl.ts";

/**
 * The usual convention: g' = g + wd*w; m = mu*m + g';
 * step = nesterov ? g' + mu*m : m; w -= lr*step.
 */
export interface SgdOptions {
  readonly lr: number;
  readonly momentum: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
}

export type SgdVariant = "naive" | "vec4";

const CONFIG = { WG: 64, PER: 4 } as const;

let forced: SgdVariant | null = null;

/** Tests pin a variant with this; null restores automatic selection. */
export function forceSgdVariant(v: SgdVariant | null): void {
  forced = v;
}

/** vec4 needs at least one whole vec4 (a binding of 16 bytes). */
export function selectSgdVariant(count: number): SgdVariant {
  return forced === "naive" || count < 4 ? "naive" : "vec4";
}

function record(
  gpu: Gpu,
  lanes: 1 | 4,
  tensors: readonly Tensor[],
  count: number,
  offset: number,
  o: SgdOptions,
): void {
  const T = lanes === 4 ? "vec4<f32>" : "f32";
  const pipe = gpu.pipeline({
    name: `sgd.update.${lanes === 4 ? "vec4" : "scalar"}`,
    code: fillTemplate("sgd.update.wgsl", wgsl("sgd.update.wgsl"), { T }),
    entryPoint: "update",
    constants: { WG: CONFIG.WG, PER: CONFIG.PER },
  });
  gpu.dispatch(pipe, {
    tensors,
    params: [count, offset, f32(o.lr), f32(o.momentum), f32(o.weightDecay), o.nesterov ? 1 : 0],
    groups: Math.ceil((count - offset) / (CONFIG.WG * CONFIG.PER)),
  });
}

/**
 * Updates w and m in place from g; all three hold the same number of
 * elements and are three distinct buffers (each is bound once).
 */
export function sgdUpdate(gpu: Gpu, w: Tensor, g: Tensor, m: Tensor, opts: SgdOptions): void {
  if (g.size !== w.size || m.size !== w.size) {
    throw new Error(
      `sgdUpdate: w ${shapeStr(w.shape)}, g ${shapeStr(g.shape)} and m ${shapeStr(m.shape)} ` +
        `must hold the same number of elements`,
    );
  }
  expectDistinct("sgdUpdate", ["w", w], ["g", g], ["m", m]);
  expectDistinct("sgdUpdate", ["m", m], ["g", g]);
  const n = w.size;
  if (n === 0) return;
  if (selectSgdVariant(n) === "naive") {
    record(gpu, 1, [w, g, m], n, 0, opts);
    return;
  }
  const body = Math.floor(n / 4);
  record(gpu, 4, [w, g, m], body, 0, opts);
  if (body * 4 < n) record(gpu, 1, [w, g, m], n, body * 4, opts);
}
