import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { testGpu } from "@fairnas/kernels/testing";
import type { Gpu } from "@fairnas/kernels";
import { BatchPreparer } from "../data/batches.ts";
import {
  computeNormalization,
  DEFAULT_DATA_DIR,
  loadDataset,
  splitTrainVal,
  type ImageSet,
  type Normalization,
} from "../data/dataset.ts";
import { getSpace } from "../space/presets.ts";
import { resolveSpace } from "../space/spec.ts";
import { exportState } from "../supernet/state.ts";
import { upload, type DeviceBatch } from "../train/trainer.ts";
import {
  settingDiffs,
  trainStandalone,
  type StandaloneData,
  type StandaloneSpec,
} from "./train.ts";

const gpu = await testGpu();
const haveData = existsSync(DEFAULT_DATA_DIR);
const space = resolveSpace(getSpace("fmnist"));
const arch = space.layers.map(() => 0); // k3e3 everywhere: the cheapest path

function batches(g: Gpu, set: ImageSet, idx: Int32Array, norm: Normalization): DeviceBatch[] {
  const prep = new BatchPreparer(set, idx, {
    batchSize: 128,
    shuffle: false,
    dropLast: false,
    augment: null,
    seed: 0,
    norm,
  });
  const out: DeviceBatch[] = [];
  for (let p = 0; p < idx.length; p += 128)
    out.push(
      upload(g, prep.prepare({ epoch: 0, position: p, batches: out.length }), space.spec.input),
    );
  return out;
}

async function slice(g: Gpu, trainImages: number): Promise<StandaloneData & { dispose(): void }> {
  const { train: set, test } = await loadDataset(DEFAULT_DATA_DIR);
  const split = splitTrainVal(set.n, 256, 1);
  const train = split.train.slice(0, trainImages);
  const norm = computeNormalization(set, train);
  const val = batches(g, set, split.val, norm);
  const testB = batches(
    g,
    test,
    Int32Array.from({ length: 256 }, (_, i) => i),
    norm,
  );
  return {
    set,
    train,
    norm,
    val,
    test: testB,
    dispose: () => [...val, ...testB].forEach((b) => b.dispose()),
  };
}

function spec(over: Partial<StandaloneSpec>): StandaloneSpec {
  return {
    arch,
    seed: 3,
    epochs: 2,
    batchSize: 32,
    lr: 0.05,
    minLr: 0.001,
    warmupEpochs: 0.05,
    momentum: 0.9,
    nesterov: true,
    weightDecay: 4e-5,
    labelSmoothing: 0.1,
    augment: { cropPad: 2, flip: false },
    checkpointEvery: 0,
    ...over,
  };
}

describe.skipIf(!gpu || !haveData)("stand-alone training on a Fashion-MNIST slice", () => {
  it("fmnist k3e3x8 train 1024 B32 2 epochs: val top-1 well above chance (10%)", async () => {
    const g = gpu!;
    const data = await slice(g, 1024);
    const dir = mkdtempSync(join(tmpdir(), "sa-train-"));
    try {
      const out = await trainStandalone(g, space, spec({}), data, join(dir, "a.ckpt"), false);
      out.net.dispose();
      expect(out.epochs.map((e) => e.epoch)).toEqual([1, 2]);
      expect(out.totalSteps).toBe(64);
      expect(out.val.top1).toBeGreaterThan(0.3);
      expect(out.test.top1).toBeGreaterThan(0.3);
      expect(out.test.images).toBe(256);
      expect(out.epochs[1].loss).toBeLessThan(out.epochs[0].loss);
    } finally {
      data.dispose();
    }
  });

  it("fmnist k3e3x8 256 B32 2 epochs: stopped at 6, resumed at 4, bit-identical", async () => {
    const g = gpu!;
    const data = await slice(g, 256);
    const dir = mkdtempSync(join(tmpdir(), "sa-resume-"));
    const s = spec({ checkpointEvery: 4 });
    try {
      const whole = await trainStandalone(g, space, s, data, join(dir, "whole.ckpt"), false);
      const wantState = await exportState(g, whole.net);
      whole.net.dispose();

      const path = join(dir, "cut.ckpt");
      const stop = new Error("interrupted");
      await expect(
        trainStandalone(g, space, s, data, path, false, {
          onStep: (r) => {
            if (r.step + 1 === 6) throw stop;
          },
        }),
      ).rejects.toBe(stop);
      let resumedAt = -1;
      const resumed = await trainStandalone(g, space, s, data, path, true, {
        onResume: (k) => (resumedAt = k),
      });
      expect(resumedAt).toBe(4);
      expect(resumed.stepsRun).toBe(12);
      const gotState = await exportState(g, resumed.net);
      resumed.net.dispose();

      expect(Object.keys(gotState)).toEqual(Object.keys(wantState));
      for (const k of Object.keys(wantState))
        expect(Array.from(gotState[k]), k).toEqual(Array.from(wantState[k]));
      const strip = (es: typeof whole.epochs) => es.map(({ seconds: _, ...e }) => e);
      expect(strip(resumed.epochs)).toEqual(strip(whole.epochs));
      expect(resumed.test).toEqual(whole.test);
    } finally {
      data.dispose();
    }
  });

  it("a checkpoint made with other settings (lr 0.05 vs 0.1) is refused on resume", async () => {
    const g = gpu!;
    const data = await slice(g, 64);
    const dir = mkdtempSync(join(tmpdir(), "sa-other-"));
    try {
      const path = join(dir, "x.ckpt");
      const a = await trainStandalone(g, space, spec({ epochs: 1 }), data, path, false);
      a.net.dispose();
      await expect(
        trainStandalone(g, space, spec({ epochs: 1, lr: 0.1 }), data, path, true),
      ).rejects.toThrow(/other settings \(lr 0\.05 in the checkpoint, 0\.1 now\)/);
    } finally {
      data.dispose();
    }
  });
});

describe("settingDiffs", () => {
  it("names nested, added and removed fields by path", () => {
    const was = { lr: 0.05, epochs: 0.5, aug: { flip: true, cropPad: 2 }, seed: 1 };
    const now = { lr: 0.05, epochs: 1, aug: { flip: false, cropPad: 2 }, extra: 3, seed: 1 };
    expect(settingDiffs(was, now, "")).toEqual([
      "aug.flip true in the checkpoint, false now",
      "epochs 0.5 in the checkpoint, 1 now",
      "extra unset in the checkpoint, 3 now",
    ]);
    expect(settingDiffs({ a: [1, 2] }, { a: [1, 2] }, "")).toEqual([]);
  });
});
