import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Rng, softmaxCrossEntropy, type Gpu, type Tensor } from "@fairnas/kernels";
import { expectClose, testGpu } from "@fairnas/kernels/testing";
import { resolveSpace, validateSpace, type ResolvedSpace } from "../space/spec.ts";
import { evaluateArch, recalibrate } from "../eval/evaluate.ts";
import { restoreSupernet, trainLoop } from "../train/loop.ts";
import { SupernetTrainer, type DeviceBatch, type StepConfig } from "../train/trainer.ts";
import { Supernet, type BnStats } from "./network.ts";
import type { BnState } from "./params.ts";
import { SupernetModel } from "./model.ts";
import { exportState } from "./state.ts";

const gpu = await testGpu();

/** 8x8x2 input, 3 classes; 3 searchable layers with a residual, a stride and SE choices. */
function tinySpace(): ResolvedSpace {
  return resolveSpace(
    validateSpace({
      name: "tiny",
      input: { height: 8, width: 8, channels: 2 },
      classes: 3,
      stem: { width: 4, kernel: 3, stride: 1 },
      firstBlock: { width: 4, kernel: 3 },
      stages: [
        { width: 4, layers: 2, stride: 1 },
        { width: 6, layers: 1, stride: 2 },
      ],
      choices: [
        { kernel: 3, expand: 3, se: false },
        { kernel: 5, expand: 6, se: false },
        { kernel: 3, expand: 3, se: true },
      ],
      se: { ratio: 0.25, base: "expanded", divisor: 1 },
      head: { width: 8, dropout: 0.2 },
      bn: { momentum: 0.1, eps: 1e-5 },
    }),
  );
}

function batch(g: Gpu, n: number, seed: number): DeviceBatch {
  const rng = new Rng(seed);
  const x = g.tensor(
    [n, 8, 8, 2],
    Array.from({ length: n * 128 }, () => rng.normal()),
  );
  const y = g.tensor(
    [n],
    Array.from({ length: n }, (_, i) => i % 3),
  );
  return {
    x,
    y,
    n,
    dispose: () => {
      x.dispose();
      y.dispose();
    },
  };
}

const CFG: StepConfig = {
  sampler: "fair",
  seed: 3,
  sameBatch: true,
  schedule: { lr: 0.05, minLr: 0.01, warmupUpdates: 2, totalUpdates: 40 },
  optim: { momentum: 0.9, nesterov: true, weightDecay: 1e-4, labelSmoothing: 0.1 },
};

describe.runIf(gpu)("supernet", () => {
  it("gradients of paths run together equal the sum of the paths run alone", async () => {
    const g = gpu!;
    const space = tinySpace();
    const net = new Supernet(g, space, 1);
    const model = new SupernetModel(g, net);
    const b = batch(g, 6, 2);
    const p1 = [0, 1, 2];
    const p2 = [2, 0, 1];
    const stemGrad = net.stem.params[0];
    const grads: Float32Array[] = [];
    for (const paths of [[p1], [p2], [p1, p2]]) {
      for (const p of net.params) p.fresh = false;
      const stats = g.zeros([2]);
      for (const p of paths) model.trainPath(p, b, stats, { labelSmoothing: 0, dropoutSeed: 9 });
      grads.push(await g.read(stemGrad.g));
      stats.dispose();
    }
    const sum = grads[0].map((v, i) => v + grads[1][i]);
    expectClose("stem grad p1+p2", grads[2], sum, { atol: 1e-5, rtol: 1e-4 });
    expect(grads[0].some((v) => v !== 0)).toBe(true);
    b.dispose();
    net.dispose();
  });

  it("a path's analytic gradient matches central differences of its loss", async () => {
    const g = gpu!;
    const space = resolveSpace({ ...tinySpace().spec, head: { width: 8, dropout: 0 } });
    const net = new Supernet(g, space, 8);
    const model = new SupernetModel(g, net);
    const b = batch(g, 6, 12);
    const arch = [2, 1, 0];
    const loss = async (): Promise<number> => {
      const stats = g.zeros([2]);
      const { logits } = net.forward(b.x, arch, { bn: { kind: "train" }, grad: false });
      softmaxCrossEntropy(g, logits, b.y, { smoothing: 0, stats });
      const [l] = await g.read(stats);
      logits.dispose();
      stats.dispose();
      return l / b.n;
    };
    for (const p of net.params) p.fresh = false;
    const stats = g.zeros([2]);
    model.trainPath(arch, b, stats, { labelSmoothing: 0, dropoutSeed: 0 });
    stats.dispose();
    // Parameters at the start, middle (SE and depthwise) and end of the path.
    const names = [
      "stem.conv",
      "first.dw",
      "stage1.block1.choice2.se.reduce.weight",
      "stage1.block2.choice1.dw",
      "stage2.block1.choice0.project",
      "head.conv",
    ];
    for (const name of names) {
      const p = net.params.find((q) => q.name === name)!;
      const w0 = await g.read(p.w);
      const grad = await g.read(p.g);
      // Probe along the gradient itself: the directional derivative is then
      // |g|^2, the largest signal any direction gives against f32 noise.
      const gNorm = Math.sqrt(grad.reduce((acc, gi) => acc + gi * gi, 0));
      const wNorm = Math.sqrt(w0.reduce((acc, wi) => acc + wi * wi, 0));
      const v = grad.map((gi) => gi / gNorm);
      // f32 loss noise (~1e-7 / eps) and ReLU6 kinks bound how close FD gets:
      // this catches sign, factor and wiring errors, not rounding.
      const eps = 2e-3 * wNorm;
      g.write(
        p.w,
        w0.map((w, i) => w + eps * v[i]),
      );
      const up = await loss();
      g.write(
        p.w,
        w0.map((w, i) => w - eps * v[i]),
      );
      const down = await loss();
      g.write(p.w, w0);
      const fd = (up - down) / (2 * eps);
      const an = gNorm;
      expect(Math.abs(fd - an), `${name}: fd ${fd} analytic ${an}`).toBeLessThan(1e-5 + 0.08 * an);
    }
    b.dispose();
    net.dispose();
  });

  it("fair training fits a fixed batch (loss falls) and the pool stops growing", async () => {
    const g = gpu!;
    const net = new Supernet(g, tinySpace(), 4);
    const fast = { ...CFG, schedule: { lr: 0.4, minLr: 0.4, warmupUpdates: 0, totalUpdates: 40 } };
    const trainer = new SupernetTrainer(g, new SupernetModel(g, net), fast);
    const b = batch(g, 12, 5);
    const source = { next: async () => ({ ...b, dispose: () => undefined }) };
    const losses: number[] = [];
    const live = g.stats().inUseBytes;
    for (let step = 0; step < 20; step++) {
      losses.push((await trainer.step(step, source)).loss);
      // Every activation, gradient of an activation and scratch buffer is returned.
      expect(g.stats().inUseBytes).toBe(live);
    }
    const last = losses.slice(-4).reduce((a, v) => a + v, 0) / 4;
    expect(last).toBeLessThan(0.7 * losses[0]);
    // Repeating a step (same paths, same shapes) reuses pooled buffers only.
    const allocated = g.stats().allocatedBytes;
    for (let i = 0; i < 3; i++) await trainer.step(19, source);
    expect(g.stats().allocatedBytes).toBe(allocated);
    expect(trainer.counter.spread()).toEqual([0, 0, 0]);
    b.dispose();
    net.dispose();
  });

  const repeatable = "evaluation is repeatable (A, B, A)";
  it(`${repeatable} and recalibration never changes stored BN statistics`, async () => {
    const g = gpu!;
    const net = new Supernet(g, tinySpace(), 6);
    const trainer = new SupernetTrainer(g, new SupernetModel(g, net), CFG);
    const train = batch(g, 12, 7);
    const source = { next: async () => ({ ...train, dispose: () => undefined }) };
    for (let step = 0; step < 3; step++) await trainer.step(step, source);
    const before = await exportState(g, net);
    const data = { batches: [batch(g, 9, 8), batch(g, 5, 9)], recal: [train] };
    const A = [0, 2, 1];
    const B = [1, 1, 0];
    const a1 = await evaluateArch(g, net, A, data, "recal");
    const b1 = await evaluateArch(g, net, B, data, "recal");
    const a2 = await evaluateArch(g, net, A, data, "recal");
    const t1 = await evaluateArch(g, net, A, data, "tracked");
    expect(a2).toEqual(a1);
    expect(a1.images).toBe(14);
    expect(b1.arch).not.toBe(a1.arch);
    expect(t1.loss).not.toBe(a1.loss);
    const after = await exportState(g, net);
    for (const k of Object.keys(before)) expect(after[k]).toEqual(before[k]);
    for (const d of data.batches) d.dispose();
    train.dispose();
    net.dispose();
  });

  const merged = "recalibration over two batches merges";
  it(`${merged} each layer's single-batch statistics exactly`, async () => {
    const g = gpu!;
    const net = new Supernet(g, tinySpace(), 11);
    const b1 = batch(g, 8, 21);
    const b2 = batch(g, 8, 22);
    const A = [2, 0, 1];
    type Host = { mean: Float32Array; variance: Float32Array };
    const read = async (m: Map<BnState, BnStats>): Promise<Map<BnState, Host>> => {
      const out = new Map<BnState, Host>();
      for (const [k, v] of m) {
        out.set(k, { mean: await g.read(v.mean), variance: await g.read(v.variance) });
        v.mean.dispose();
        v.variance.dispose();
      }
      return out;
    };
    // Values per channel of one batch at each layer: 8 images x the layer's area.
    const counts = new Map<BnState, number>();
    const probe = (bn: BnState, mean: Tensor, variance: Tensor, count: number) => {
      counts.set(bn, count);
      mean.dispose();
      variance.dispose();
    };
    net.forward(b1.x, A, { bn: { kind: "collect", sink: probe }, grad: false }).logits.dispose();
    const one = await read(await recalibrate(g, net, A, [b1]));
    const two = await read(await recalibrate(g, net, A, [b2]));
    const both = await read(await recalibrate(g, net, A, [b1, b2]));
    expect(both.size).toBeGreaterThan(3);
    expect([...counts.values()]).toContain(8 * 8 * 8);
    expect([...counts.values()]).toContain(8 * 4 * 4); // after the stride-2 stage
    for (const [bn, s] of both) {
      const n = counts.get(bn)!;
      const s1 = one.get(bn)!;
      const s2 = two.get(bn)!;
      expect(s.mean.length).toBe(bn.channels);
      for (let c = 0; c < bn.channels; c++) {
        // Single-batch outputs are unbiased over n values; undo that, merge, redo over 2n.
        const v1 = (s1.variance[c] * (n - 1)) / n;
        const v2 = (s2.variance[c] * (n - 1)) / n;
        const m = (s1.mean[c] + s2.mean[c]) / 2;
        const biased = (v1 + v2) / 2 + (s1.mean[c] ** 2 + s2.mean[c] ** 2) / 2 - m * m;
        expect(s.mean[c]).toBeCloseTo(m, 5);
        expect(s.variance[c]).toBeCloseTo((biased * 2 * n) / (2 * n - 1), 4);
      }
    }
    b1.dispose();
    b2.dispose();
    net.dispose();
  });

  it("a run stopped at a checkpoint and resumed ends with the same weights", async () => {
    const g = gpu!;
    const space = tinySpace();
    const dir = mkdtempSync(join(tmpdir(), "nas-resume-"));
    const batches = Array.from({ length: 8 }, (_, i) => batch(g, 6, 100 + i));
    const source = () => {
      let pos = 0;
      return {
        next: async () => ({ ...batches[pos++ % batches.length], dispose: () => undefined }),
        state: () => ({ epoch: 0, position: pos, batches: pos }),
      };
    };
    const run = async (stopAt: number | null) => {
      const net = new Supernet(g, space, 11);
      const trainer = new SupernetTrainer(g, new SupernetModel(g, net), CFG);
      const ckpt = join(dir, stopAt === null ? "full.ckpt" : "part.ckpt");
      const opts = {
        totalSteps: 6,
        startStep: 0,
        checkpointEvery: 3,
        checkpointPath: ckpt,
        config: {},
      };
      await trainLoop(
        g,
        net,
        trainer,
        source(),
        stopAt === null ? opts : { ...opts, totalSteps: stopAt },
      );
      if (stopAt === null) return { net, trainer };
      net.dispose();
      // A different init: everything must come from the checkpoint.
      const net2 = new Supernet(g, space, 999);
      const meta = await restoreSupernet(g, net2, ckpt);
      const trainer2 = new SupernetTrainer(g, new SupernetModel(g, net2), CFG, {
        updates: meta.updates,
        counts: meta.counts,
      });
      const src = source();
      for (let i = 0; i < meta.stream.batches; i++) await src.next();
      await trainLoop(g, net2, trainer2, src, { ...opts, startStep: meta.step });
      return { net: net2, trainer: trainer2 };
    };
    const full = await run(null);
    const resumed = await run(3);
    const a = await exportState(g, full.net);
    const b = await exportState(g, resumed.net);
    for (const k of Object.keys(a)) expectClose(k, b[k], a[k], { atol: 1e-6, rtol: 1e-5 });
    expect(resumed.trainer.counter.counts).toEqual(full.trainer.counter.counts);
    full.net.dispose();
    resumed.net.dispose();
    for (const bt of batches) bt.dispose();
  });

  it("refuses a checkpoint of another search space, naming both", async () => {
    const g = gpu!;
    const space = tinySpace();
    const dir = mkdtempSync(join(tmpdir(), "nas-space-"));
    const net = new Supernet(g, space, 1);
    const trainer = new SupernetTrainer(g, new SupernetModel(g, net), CFG);
    const b = batch(g, 6, 1);
    const src = {
      next: async () => ({ ...b, dispose: () => undefined }),
      state: () => ({ epoch: 0, position: 0, batches: 0 }),
    };
    const path = join(dir, "c.ckpt");
    await trainLoop(g, net, trainer, src, {
      totalSteps: 1,
      startStep: 0,
      checkpointEvery: 1,
      checkpointPath: path,
      config: {},
    });
    const other = resolveSpace({ ...space.spec, name: "tiny2", head: { width: 4, dropout: 0 } });
    const net2 = new Supernet(g, other, 1);
    await expect(restoreSupernet(g, net2, path)).rejects.toThrow(/search space 'tiny'.*'tiny2'/);
    net.dispose();
    net2.dispose();
    b.dispose();
  });

  it("a non-finite loss stops training naming the step and the path", async () => {
    const g = gpu!;
    const net = new Supernet(g, tinySpace(), 1);
    const trainer = new SupernetTrainer(g, new SupernetModel(g, net), CFG);
    const b = batch(g, 6, 4);
    // A diverged classifier: its weights overflowed to infinity.
    const fc = net.params.find((p) => p.name === "head.fc.weight")!;
    g.write(fc.w, new Float32Array(fc.w.size).fill(Number.POSITIVE_INFINITY));
    const source = { next: async () => ({ ...b, dispose: () => undefined }) };
    await expect(trainer.step(7, source)).rejects.toThrow(
      /non-finite loss \(NaN\) at step 7 on path k\d/,
    );
    b.dispose();
    net.dispose();
  });

  it("a non-finite loss in the loop leaves the last good checkpoint as the last one", async () => {
    const g = gpu!;
    const net = new Supernet(g, tinySpace(), 1);
    const trainer = new SupernetTrainer(g, new SupernetModel(g, net), CFG);
    const b = batch(g, 6, 4);
    const src = {
      next: async () => ({ ...b, dispose: () => undefined }),
      state: () => ({ epoch: 0, position: 0, batches: 0 }),
    };
    const path = join(mkdtempSync(join(tmpdir(), "nas-nan-")), "c.ckpt");
    const opts = { totalSteps: 2, startStep: 0, checkpointEvery: 1, checkpointPath: path };
    await trainLoop(g, net, trainer, src, { ...opts, config: {} });
    const fc = net.params.find((p) => p.name === "head.fc.weight")!;
    g.write(fc.w, new Float32Array(fc.w.size).fill(Number.POSITIVE_INFINITY));
    await expect(
      trainLoop(g, net, trainer, src, { ...opts, totalSteps: 4, startStep: 2, config: {} }),
    ).rejects.toThrow(/non-finite loss \(NaN\) at step 2 /);
    // The checkpoint of step 2 is intact and finite: nothing of the failed step was saved.
    const net2 = new Supernet(g, tinySpace(), 7);
    const meta = await restoreSupernet(g, net2, path);
    expect(meta.step).toBe(2);
    const fc2 = net2.params.find((p) => p.name === "head.fc.weight")!;
    expect((await g.read(fc2.w)).every(Number.isFinite)).toBe(true);
    net2.dispose();
    b.dispose();
    net.dispose();
  });

  it("the loss kernel sees every class (sanity of the tiny batch)", async () => {
    const g = gpu!;
    const net = new Supernet(g, tinySpace(), 2);
    const b = batch(g, 6, 3);
    const { logits } = net.forward(b.x, [0, 0, 0], { bn: { kind: "tracked" }, grad: false });
    expect(logits.shape).toEqual([6, 3]);
    const stats = g.zeros([2]);
    softmaxCrossEntropy(g, logits, b.y, { smoothing: 0, stats });
    const [loss] = await g.read(stats);
    expect(loss / 6).toBeGreaterThan(0.5);
    expect(loss / 6).toBeLessThan(3);
    for (const t of [logits, stats]) t.dispose();
    b.dispose();
    net.dispose();
  });
});
