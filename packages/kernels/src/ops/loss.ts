// Host side of softmax cross-entropy with label smoothing: one pass writes
// per-row loss and hit (and the gradient when asked), a second
// single-invocation pass adds them to the running stats deterministically.

import { f32, type Gpu } from "../runtime/gpu.ts";
import { expectDistinct, expectShape, shapeStr, Tensor } from "../runtime/tensor.ts";
import { wgsl } from "../runtime/wgsl.ts";

const CONFIG = { WG: 64 } as const;

export interface CrossEntropyOptions {
  /** eps: targets are (1 - eps) on the label plus eps / K everywhere. */
  readonly smoothing: number;
  /** [2]: stats[0] += sum of per-example loss, stats[1] += correct top-1. */
  readonly stats?: Tensor;
  /** [N, K]: written with d(mean loss)/dlogits = (softmax - target) / N. */
  readonly dlogits?: Tensor;
}

/** Labels given from the host are checked: each must be a class id in [0, K). */
function checkHostLabels(op: string, labels: ArrayLike<number>, N: number, K: number): void {
  if (labels.length !== N) {
    throw new Error(`${op}: ${labels.length} labels given for logits [${N}, ${K}]`);
  }
  for (let n = 0; n < N; n++) {
    const l = labels[n];
    if (!(Number.isInteger(l) && l >= 0 && l < K)) {
      throw new Error(`${op}: labels[${n}] is ${l}, not a class id in [0, ${K})`);
    }
  }
}

/**
 * logits [N, K]; labels [N] holding class ids, either a device tensor of
 * f32 or host numbers (checked, then uploaded). A device label outside
 * [0, K) contributes only its smoothing term and never counts as correct.
 */
export function softmaxCrossEntropy(
  gpu: Gpu,
  logits: Tensor,
  labels: Tensor | ArrayLike<number>,
  opts: CrossEntropyOptions,
): void {
  const op = "softmaxCrossEntropy";
  if (logits.shape.length !== 2 || logits.shape[1] < 1) {
    throw new Error(`${op}: logits must be [N, K] with K >= 1, got ${shapeStr(logits.shape)}`);
  }
  const [N, K] = logits.shape;
  const device = labels instanceof Tensor ? labels : null;
  if (device) expectShape(op, "labels", device, [N]);
  else checkHostLabels(op, labels as ArrayLike<number>, N, K);
  if (opts.stats) expectShape(op, "stats", opts.stats, [2]);
  if (opts.dlogits) {
    expectShape(op, "dlogits", opts.dlogits, [N, K]);
    expectDistinct(
      op,
      ["dlogits", opts.dlogits],
      ["logits", logits],
      ["labels", device ?? undefined],
    );
  }
  if (!(opts.smoothing >= 0 && opts.smoothing < 1)) {
    throw new Error(`${op}: smoothing must be in [0, 1), got ${opts.smoothing}`);
  }
  if (N === 0 || (!opts.stats && !opts.dlogits)) return;

  const y = device ?? gpu.tensor([N], labels as ArrayLike<number>, "loss.labels");
  const code = wgsl("loss.forward.wgsl");
  const params = [N, K, f32(opts.smoothing)];
  const rowOut = gpu.empty([N, 2], "loss.rows");
  const dummy = opts.dlogits ? null : gpu.empty([1], "loss.noGrad");
  const rows = gpu.pipeline({
    name: `loss.forward.rows${opts.dlogits ? ".grad" : ""}`,
    code,
    entryPoint: "rows",
    constants: { WG: CONFIG.WG, WRITE_GRAD: opts.dlogits ? 1 : 0 },
  });
  gpu.dispatch(rows, {
    tensors: [logits, y, rowOut, opts.dlogits ?? dummy!],
    params,
    groups: Math.ceil(N / CONFIG.WG),
  });

  if (opts.stats) {
    const total = gpu.pipeline({ name: "loss.forward.total", code, entryPoint: "total" });
    gpu.dispatch(total, { tensors: [rowOut, opts.stats], params, groups: 1 });
  }
  rowOut.dispose();
  dummy?.dispose();
  if (!device) y.dispose();
}
