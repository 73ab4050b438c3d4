// Built-in search spaces and getSpace, which finds a space by preset name,
// by the name of a file in packages/nas/spaces/, or by a .json path.
//
// Choice order (the index an Arch stores) is fixed and part of every preset:
//   base spaces:   0 k3e3, 1 k3e6, 2 k5e3, 3 k5e6, 4 k7e3, 5 k7e6
//   "-ponas" spaces: the same six without SE at 0..5, then the same six with
//     SE at 6..11 (k3e3s .. k7e6s), so a base arch keeps its indices there.
// SE rule of the ponas variants: squeeze = 0.25 * expanded width, rounded
// half up to a multiple of 8, at least 8 (see SeSpec and seWidth).

import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type ChoiceSpec, type SpaceSpec, validateSpace } from "./spec.ts";

const KERNELS = [3, 5, 7] as const;
const EXPANDS = [3, 6] as const;

function grid(se: boolean): ChoiceSpec[] {
  return KERNELS.flatMap((kernel) => EXPANDS.map((expand) => ({ kernel, expand, se })));
}

const BASE_CHOICES = grid(false);
const PONAS_CHOICES = [...grid(false), ...grid(true)];
const PONAS_SE = { ratio: 0.25, base: "expanded", divisor: 8 } as const;
const BN = { momentum: 0.1, eps: 1e-5 } as const;

type StageRow = readonly [width: number, layers: number, stride: number];

function stages(rows: readonly StageRow[]): SpaceSpec["stages"] {
  return rows.map(([width, layers, stride]) => ({ width, layers, stride }));
}

const FAIRNAS = {
  name: "fairnas",
  input: { height: 224, width: 224, channels: 3 },
  classes: 1000,
  stem: { width: 32, kernel: 3, stride: 2 },
  firstBlock: { width: 16, kernel: 3 },
  stages: stages([
    [32, 2, 2],
    [40, 4, 2],
    [80, 4, 2],
    [96, 4, 1],
    [192, 4, 2],
    [320, 1, 1],
  ]),
  choices: BASE_CHOICES,
  se: null,
  head: { width: 1280, dropout: 0 },
  bn: BN,
};

// 28x28x1 -> stem 14x14 -> 7x7 (stage1) -> 4x4 (stage2, 3 and 4 layers).
const FMNIST = {
  name: "fmnist",
  input: { height: 28, width: 28, channels: 1 },
  classes: 10,
  stem: { width: 8, kernel: 3, stride: 2 },
  firstBlock: { width: 8, kernel: 3 },
  stages: stages([
    [16, 2, 2],
    [24, 3, 2],
    [32, 3, 1],
  ]),
  choices: BASE_CHOICES,
  se: null,
  head: { width: 128, dropout: 0.1 },
  bn: BN,
};

// 32x32x3 -> stem 32x32 -> 16 -> 8 -> 4 -> 4.
const CIFAR10 = {
  name: "cifar10",
  input: { height: 32, width: 32, channels: 3 },
  classes: 10,
  stem: { width: 16, kernel: 3, stride: 1 },
  firstBlock: { width: 16, kernel: 3 },
  stages: stages([
    [24, 2, 2],
    [40, 3, 2],
    [64, 3, 2],
    [96, 2, 1],
  ]),
  choices: BASE_CHOICES,
  se: null,
  head: { width: 256, dropout: 0.1 },
  bn: BN,
};

function ponas(base: SpaceSpec): SpaceSpec {
  return { ...base, name: `${base.name}-ponas`, choices: PONAS_CHOICES, se: PONAS_SE };
}

function buildPresets(): Record<string, SpaceSpec> {
  const out: Record<string, SpaceSpec> = {};
  for (const base of [FAIRNAS, FMNIST, CIFAR10] as SpaceSpec[]) {
    out[base.name] = validateSpace(base);
    out[`${base.name}-ponas`] = validateSpace(ponas(base));
  }
  return out;
}

/** fairnas, fmnist, cifar10 and their "-ponas" (SE on/off) variants. */
export const PRESETS: Readonly<Record<string, SpaceSpec>> = Object.freeze(buildPresets());

/** Folder of the space files shipped with the package. */
export const SPACES_DIR: string = fileURLToPath(new URL("../../spaces/", import.meta.url));

/** Reads and validates a space file; errors name the file. */
export function loadSpaceFile(path: string): SpaceSpec {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`space file ${path}: cannot read (${(e as Error).message})`);
  }
  try {
    return validateSpace(JSON.parse(text));
  } catch (e) {
    throw new Error(`space file ${path}: ${(e as Error).message}`);
  }
}

/**
 * A preset ("fairnas", "fmnist-ponas"), a space file shipped in
 * packages/nas/spaces/ by bare name ("mobilenetv2"), or a path ending .json.
 */
export function getSpace(nameOrPath: string): SpaceSpec {
  if (nameOrPath.endsWith(".json")) return loadSpaceFile(nameOrPath);
  // Own keys only: "toString" or "__proto__" are not spaces.
  if (Object.hasOwn(PRESETS, nameOrPath)) return PRESETS[nameOrPath];
  if (/^[a-z0-9][a-z0-9_-]*$/i.test(nameOrPath)) {
    const shipped = `${SPACES_DIR}${nameOrPath}.json`;
    if (existsSync(shipped)) return loadSpaceFile(shipped);
  }
  const known = Object.keys(PRESETS).join(", ");
  throw new Error(`unknown space '${nameOrPath}'; presets: ${known}; or a .json path`);
}
