// Weight inheritance: every slice is checked element by element against
// index arithmetic written out here, on host arrays and on a real supernet.

import { describe, expect, it } from "vitest";
import { testGpu } from "@fairnas/kernels/testing";
import { Rng } from "@fairnas/kernels";
import { getSpace } from "../space/presets.ts";
import { resolveSpace } from "../space/spec.ts";
import { Supernet } from "../supernet/network.ts";
import {
  blockDims,
  blockTensors,
  centreCrop,
  inheritWeights,
  metaArch,
  readBlock,
  sliceBlock,
  type BlockArrays,
  type BlockDims,
} from "./inherit.ts";

function rand(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.normal());
}

function metaArrays(d: BlockDims, seed: number): BlockArrays {
  const out: BlockArrays = {
    expand: rand(d.Ci * d.E, seed),
    dw: rand(d.K * d.K * d.E, seed + 1),
    project: rand(d.E * d.Co, seed + 2),
    "se.w1": rand(d.E * d.R, seed + 3),
    "se.b1": rand(d.R, seed + 4),
    "se.w2": rand(d.R * d.E, seed + 5),
    "se.b2": rand(d.E, seed + 6),
  };
  ["gamma", "beta", "mean", "var"].forEach((p, i) => {
    out[`bn1.${p}`] = rand(d.E, seed + 10 + i);
    out[`bn2.${p}`] = rand(d.E, seed + 20 + i);
    out[`bn3.${p}`] = rand(d.Co, seed + 30 + i);
  });
  return out;
}

/** Checks `to`-sized arrays against the meta arrays by explicit indexing. */
function expectSlices(meta: BlockArrays, from: BlockDims, cand: BlockArrays, to: BlockDims): void {
  const off = (from.K - to.K) / 2;
  expect(cand.expand).toHaveLength(to.Ci * to.E);
  for (let i = 0; i < to.Ci; i++) {
    for (let o = 0; o < to.E; o++)
      expect(cand.expand[i * to.E + o]).toBe(meta.expand[i * from.E + o]);
  }
  expect(cand.dw).toHaveLength(to.K * to.K * to.E);
  for (let y = 0; y < to.K; y++) {
    for (let x = 0; x < to.K; x++) {
      for (let e = 0; e < to.E; e++) {
        expect(cand.dw[(y * to.K + x) * to.E + e]).toBe(
          meta.dw[((y + off) * from.K + (x + off)) * from.E + e],
        );
      }
    }
  }
  expect(cand.project).toHaveLength(to.E * to.Co);
  for (let e = 0; e < to.E; e++) {
    for (let o = 0; o < to.Co; o++)
      expect(cand.project[e * to.Co + o]).toBe(meta.project[e * from.Co + o]);
  }
  for (const p of ["gamma", "beta", "mean", "var"]) {
    expect(Array.from(cand[`bn1.${p}`])).toEqual(Array.from(meta[`bn1.${p}`].subarray(0, to.E)));
    expect(Array.from(cand[`bn2.${p}`])).toEqual(Array.from(meta[`bn2.${p}`].subarray(0, to.E)));
    expect(Array.from(cand[`bn3.${p}`])).toEqual(Array.from(meta[`bn3.${p}`]));
  }
  if (to.R === 0) {
    expect(cand["se.w1"]).toBeUndefined();
    return;
  }
  for (let e = 0; e < to.E; e++) {
    for (let r = 0; r < to.R; r++) {
      expect(cand["se.w1"][e * to.R + r]).toBe(meta["se.w1"][e * from.R + r]);
      expect(cand["se.w2"][r * to.E + e]).toBe(meta["se.w2"][r * from.E + e]);
    }
  }
  expect(Array.from(cand["se.b1"])).toEqual(Array.from(meta["se.b1"].subarray(0, to.R)));
  expect(Array.from(cand["se.b2"])).toEqual(Array.from(meta["se.b2"].subarray(0, to.E)));
}

describe("inheritance slices on host arrays", () => {
  const from: BlockDims = { Ci: 4, E: 24, R: 8, Co: 6, K: 7 };
  const cases: BlockDims[] = [
    { Ci: 4, E: 12, R: 0, Co: 6, K: 3 },
    { Ci: 4, E: 24, R: 0, Co: 6, K: 5 },
    { Ci: 4, E: 12, R: 8, Co: 6, K: 5 },
    { Ci: 4, E: 24, R: 8, Co: 6, K: 7 },
    { Ci: 4, E: 12, R: 4, Co: 6, K: 3 },
  ];
  for (const to of cases) {
    it(`slice Ci4 E24 R8 Co6 K7 -> E${to.E} R${to.R} K${to.K}`, () => {
      const meta = metaArrays(from, 7);
      expectSlices(meta, from, sliceBlock(meta, from, to), to);
    });
  }

  it("centre crop K5 -> K3 E2 picks taps 1..3 of rows 1..3", () => {
    // w[y][x][e] = 100 y + 10 x + e
    const w = Float32Array.from({ length: 5 * 5 * 2 }, (_, i) => {
      const e = i % 2;
      const x = Math.floor(i / 2) % 5;
      const y = Math.floor(i / 10);
      return 100 * y + 10 * x + e;
    });
    const c = centreCrop(w, 5, 2, 3, 1);
    expect(Array.from(c)).toEqual([110, 120, 130, 210, 220, 230, 310, 320, 330]);
  });

  it("a candidate wider than the meta block is refused, naming both shapes", () => {
    const meta = metaArrays(from, 1);
    expect(() => sliceBlock(meta, from, { ...from, E: 48 })).toThrow(/E 48.*E 24/);
    expect(() => centreCrop(meta.dw, 7, 24, 4, 24)).toThrow(/centre crop/);
  });
});

describe("metaArch", () => {
  const withChoices = (choices: { kernel: number; expand: number; se: boolean }[]) =>
    resolveSpace({ ...structuredClone(getSpace("fmnist")), choices });

  it("fmnist-ponas: k7e6s in every layer; fmnist: k7e6", () => {
    const ponas = resolveSpace(getSpace("fmnist-ponas"));
    const m = metaArch(ponas);
    expect(new Set(m.map((c) => ponas.tokens[c]))).toEqual(new Set(["k7e6s"]));
    expect(m.length).toBe(ponas.layers.length);
    const plain = resolveSpace(getSpace("fmnist"));
    expect(new Set(metaArch(plain).map((c) => plain.tokens[c]))).toEqual(new Set(["k7e6"]));
  });

  it("picks k5e6 from {k3e3, k5e6, k3e6} whatever the order", () => {
    const space = withChoices([
      { kernel: 3, expand: 3, se: false },
      { kernel: 5, expand: 6, se: false },
      { kernel: 3, expand: 6, se: false },
    ]);
    expect(metaArch(space)[0]).toBe(1);
  });

  it("refuses {k3e6, k5e3}: no choice is largest in kernel and expansion at once", () => {
    const space = withChoices([
      { kernel: 3, expand: 6, se: false },
      { kernel: 5, expand: 3, se: false },
    ]);
    expect(() => metaArch(space)).toThrow(
      /has no choice k5e6 \(largest kernel, expansion and SE at once\).*choices are k3e6, k5e3/,
    );
  });
});

describe("inheritWeights on the fmnist-ponas supernet", async () => {
  const gpu = await testGpu();
  const space = resolveSpace(getSpace("fmnist-ponas"));
  const meta = metaArch(space);

  // Host-only: runs without an adapter too.
  it("meta is k7e6s in every layer", () => {
    expect(meta.map((c) => space.tokens[c])).toEqual(space.layers.map(() => "k7e6s"));
  });

  it.skipIf(!gpu)(
    "slice: every candidate of layers 0 and 5 equals the slices of its meta block",
    async () => {
      const net = new Supernet(gpu!, space, 3);
      try {
        // Running statistics start constant, and blocks start as slices of one
        // random block (coherent init): make the meta blocks distinct first, as
        // meta-training would.
        for (const l of [0, 5]) {
          const t = blockTensors(net, l, meta[l]);
          gpu!.write(t.expand, rand(t.expand.size, 60 + l));
          gpu!.write(t["bn1.mean"], rand(t["bn1.mean"].size, 40 + l));
          gpu!.write(t["bn3.var"], rand(t["bn3.var"].size, 50 + l));
        }
        const before = await readBlock(gpu!, net, 0, 0);
        const report = await inheritWeights(gpu!, net, "slice");
        expect(report.written).toEqual(space.layers.map(() => 11));
        for (const l of [0, 5]) {
          const src = await readBlock(gpu!, net, l, meta[l]);
          const from = blockDims(space, l, meta[l]);
          for (let c = 0; c < space.tokens.length; c++) {
            const cand = await readBlock(gpu!, net, l, c);
            expectSlices(src, from, cand, blockDims(space, l, c));
          }
        }
        const after = await readBlock(gpu!, net, 0, 0);
        expect(Array.from(after.expand)).not.toEqual(Array.from(before.expand));
      } finally {
        net.dispose();
      }
    },
  );

  it.skipIf(!gpu)("identical: candidates keep their fresh weights", async () => {
    const net = new Supernet(gpu!, space, 3);
    try {
      const before = await readBlock(gpu!, net, 2, 4);
      const report = await inheritWeights(gpu!, net, "identical");
      expect(report.written).toEqual(space.layers.map(() => 0));
      const after = await readBlock(gpu!, net, 2, 4);
      for (const k of Object.keys(before))
        expect(Array.from(after[k]), k).toEqual(Array.from(before[k]));
    } finally {
      net.dispose();
    }
  });
});
