import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { type Arch, parseArch, randomArch } from "./arch.ts";
import { Rng } from "@fairnas/kernels";
import { type LayerCost, blockCost, costOf, costTable, shapeCost } from "./cost.ts";
import { PRESETS, getSpace } from "./presets.ts";
import { type ResolvedSpace, resolveSpace, seWidth } from "./spec.ts";

// networks.json lives in the shared folder beside the repository: /work/shared
// next to /work/main here, ../shared from the clone root in CI.
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");
const REFERENCE_CANDIDATES = [
  process.env.NAS_SHARED_DIR && resolve(process.env.NAS_SHARED_DIR, "reference/networks.json"),
  resolve(REPO_ROOT, "../shared/reference/networks.json"),
  resolve(REPO_ROOT, "shared/reference/networks.json"),
].filter((p): p is string => typeof p === "string" && p.length > 0);

interface RefBlock {
  in: number;
  out: number;
  stride: number;
  kernel: number;
  expansion: number;
}
interface RefNet {
  name: string;
  input: [number, number, number];
  stem: { out: number; kernel: number; stride: number };
  blocks: RefBlock[];
  head: { conv1x1: number; classes: number };
  expected: { madds: number; paramsNoBn: number; paramsWithBn: number };
}

function loadReference(): RefNet[] {
  const path = REFERENCE_CANDIDATES.find((p) => existsSync(p));
  if (path === undefined) {
    throw new Error(
      `networks.json not found; tried ${REFERENCE_CANDIDATES.join(", ")} ` +
        "(set NAS_SHARED_DIR to the shared folder)",
    );
  }
  return (JSON.parse(readFileSync(path, "utf8")) as { networks: RefNet[] }).networks;
}

// Plain per-block reference from the JSON description alone: expand 1x1
// (absent at expansion 1), depthwise KxK carrying the stride, project 1x1.
function refBlockCost(b: RefBlock, H: number): [number, number, number, number] {
  const E = b.in * b.expansion;
  const OH = Math.ceil(H / b.stride);
  let madds = 0,
    params = 0,
    bn = 0;
  if (b.expansion !== 1) {
    madds += H * H * b.in * E;
    params += b.in * E;
    bn += E;
  }
  madds += OH * OH * b.kernel * b.kernel * E;
  params += b.kernel * b.kernel * E;
  bn += E;
  madds += OH * OH * E * b.out;
  params += E * b.out;
  bn += b.out;
  return [madds, params, params + 2 * bn, OH];
}

const FAIRNAS_A =
  "k7e3-k3e3-k7e3-k3e6-k7e6-k3e3-k3e3-k7e6-k7e6-k5e3-k3e6-k5e3-k5e3-k3e6-k3e6-k7e6-k3e6-k7e6-k5e6";

function totals(c: { madds: number; params: number; paramsWithBn: number }): number[] {
  return [c.madds, c.params, c.paramsWithBn];
}

describe("published networks", () => {
  const fairnas = resolveSpace(PRESETS.fairnas);
  const mbv2 = resolveSpace(getSpace("mobilenetv2"));

  it("fairnas FairNAS-A 224x224: 388,122,848 MAdds, 4,608,696 / 4,651,352 params", () => {
    expect(totals(costOf(fairnas, parseArch(fairnas, FAIRNAS_A)))).toEqual([
      388_122_848, 4_608_696, 4_651_352,
    ]);
  });

  it("mobilenetv2.json all k3e6 224x224: 300,774,272 MAdds, 3,470,760 / 3,504,872 params", () => {
    expect(
      totals(
        costOf(
          mbv2,
          mbv2.layers.map(() => 0),
        ),
      ),
    ).toEqual([300_774_272, 3_470_760, 3_504_872]);
  });

  const cases: [string, ResolvedSpace, () => Arch][] = [
    ["FairNAS-A", fairnas, () => parseArch(fairnas, FAIRNAS_A)],
    ["MobileNetV2-1.0", mbv2, () => mbv2.layers.map(() => 0)],
  ];
  for (const [name, space, arch] of cases) {
    it(`${name}: geometry and cost block by block match networks.json`, () => {
      const ref = loadReference().find((n) => n.name === name);
      if (ref === undefined) throw new Error(`networks.json has no network '${name}'`);
      const a = arch();
      const cost = costOf(space, a);

      // Geometry: first block then each searchable layer.
      const ours = [
        { ...space.firstBlock!, expansion: 1 },
        ...space.layers.map((l, i) => ({
          ...l,
          kernel: space.spec.choices[a[i]].kernel,
          expansion: space.spec.choices[a[i]].expand,
        })),
      ].map((g) => ({
        in: g.inC,
        out: g.outC,
        stride: g.stride,
        kernel: g.kernel,
        expansion: g.expansion,
      }));
      expect(ours).toEqual(ref.blocks);

      // Cost of each block against the plain reference.
      const blockCosts = cost.layers.filter(
        (l) => l.name !== "stem" && l.name !== "head" && l.name !== "fc",
      );
      expect(blockCosts.length).toBe(ref.blocks.length);
      let H = Math.ceil(ref.input[0] / ref.stem.stride);
      ref.blocks.forEach((b, i) => {
        const [madds, params, withBn, OH] = refBlockCost(b, H);
        const l = blockCosts[i];
        const label = i === 0 ? "first" : space.layers[i - 1].label;
        expect([l.name, l.madds, l.params, l.paramsWithBn]).toEqual([label, madds, params, withBn]);
        H = OH;
      });
      expect(totals(cost)).toEqual([
        ref.expected.madds,
        ref.expected.paramsNoBn,
        ref.expected.paramsWithBn,
      ]);
    });
  }

  it("FairNAS-A: fixed parts stem, head 1x1, FC", () => {
    const byName = new Map(
      costOf(fairnas, parseArch(fairnas, FAIRNAS_A)).layers.map((l) => [l.name, l]),
    );
    expect(byName.get("stem")).toEqual({
      name: "stem",
      madds: 27 * 32 * 112 * 112,
      params: 864,
      paramsWithBn: 928,
    });
    expect(byName.get("head")).toEqual({
      name: "head",
      madds: 320 * 1280 * 49,
      params: 409_600,
      paramsWithBn: 409_600 + 2560,
    });
    expect(byName.get("fc")).toEqual({
      name: "fc",
      madds: 1_280_000,
      params: 1_281_000,
      paramsWithBn: 1_281_000,
    });
  });
});

describe("squeeze-excitation cost", () => {
  const base = resolveSpace(PRESETS.fmnist);
  const ponas = resolveSpace(PRESETS["fmnist-ponas"]);

  it("fmnist-ponas every layer x choice: se block = base block + two FCs E->s->E", () => {
    ponas.layers.forEach((g, i) => {
      for (let c = 0; c < 6; c++) {
        const plain = blockCost(base, i, c);
        const withSe = blockCost(ponas, i, c + 6);
        const E = g.inC * PRESETS.fmnist.choices[c].expand;
        const s = seWidth(PRESETS["fmnist-ponas"], g.inC, E);
        expect(blockCost(ponas, i, c)).toEqual(plain);
        expect(withSe.madds - plain.madds).toBe(2 * E * s);
        expect(withSe.params - plain.params).toBe(2 * E * s + E + s);
        expect(withSe.paramsWithBn - plain.paramsWithBn).toBe(2 * E * s + E + s);
      }
    });
  });

  it("fmnist-ponas stage1.block2 Ci16 Co16 7x7 k5e6s: squeeze 24", () => {
    const c = blockCost(ponas, 1, 9);
    // expand 16->96 at 7x7, dw 5x5x96 at 7x7, SE 96->24->96, project 96->16.
    const madds = 49 * 16 * 96 + 49 * 25 * 96 + 2 * 96 * 24 + 49 * 96 * 16;
    const params = 16 * 96 + 25 * 96 + (2 * 96 * 24 + 24 + 96) + 96 * 16;
    expect(c).toEqual({
      name: "stage1.block2",
      madds,
      params,
      paramsWithBn: params + 2 * (96 + 96 + 16),
    });
  });
});

describe("cost table", () => {
  const fmnist = resolveSpace(PRESETS.fmnist);

  it("fmnist: costOf sums its layers; stem, first, 8 blocks, head, fc", () => {
    const rng = new Rng(21);
    for (let t = 0; t < 20; t++) {
      const cost = costOf(fmnist, randomArch(fmnist, rng));
      expect(cost.layers.map((l) => l.name)).toEqual([
        "stem",
        "first",
        ...fmnist.layers.map((l) => l.label),
        "head",
        "fc",
      ]);
      const sum = (f: (l: LayerCost) => number) => cost.layers.reduce((s, l) => s + f(l), 0);
      expect(totals(cost)).toEqual([
        sum((l) => l.madds),
        sum((l) => l.params),
        sum((l) => l.paramsWithBn),
      ]);
    }
  });

  it("fmnist: shared shapes share entries (48 layer x choice pairs, fewer keys)", () => {
    // Layers stage2.block2/3 and stage3.block2/3 repeat their shapes.
    expect(costTable(fmnist).size).toBe(6 * 6);
  });

  it("missing block or shape names the key", () => {
    expect(() => blockCost(fmnist, 8, 0)).toThrow("no block 'layer#8/k3e3' (8 layers, 6 choices)");
    expect(() => blockCost(fmnist, 0, 6)).toThrow(
      "no block 'stage1.block1/#6' (8 layers, 6 choices)",
    );
    const key = "Ci8 Co16 H14xW14 OH7xOW7 K9 E3 SE0";
    expect(() => costTable(fmnist).lookup(key)).toThrow(`no block with shape key '${key}'`);
    expect(costTable(fmnist).lookup("Ci8 Co16 H14xW14 OH7xOW7 K3 E3 SE0")).toEqual(
      shapeCost("Ci8 Co16 H14xW14 OH7xOW7 K3 E3 SE0", {
        inC: 8,
        outC: 16,
        inH: 14,
        inW: 14,
        outH: 7,
        outW: 7,
        kernel: 3,
        expand: 3,
        seC: 0,
      }),
    );
  });

  it("costOf rejects an arch of the wrong length", () => {
    expect(() => costOf(fmnist, [0, 1])).toThrow("expected 8 layers, got 2");
  });
});
