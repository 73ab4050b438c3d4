import { Rng } from "@fairnas/kernels";
import { describe, expect, it } from "vitest";
import {
  archHash,
  archLabels,
  archToString,
  largestArch,
  parseArch,
  randomArch,
  smallestArch,
} from "./arch.ts";
import { PRESETS, getSpace } from "./presets.ts";
import { resolveSpace } from "./spec.ts";

const FAIRNAS_A =
  "k7e3-k3e3-k7e3-k3e6-k7e6-k3e3-k3e3-k7e6-k7e6-k5e3-k3e6-k5e3-k5e3-k3e6-k3e6-k7e6-k3e6-k7e6-k5e6";
const fairnas = resolveSpace(PRESETS.fairnas);
const fairnasPonas = resolveSpace(PRESETS["fairnas-ponas"]);
const fmnist = resolveSpace(PRESETS.fmnist);

describe("arch strings", () => {
  it("fairnas FairNAS-A parses to the documented indices and back", () => {
    const a = parseArch(fairnas, FAIRNAS_A);
    expect(a).toEqual([4, 0, 4, 1, 5, 0, 0, 5, 5, 2, 1, 2, 2, 1, 1, 5, 1, 5, 3]);
    expect(archToString(fairnas, a)).toBe(FAIRNAS_A);
  });

  for (const name of [...Object.keys(PRESETS), "mobilenetv2"]) {
    it(`${name}: 50 random archs seed 7 round-trip`, () => {
      const space = resolveSpace(getSpace(name));
      const rng = new Rng(7);
      for (let i = 0; i < 50; i++) {
        const a = randomArch(space, rng);
        expect(parseArch(space, archToString(space, a))).toEqual(a);
      }
    });
  }

  it("fairnas-ponas: SE tokens carry an s", () => {
    const a = fairnasPonas.layers.map((_, i) => (i % 2 === 0 ? 11 : 0));
    const text = archToString(fairnasPonas, a);
    expect(text.startsWith("k7e6s-k3e3-k7e6s-")).toBe(true);
    expect(parseArch(fairnasPonas, text)).toEqual(a);
  });

  it("fmnist: unknown token names it, its position and the valid tokens", () => {
    expect(() => parseArch(fmnist, "k3e3-k3e6-k9e3-k3e3-k3e3-k3e3-k3e3-k3e3")).toThrow(
      "architecture 'k3e3-k3e6-k9e3-k3e3-k3e3-k3e3-k3e3-k3e3': " +
        "unknown token 'k9e3' at position 3 of 8 (layer stage2.block1); " +
        "valid tokens for space 'fmnist': k3e3, k3e6, k5e3, k5e6, k7e3, k7e6",
    );
    expect(() => parseArch(fmnist, "k3e3s-k3e3-k3e3-k3e3-k3e3-k3e3-k3e3-k3e3")).toThrow(
      "unknown token 'k3e3s' at position 1",
    );
  });

  it("fmnist: wrong length says expected vs got", () => {
    expect(() => parseArch(fmnist, "k3e3-k3e6")).toThrow(
      "architecture 'k3e3-k3e6': space 'fmnist' expects 8 tokens, got 2",
    );
    expect(() => parseArch(fmnist, "")).toThrow("expects 8 tokens, got 0");
  });

  it("fmnist: archToString rejects bad indices and lengths", () => {
    expect(() => archToString(fmnist, [0, 0, 0])).toThrow("expected 8 layers, got 3");
    expect(() => archToString(fmnist, [0, 0, 6, 0, 0, 0, 0, 0])).toThrow(
      "layer 2 (stage2.block1) choice 6 is not an integer in [0, 6)",
    );
  });
});

describe("archHash", () => {
  it("fairnas FairNAS-A hash pinned (12 hex)", () => {
    // Stored runs are keyed by this; it must not drift.
    expect(archHash(fairnas, parseArch(fairnas, FAIRNAS_A))).toBe("e742f23adc75");
  });

  it("same indices in fairnas and fairnas-ponas hash differently", () => {
    const a = parseArch(fairnas, FAIRNAS_A);
    expect(archToString(fairnasPonas, a)).toBe(FAIRNAS_A);
    expect(archHash(fairnasPonas, a)).not.toBe(archHash(fairnas, a));
  });

  it("fmnist: 200 random archs seed 3, distinct text <=> distinct hash", () => {
    const rng = new Rng(3);
    const seen = new Map<string, string>();
    for (let i = 0; i < 200; i++) {
      const a = randomArch(fmnist, rng);
      const h = archHash(fmnist, a);
      expect(h).toMatch(/^[0-9a-f]{12}$/);
      const text = archToString(fmnist, a);
      expect(seen.get(h) ?? text).toBe(text);
      seen.set(h, text);
    }
    expect(seen.size).toBeGreaterThan(190);
  });
});

describe("archLabels", () => {
  it("fairnas FairNAS-A: kernel and expand per stable label, no se keys", () => {
    const labels = archLabels(fairnas, parseArch(fairnas, FAIRNAS_A));
    expect(Object.keys(labels).length).toBe(38);
    expect(labels["stage1.block1.kernel"]).toBe(7);
    expect(labels["stage1.block1.expand"]).toBe(3);
    expect(labels["stage2.block1.kernel"]).toBe(7);
    expect(labels["stage6.block1.kernel"]).toBe(5);
    expect(labels["stage6.block1.expand"]).toBe(6);
    expect("stage1.block1.se" in labels).toBe(false);
  });

  it("fmnist-ponas: se key per layer", () => {
    const space = resolveSpace(PRESETS["fmnist-ponas"]);
    const labels = archLabels(space, [6, 0, 0, 0, 0, 0, 0, 11]);
    expect(Object.keys(labels).length).toBe(24);
    expect([labels["stage1.block1.se"], labels["stage1.block2.se"]]).toEqual([true, false]);
    expect([labels["stage3.block3.kernel"], labels["stage3.block3.se"]]).toEqual([7, true]);
  });
});

describe("random, largest, smallest", () => {
  it("fmnist randomArch: same seed same arch; 2000 draws cover all 6 choices evenly", () => {
    expect(randomArch(fmnist, new Rng(11))).toEqual(randomArch(fmnist, new Rng(11)));
    const rng = new Rng(5);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 2000; i++) for (const c of randomArch(fmnist, rng)) counts[c]++;
    for (const n of counts) expect(Math.abs(n - 16000 / 6)).toBeLessThan(250);
  });

  it("largest and smallest by (kernel, expand, se)", () => {
    expect(archToString(fmnist, largestArch(fmnist))).toBe(new Array(8).fill("k7e6").join("-"));
    expect(archToString(fmnist, smallestArch(fmnist))).toBe(new Array(8).fill("k3e3").join("-"));
    expect(new Set(largestArch(fairnasPonas))).toEqual(new Set([11]));
    expect(new Set(smallestArch(fairnasPonas))).toEqual(new Set([0]));
  });
});
