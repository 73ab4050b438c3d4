import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PRESETS, SPACES_DIR, getSpace } from "./presets.ts";
import { choiceToken, resolveSpace } from "./spec.ts";

const BASE_TOKENS = ["k3e3", "k3e6", "k5e3", "k5e6", "k7e3", "k7e6"];

describe("presets", () => {
  it("names: fairnas, fmnist, cifar10 and their -ponas variants", () => {
    expect(Object.keys(PRESETS).sort()).toEqual([
      "cifar10",
      "cifar10-ponas",
      "fairnas",
      "fairnas-ponas",
      "fmnist",
      "fmnist-ponas",
    ]);
  });

  for (const base of ["fairnas", "fmnist", "cifar10"]) {
    it(`${base}: six choices in documented order, no se`, () => {
      expect(PRESETS[base].choices.map(choiceToken)).toEqual(BASE_TOKENS);
      expect(PRESETS[base].se).toBeNull();
    });

    it(`${base}-ponas: same six then the six with se, ratio 0.25 expanded /8`, () => {
      const p = PRESETS[`${base}-ponas`];
      expect(p.choices.map(choiceToken)).toEqual([
        ...BASE_TOKENS,
        ...BASE_TOKENS.map((t) => `${t}s`),
      ]);
      expect(p.se).toEqual({ ratio: 0.25, base: "expanded", divisor: 8 });
      const { name, choices, se, ...restP } = p;
      const { name: n0, choices: c0, se: s0, ...restB } = PRESETS[base];
      expect([name, n0]).toEqual([`${base}-ponas`, base]);
      expect(restP).toEqual(restB);
    });
  }

  it("fairnas: 224x224x3, 1000 classes, widths and strides", () => {
    const f = PRESETS.fairnas;
    expect(f.stages.map((s) => [s.width, s.layers, s.stride])).toEqual([
      [32, 2, 2],
      [40, 4, 2],
      [80, 4, 2],
      [96, 4, 1],
      [192, 4, 2],
      [320, 1, 1],
    ]);
    expect([f.head, f.bn, f.firstBlock]).toEqual([
      { width: 1280, dropout: 0 },
      { momentum: 0.1, eps: 1e-5 },
      { width: 16, kernel: 3 },
    ]);
  });
});

describe("getSpace", () => {
  it("preset and ponas names return the preset objects", () => {
    expect(getSpace("fmnist")).toBe(PRESETS.fmnist);
    expect(getSpace("cifar10-ponas")).toBe(PRESETS["cifar10-ponas"]);
  });

  it("mobilenetv2 by bare name and by path agree", () => {
    const byName = getSpace("mobilenetv2");
    expect(getSpace(join(SPACES_DIR, "mobilenetv2.json"))).toEqual(byName);
    expect(resolveSpace(byName).layers.length).toBe(16);
    expect(byName.choices).toEqual([{ kernel: 3, expand: 6, se: false }]);
  });

  it("a bad space file: error names the file and the field", () => {
    const dir = mkdtempSync(join(tmpdir(), "nas-space-"));
    const path = join(dir, "bad.json");
    const s = JSON.parse(JSON.stringify(PRESETS.fmnist));
    s.stages[1].stride = 4;
    writeFileSync(path, JSON.stringify(s));
    expect(() => getSpace(path)).toThrow(
      `space file ${path}: stages[1].stride: must be 1 or 2, got 4`,
    );
    writeFileSync(path, "{ not json");
    expect(() => getSpace(path)).toThrow(`space file ${path}: `);
    expect(() => getSpace(join(dir, "missing.json"))).toThrow("cannot read");
  });

  it("unknown name lists the presets", () => {
    expect(() => getSpace("imagenet")).toThrow(
      "unknown space 'imagenet'; presets: fairnas, fairnas-ponas, fmnist, fmnist-ponas, " +
        "cifar10, cifar10-ponas",
    );
  });

  it("names inherited from Object.prototype are unknown spaces, not presets", () => {
    for (const name of ["toString", "__proto__", "constructor", "hasOwnProperty"]) {
      expect(() => getSpace(name)).toThrow(`unknown space '${name}'; presets: fairnas,`);
    }
  });
});
