// The progressive candidate table of PONAS. For layer l = 0..L-1 in order:
// layers before l hold the candidates already chosen, layers after l hold
// the meta block, and layer l tries every candidate; each is scored on
// validation images (BN recalibrated per path). Row l is those scores, and
// the layer's choice is the row's best. Optionally, the candidates of layer
// l are first trained for a few strict-fair steps (one-shot in the layer).

import type { Gpu } from "@fairnas/kernels";
import { evaluateArch, type EvalData } from "../eval/evaluate.ts";
import type { Arch } from "../space/arch.ts";
import type { Supernet } from "../supernet/network.ts";
import { candidateTable, type CandidateTable } from "./table.ts";

export interface TableRow {
  readonly layer: number;
  /** Validation top-1 per candidate (fraction). */
  readonly top1: number[];
  /** Validation cross-entropy per candidate. */
  readonly loss: number[];
  /** The row's best candidate, now fixed for the later layers. */
  readonly chosen: number;
  readonly seconds: number;
}

export interface ProgressiveOptions {
  /** Path of every layer not yet reached (the meta network). */
  readonly meta: Arch;
  readonly data: EvalData;
  /**
   * Short training of layer `layer`'s candidates given the fixed choices
   * of the other layers, before the row is scored; absent: none.
   */
  readonly trainLayer?: (layer: number, base: Arch) => Promise<void>;
  /** Rows already measured (resume); they are reused, not re-scored. */
  readonly done?: readonly TableRow[];
  readonly onRow?: (row: TableRow) => void;
}

export interface ProgressiveResult {
  readonly rows: TableRow[];
  readonly table: CandidateTable;
  /** The best candidate of every row. */
  readonly startpoint: number[];
}

/** The architecture layer `l` scores candidate `c` in. */
export function rowArch(chosen: readonly number[], meta: Arch, l: number, c: number): number[] {
  return meta.map((m, j) => (j < l ? chosen[j] : j === l ? c : m));
}

export async function progressiveTable(
  gpu: Gpu,
  net: Supernet,
  opts: ProgressiveOptions,
): Promise<ProgressiveResult> {
  const L = net.space.layers.length;
  const m = net.space.spec.choices.length;
  const rows: TableRow[] = [...(opts.done ?? [])];
  const chosen = rows.map((r) => r.chosen);
  for (let l = rows.length; l < L; l++) {
    const t0 = performance.now();
    if (opts.trainLayer) await opts.trainLayer(l, rowArch(chosen, opts.meta, l, opts.meta[l]));

    const top1: number[] = [];
    const loss: number[] = [];
    for (let c = 0; c < m; c++) {
      const s = await evaluateArch(gpu, net, rowArch(chosen, opts.meta, l, c), opts.data, "recal");
      top1.push(s.top1);
      loss.push(s.loss);
    }
    // Ties go to the lowest index, as candidateTable's argmax does.
    const best = candidateTable([top1]).best[0];
    const row = { layer: l, top1, loss, chosen: best, seconds: (performance.now() - t0) / 1000 };
    rows.push(row);
    chosen.push(best);
    opts.onRow?.(row);
  }
  const table = candidateTable(rows.map((r) => r.top1));
  return { rows, table, startpoint: table.best.slice() };
}
