import { describe, expect, it } from "vitest";
import { PRESETS } from "./presets.ts";
import {
  type SpaceSpec,
  canonicalJson,
  convOut,
  resolveSpace,
  seWidth,
  validateSpace,
} from "./spec.ts";

// A deep, mutable copy of a preset to break in one place per test.
function copyOf(name: string): Record<string, any> {
  return JSON.parse(JSON.stringify(PRESETS[name]));
}

function errorOf(json: unknown): string {
  try {
    validateSpace(json);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("validateSpace accepted the spec");
}

describe("validateSpace errors name the field", () => {
  const cases: [string, (s: Record<string, any>) => void, string][] = [
    [
      "stages[2].stride 3",
      (s) => {
        s.stages[2].stride = 3;
      },
      "stages[2].stride: must be 1 or 2, got 3",
    ],
    [
      "stem.kernel even",
      (s) => {
        s.stem.kernel = 4;
      },
      "stem.kernel: must be odd, got 4",
    ],
    [
      "choices[1].kernel string",
      (s) => {
        s.choices[1].kernel = "5";
      },
      'choices[1].kernel: must be an integer, got "5"',
    ],
    [
      "choices[0].se missing",
      (s) => {
        delete s.choices[0].se;
      },
      "choices[0].se: missing",
    ],
    [
      "choices[2].expand 1",
      (s) => {
        s.choices[2].expand = 1;
      },
      "choices[2].expand: must be >= 2, got 1 (a searchable block always has its expand conv; " +
        "expansion 1 exists only as the fixed firstBlock)",
    ],
    [
      "choices[2].expand 0",
      (s) => {
        s.choices[2].expand = 0;
      },
      "choices[2].expand: must be >= 2, got 0",
    ],
    [
      "choices duplicate",
      (s) => {
        s.choices[3] = { ...s.choices[0] };
      },
      "choices[3]: duplicates choices[0] (k3e3)",
    ],
    [
      "choices empty",
      (s) => {
        s.choices = [];
      },
      "choices: must be a non-empty array, got []",
    ],
    [
      "stages[0].layers 0",
      (s) => {
        s.stages[0].layers = 0;
      },
      "stages[0].layers: must be >= 1, got 0",
    ],
    [
      "input.width 2.5",
      (s) => {
        s.input.width = 2.5;
      },
      "input.width: must be an integer, got 2.5",
    ],
    [
      "unknown field head.widht",
      (s) => {
        s.head.widht = 1;
      },
      "head.widht: unknown field; known: width, dropout",
    ],
    [
      "unknown top-level field",
      (s) => {
        s.extra = 1;
      },
      "extra: unknown field",
    ],
    [
      "missing bn",
      (s) => {
        delete s.bn;
      },
      "bn: missing",
    ],
    [
      "head.dropout 1",
      (s) => {
        s.head.dropout = 1;
      },
      "head.dropout: must be in [0, 0.99], got 1",
    ],
    [
      "bn.momentum 0",
      (s) => {
        s.bn.momentum = 0;
      },
      "bn.momentum: must be in (0, 1], got 0",
    ],
    [
      "se required",
      (s) => {
        s.choices[0].se = true;
      },
      "se: required (some choices have se: true), got null",
    ],
    [
      "name empty",
      (s) => {
        s.name = "";
      },
      'name: must be a non-empty string, got ""',
    ],
    [
      "firstBlock array",
      (s) => {
        s.firstBlock = [16, 3];
      },
      "firstBlock: must be an object, got [16,3]",
    ],
  ];
  for (const [what, breakIt, message] of cases) {
    it(`fmnist with ${what}`, () => {
      const s = copyOf("fmnist");
      breakIt(s);
      expect(errorOf(s)).toContain(message);
    });
  }

  it("fmnist-ponas with se.base 'output'", () => {
    const s = copyOf("fmnist-ponas");
    s.se.base = "output";
    expect(errorOf(s)).toBe('se.base: must be "expanded" or "input", got "output"');
  });

  it("non-object root", () => {
    expect(errorOf(42)).toBe("(root): must be an object, got 42");
  });

  it("valid copy round-trips and comes back frozen", () => {
    const v = validateSpace(copyOf("cifar10-ponas"));
    expect(v).toEqual(PRESETS["cifar10-ponas"]);
    expect(Object.isFrozen(v) && Object.isFrozen(v.stages[0])).toBe(true);
  });
});

describe("convOut", () => {
  it("equals ceil(H / S) for K 1,3,5,7 S 1,2 H 1..64", () => {
    for (const K of [1, 3, 5, 7]) {
      for (const S of [1, 2]) {
        for (let H = 1; H <= 64; H++) expect(convOut(H, K, S)).toBe(Math.ceil(H / S));
      }
    }
  });
});

describe("resolveSpace geometry", () => {
  it("fmnist 28x28x1: stem 14, 8 layers at 7x7 x2 then 4x4 x6", () => {
    const r = resolveSpace(PRESETS.fmnist);
    expect([r.stem.outH, r.stem.outW, r.stem.outC]).toEqual([14, 14, 8]);
    expect(r.firstBlock).toMatchObject({ inC: 8, outC: 8, outH: 14, residual: true });
    expect(r.layers.map((l) => l.outH)).toEqual([7, 7, 4, 4, 4, 4, 4, 4]);
    expect(r.layers.map((l) => l.label)).toEqual([
      "stage1.block1",
      "stage1.block2",
      "stage2.block1",
      "stage2.block2",
      "stage2.block3",
      "stage3.block1",
      "stage3.block2",
      "stage3.block3",
    ]);
    expect(r.layers.map((l) => l.residual)).toEqual([
      false,
      true,
      false,
      true,
      true,
      false,
      true,
      true,
    ]);
    expect(r.head).toEqual({ inC: 32, width: 128, classes: 10, H: 4, W: 4, fcIn: 128 });
  });

  it("cifar10 32x32x3: stem S1, spatial 16,16,8,8,8,4,4,4,4,4", () => {
    const r = resolveSpace(PRESETS.cifar10);
    expect(r.stem.outH).toBe(32);
    expect(r.layers.map((l) => l.outH)).toEqual([16, 16, 8, 8, 8, 4, 4, 4, 4, 4]);
    expect(r.layers.map((l) => l.inC)).toEqual([16, 24, 24, 40, 40, 40, 64, 64, 64, 96]);
    expect(r.layers[7]).toMatchObject({ index: 7, stage: 2, stride: 1, inH: 4, outH: 4 });
  });

  it("fairnas 224: 19 layers, strides by stage, final 7x7", () => {
    const r = resolveSpace(PRESETS.fairnas);
    expect(r.layers.length).toBe(19);
    expect(r.layers.filter((l) => l.stride === 2).map((l) => l.label)).toEqual([
      "stage1.block1",
      "stage2.block1",
      "stage3.block1",
      "stage5.block1",
    ]);
    expect([r.head.H, r.head.W, r.head.inC]).toEqual([7, 7, 320]);
  });

  it("head width 0 feeds the FC from the last block", () => {
    const s = copyOf("fmnist");
    s.head.width = 0;
    expect(resolveSpace(validateSpace(s)).head.fcIn).toBe(32);
  });
});

describe("signature", () => {
  it("is independent of key order and changes with any field", () => {
    const a = resolveSpace(PRESETS.fmnist).signature;
    const reordered = JSON.parse(canonicalJson(PRESETS.fmnist)) as SpaceSpec;
    expect(resolveSpace(validateSpace(reordered)).signature).toBe(a);
    const s = copyOf("fmnist");
    s.bn.eps = 1e-3;
    expect(resolveSpace(validateSpace(s)).signature).not.toBe(a);
    expect(a).toMatch(/^[0-9a-f]{16}$/);
  });

  it("fairnas signature pinned", () => {
    // Changing this means every stored arch hash of the space changes too.
    expect(resolveSpace(PRESETS.fairnas).signature).toBe("7f5f432e6cf00653");
  });
});

describe("seWidth ratio 0.25 of expanded, divisor 8", () => {
  const spec = PRESETS["fairnas-ponas"];
  const cases: [number, number, number][] = [
    // inC, expand, squeeze: 0.25 * inC * expand rounded half up to x8, min 8
    [16, 3, 16],
    [16, 6, 24],
    [40, 3, 32],
    [8, 3, 8],
    [1, 3, 8],
    [32, 3, 24],
    [320, 6, 480],
  ];
  for (const [inC, e, want] of cases) {
    it(`Ci${inC} E${e} -> ${want}`, () => {
      expect(seWidth(spec, inC, inC * e)).toBe(want);
    });
  }

  it("base input: Ci40 E6 ratio 0.25 -> 8", () => {
    const s = { ...spec, se: { ratio: 0.25, base: "input", divisor: 8 } } as SpaceSpec;
    expect(seWidth(s, 40, 240)).toBe(8);
  });

  it("space without se rule throws", () => {
    expect(() => seWidth(PRESETS.fairnas, 16, 48)).toThrow("space 'fairnas' has no se rule");
  });
});
