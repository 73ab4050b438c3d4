// Path samplers. A sampler turns one training step into a list of
// optimizer updates, each update a list of paths whose gradients are summed
// before it. Randomness comes from Rng.derive(seed, SAMPLER_STREAM, step),
// so a resumed run samples exactly the paths an uninterrupted one would.

import { Rng } from "@fairnas/kernels";
import type { Arch } from "../space/arch.ts";

export const SAMPLER_NAMES = ["fair", "spos", "ef", "ef-lr"] as const;
export type SamplerName = (typeof SAMPLER_NAMES)[number];

const SAMPLER_STREAM = 0x5a3e;

export interface StepPlan {
  /** One entry per optimizer update; each lists the paths summed into it. */
  readonly updates: readonly (readonly Arch[])[];
  /** Multiplier on the scheduled learning rate (ef-lr divides by m). */
  readonly lrScale: number;
}

export interface SamplerSpec {
  readonly name: SamplerName;
  readonly layers: number;
  /** m: choices per layer. */
  readonly choices: number;
  readonly seed: number;
}

export function isSamplerName(s: string): s is SamplerName {
  return (SAMPLER_NAMES as readonly string[]).includes(s);
}

/**
 * FairNAS strict fairness: one independent permutation of the m choices per
 * layer; path k takes the k-th entry of every layer's permutation, so each
 * choice of each layer is on exactly one of the m paths.
 */
export function fairPaths(rng: Rng, layers: number, choices: number): Arch[] {
  const perms = Array.from({ length: layers }, () => rng.permutation(choices));
  return Array.from({ length: choices }, (_, k) => perms.map((perm) => perm[k]));
}

export function uniformPath(rng: Rng, layers: number, choices: number): Arch {
  return Array.from({ length: layers }, () => rng.int(choices));
}

export function planStep(spec: SamplerSpec, step: number): StepPlan {
  const rng = Rng.derive(spec.seed, SAMPLER_STREAM, step);
  const m = spec.choices;
  switch (spec.name) {
    case "fair":
      return { updates: [fairPaths(rng, spec.layers, m)], lrScale: 1 };
    case "spos":
      return { updates: [[uniformPath(rng, spec.layers, m)]], lrScale: 1 };
    case "ef":
    case "ef-lr": {
      // Expectation fairness: one uniform path trained for m consecutive updates.
      const path = uniformPath(rng, spec.layers, m);
      const updates = Array.from({ length: m }, () => [path]);
      return { updates, lrScale: spec.name === "ef-lr" ? 1 / m : 1 };
    }
  }
}

/** Parameter updates per (layer, choice): the fairness counters. */
export class FairnessCounter {
  readonly counts: number[][];

  constructor(layers: number, choices: number, init?: readonly (readonly number[])[]) {
    this.counts = init
      ? init.map((row) => [...row])
      : Array.from({ length: layers }, () => new Array<number>(choices).fill(0));
  }

  /** Records one optimizer update that touched the blocks of `paths`. */
  record(paths: readonly Arch[]): void {
    const touched = new Set<string>();
    for (const p of paths) p.forEach((c, l) => touched.add(`${l}:${c}`));
    for (const key of touched) {
      const [l, c] = key.split(":").map(Number);
      this.counts[l][c] += 1;
    }
  }

  /** max - min updates within each layer. */
  spread(): number[] {
    return this.counts.map((row) => Math.max(...row) - Math.min(...row));
  }
}
