// ponasStage end to end on a tiny Fashion-MNIST slice (512 training
// images, 32 validation images for the table), then a resume that skips
// training, then `specialize --sweep` measured on the saved supernet.
// 512 images, not fewer: with 128 the supernet learns nothing, every table
// entry ties, the startpoint is the cheapest network and the sweep and the
// search comparison collapse to one point with no search answer.

import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Logger } from "@fairnas/kernels";
import { readRun } from "@fairnas/viz";
import { resolveConfig } from "../config.ts";
import { main } from "../main.ts";
import { ponasStage, type PonasOutcome } from "./ponas-stage.ts";

const FMNIST = "/usr/share/datasets/fashion-mnist";
const have = existsSync(join(FMNIST, "train-images-idx3-ubyte.gz"));

function quietLog(): { log: Logger; text: () => string } {
  let s = "";
  const sink = { write: (t: string) => ((s += t), true) };
  return { log: new Logger(sink as never, sink as never), text: () => s };
}

const cfg = resolveConfig(
  "quick",
  {
    data: FMNIST,
    train: { trainLimit: 512, valSize: 64, batchSize: 32, checkpointEvery: 2, logEvery: 2 },
    eval: { recalBatches: 1, batchSize: 32 },
    ponas: {
      metaEpochs: 1,
      finetuneEpochs: 0.25,
      tableValImages: 32,
      layerSteps: 0,
      sweepPoints: 3,
    },
  },
  {},
);

describe.skipIf(!have)("ponasStage fmnist-ponas trainLimit512 meta16 finetune4 table32", () => {
  const dir = mkdtempSync(join(tmpdir(), "ponas-stage-"));
  let first: PonasOutcome;

  it("runs meta-training, inheritance, fine-tuning, the table and a sweep", async () => {
    const { log, text } = quietLog();
    first = await ponasStage(dir, cfg, { resume: false }, log);
    const out = text();
    expect(out).toMatch(/ponas-meta: steps 0\.\.16/);
    expect(out).toMatch(/inheritance \(slice\): 88 candidate blocks/);
    expect(out).toMatch(/fair: steps 0\.\.4/);
    for (const f of [
      "config.json",
      "metrics.jsonl",
      "ponas-table.json",
      "ponas.json",
      "checkpoints/ponas-meta.ckpt",
      "checkpoints/ponas-supernet.ckpt",
    ]) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }

    const t = first.table;
    expect(t.top1).toHaveLength(8);
    for (const row of t.top1) {
      expect(row).toHaveLength(12);
      for (const v of row) expect(v * 32).toBeCloseTo(Math.round(v * 32), 9); // whole images of 32
    }
    t.best.forEach((b, l) => expect(t.top1[l][b]).toBe(Math.max(...t.top1[l])));
    expect(t.startTop1).toBe(t.top1[7][t.best[7]]);

    const rec = readRun(dir).ponas!;
    expect(rec.startpoint).toBe(t.best.map((c) => t.tokens[c]).join("-"));
    expect(rec.maxLoss).toEqual(t.top1.map((row) => Math.max(...row) - Math.min(...row)));
    // A table that ranks the choices: the startpoint is not the cheapest network, so
    // the sweep spans sweepPoints distinct budgets.
    expect(rec.sweep).toHaveLength(3);
    const budgets = rec.sweep.map((p) => p.budget);
    expect(budgets).toEqual([...budgets].sort((a, b) => a - b));
    expect(new Set(budgets).size).toBe(3);
    for (const p of rec.sweep) {
      expect(p.measured).toBeGreaterThanOrEqual(0);
      expect(p.measured).toBeLessThanOrEqual(1);
    }
    // The last budget is the startpoint's cost: zero predicted loss. Where
    // the answer is the startpoint itself, its score is its table entry.
    const last = rec.sweep[rec.sweep.length - 1] as (typeof rec.sweep)[number] & { arch: string };
    expect(last.predicted).toBeCloseTo(t.startTop1, 12);
    const rowBest = (arch: string) =>
      arch
        .split("-")
        .every((tok, l) => t.top1[l][t.tokens.indexOf(tok)] === Math.max(...t.top1[l]));
    expect(rowBest(last.arch), last.arch).toBe(true);
    if (last.arch === rec.startpoint) expect(last.measured).toBeCloseTo(t.startTop1, 9);

    // The search on the same supernet and images, paired budget by budget.
    const cmp = rec.compare!;
    expect(cmp.points).toHaveLength(rec.sweep.length);
    expect(cmp.valImages).toBe(32);
    expect(cmp.search.evaluations).toBeGreaterThan(0);
    expect(cmp.specializeMs).toBeGreaterThan(0);
    expect(cmp.specializeMs).toBeLessThan(1000);
    const scored = new Map<string, number>();
    // The search has an answer within the larger budgets, so the delta is checked.
    expect(cmp.points.filter((p) => p.search !== null).length).toBeGreaterThan(0);
    for (const [i, p] of cmp.points.entries()) {
      expect(p.budget).toBe(rec.sweep[i].budget);
      expect(p.ponas.measured).toBe(rec.sweep[i].measured);
      if (p.search) {
        expect(p.search.madds).toBeLessThanOrEqual(p.budget * (1 + 1e-9));
        expect(p.delta).toBeCloseTo(p.search.measured! - p.ponas.measured!, 12);
        scored.set(p.search.arch, p.search.measured!);
      }
    }
    // Both sides score on the same images with the same recalibration.
    for (const p of cmp.points)
      if (scored.has(p.ponas.arch)) expect(scored.get(p.ponas.arch)).toBe(p.ponas.measured);
    const pareto = JSON.parse(readFileSync(join(dir, "pareto.json"), "utf8")) as unknown[];
    expect(pareto.length).toBe(cmp.search.front);

    const metrics = readFileSync(join(dir, "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const steps = metrics.filter((r) => r.type === "step");
    expect(steps.map((r) => `${r.sampler}@${r.step}`)).toEqual([
      ...[2, 4, 6, 8, 10, 12, 14, 16].map((k) => `ponas-meta@${k}`),
      "fair@18",
      "fair@20",
    ]);
    expect(metrics.filter((r) => r.type === "ponas-row")).toHaveLength(8);
  });

  it("resume skips training and measures the same table", async () => {
    const { log, text } = quietLog();
    const again = await ponasStage(dir, cfg, { resume: true, sweep: false }, log);
    expect(text()).toMatch(/resumed fine-tuning from .*ponas-supernet\.ckpt at step 4/);
    expect(text()).not.toMatch(/ponas-meta: steps/);
    expect(again.table.top1).toEqual(first.table.top1);
  });

  it("specialize --sweep --json measures the sweep on the saved supernet", async () => {
    let out = "";
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
    try {
      const code = await main(
        ["specialize", "--run", dir, "--sweep", "--points", "2", "--json"],
        quietLog().log,
      );
      expect(code).toBe(0);
    } finally {
      process.stdout.write = write;
    }
    const pts = JSON.parse(out.trim().split("\n").pop()!);
    expect(pts).toHaveLength(2);
    for (const p of pts) expect(typeof p.measured).toBe("number");
    const start = first.record.startpoint;
    for (const p of pts)
      if (p.arch === start) expect(p.measured).toBeCloseTo(first.table.startTop1, 9);
    expect(pts[pts.length - 1].predicted).toBeCloseTo(first.table.startTop1, 12);
  });
});
