// Scores an architecture with weights inherited from the supernet. The
// validation batches (and the recalibration batches) are uploaded once and
// reused for every architecture; loss and correct counts accumulate on the
// GPU and come back once per architecture.
//
// BN modes: "tracked" uses the supernet's running statistics; "recal"
// recomputes the path's statistics over a fixed set of training batches as
// a true population average (law of total variance over equal-size
// batches), used only for this evaluation: stored statistics never change.

import { softmaxCrossEntropy, type Gpu, type Tensor } from "@fairnas/kernels";
import { archToString, type Arch } from "../space/arch.ts";
import type { BnStats, Supernet } from "../supernet/network.ts";
import type { BnState } from "../supernet/params.ts";
import type { DeviceBatch } from "../train/trainer.ts";

export type BnEvalMode = "tracked" | "recal";

export interface Score {
  readonly arch: string;
  readonly top1: number;
  readonly loss: number;
  readonly images: number;
  readonly bn: BnEvalMode;
}

export interface EvalData {
  /** Batches scored (the validation split). */
  readonly batches: readonly DeviceBatch[];
  /** Training batches used for BN recalibration (fixed, seeded). */
  readonly recal: readonly DeviceBatch[];
}

export async function evaluateArch(
  gpu: Gpu,
  net: Supernet,
  arch: Arch,
  data: EvalData,
  bn: BnEvalMode,
): Promise<Score> {
  const override = bn === "recal" ? await recalibrate(gpu, net, arch, data.recal) : null;
  const stats = gpu.zeros([2], "eval.stats");
  let images = 0;
  try {
    for (const b of data.batches) {
      const mode = override
        ? { kind: "override" as const, stats: override }
        : { kind: "tracked" as const };
      const { logits } = net.forward(b.x, arch, { bn: mode, grad: false });
      softmaxCrossEntropy(gpu, logits, b.y, { smoothing: 0, stats });
      logits.dispose();
      images += b.n;
    }
    const [loss, correct] = await gpu.read(stats);
    return {
      arch: archToString(net.space, arch),
      top1: correct / images,
      loss: loss / images,
      images,
      bn,
    };
  } finally {
    stats.dispose();
    if (override) for (const s of override.values()) disposeStats(s);
  }
}

/** Population BN statistics of `arch`'s path over `batches` (equal sizes assumed). */
export async function recalibrate(
  gpu: Gpu,
  net: Supernet,
  arch: Arch,
  batches: readonly DeviceBatch[],
): Promise<Map<BnState, BnStats>> {
  if (batches.length === 0) throw new Error("BN recalibration needs at least one batch");
  const perBn = new Map<BnState, { mean: Tensor[]; variance: Tensor[]; count: number }>();
  const sink = (bn: BnState, mean: Tensor, variance: Tensor, count: number) => {
    const e = perBn.get(bn) ?? { mean: [], variance: [], count: 0 };
    e.mean.push(mean);
    e.variance.push(variance);
    e.count += count;
    perBn.set(bn, e);
  };
  for (const b of batches) {
    const { logits } = net.forward(b.x, arch, { bn: { kind: "collect", sink }, grad: false });
    logits.dispose();
  }
  // One read-back for every layer's per-batch statistics.
  const entries = [...perBn];
  const flat = entries.flatMap(([, e]) => [...e.mean, ...e.variance]);
  let host: Float32Array[];
  try {
    host = await gpu.readMany(flat);
  } finally {
    for (const t of flat) t.dispose();
  }
  const out = new Map<BnState, BnStats>();
  let at = 0;
  for (const [bn, e] of entries) {
    const means = host.slice(at, at + e.mean.length);
    at += e.mean.length;
    const vars = host.slice(at, at + e.variance.length);
    at += e.variance.length;
    const { mean, variance } = populationStats(means, vars, e.count);
    out.set(bn, {
      mean: gpu.tensor([bn.channels], mean, `${bn.name}.recal_mean`),
      variance: gpu.tensor([bn.channels], variance, `${bn.name}.recal_var`),
    });
  }
  return out;
}

/**
 * Merges per-batch means and biased variances of B equal-size batches into
 * the population mean and the unbiased population variance over `total`
 * values per channel (images x height x width over all batches): var = mean_b(v_b) + mean_b(m_b^2) - mean^2, times n/(n-1).
 */
export function populationStats(
  means: readonly Float32Array[],
  vars: readonly Float32Array[],
  total: number,
): { mean: Float64Array; variance: Float64Array } {
  const B = means.length;
  const C = means[0].length;
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    let m = 0;
    let v = 0;
    let m2 = 0;
    for (let b = 0; b < B; b++) {
      m += means[b][c];
      v += vars[b][c];
      m2 += means[b][c] * means[b][c];
    }
    m /= B;
    const biased = v / B + Math.max(0, m2 / B - m * m);
    mean[c] = m;
    variance[c] = total > 1 ? (biased * total) / (total - 1) : biased;
  }
  return { mean, variance };
}

function disposeStats(s: BnStats): void {
  s.mean.dispose();
  s.variance.dispose();
}
