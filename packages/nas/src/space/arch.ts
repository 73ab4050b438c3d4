// Architectures: one choice index per searchable layer. The text form joins
// choice tokens with "-" ("k7e3-k3e3-..."; "k3e6s" when SE is on), the hash
// is sha256 over the space signature and that text, and the labelled form
// ({"stage2.block1.kernel": 7, ...}) is what runs log, diff and store.

import type { Rng } from "@fairnas/kernels";
import { type ChoiceSpec, type ResolvedSpace, sha256Hex } from "./spec.ts";

/** Choice index per searchable layer, in layer order. */
export type Arch = readonly number[];

/** Throws unless `arch` has one valid choice index per layer. */
export function checkArch(space: ResolvedSpace, arch: Arch): void {
  const L = space.layers.length;
  const n = space.spec.choices.length;
  if (arch.length !== L) {
    throw new Error(
      `arch for space '${space.spec.name}': expected ${L} layers, ` + `got ${arch.length}`,
    );
  }
  arch.forEach((c, i) => {
    if (!Number.isInteger(c) || c < 0 || c >= n) {
      throw new Error(
        `arch for space '${space.spec.name}': layer ${i} ` +
          `(${space.layers[i].label}) choice ${c} is not an integer in [0, ${n})`,
      );
    }
  });
}

export function archToString(space: ResolvedSpace, arch: Arch): string {
  checkArch(space, arch);
  return arch.map((c) => space.tokens[c]).join("-");
}

/** Inverse of archToString; surrounding whitespace is ignored. */
export function parseArch(space: ResolvedSpace, text: string): Arch {
  const L = space.layers.length;
  const trimmed = text.trim();
  const parts = trimmed === "" ? [] : trimmed.split("-").map((t) => t.trim());
  const arch = parts.map((tok, i) => {
    const c = space.tokens.indexOf(tok);
    if (c < 0) {
      throw new Error(
        `architecture '${trimmed}': unknown token '${tok}' at position ${i + 1} ` +
          `of ${parts.length} ` +
          `(layer ${space.layers[i]?.label ?? "beyond the last"}); valid tokens for ` +
          `space '${space.spec.name}': ${space.tokens.join(", ")}`,
      );
    }
    return c;
  });
  if (arch.length !== L) {
    throw new Error(
      `architecture '${trimmed}': space '${space.spec.name}' expects ${L} tokens, ` +
        `got ${arch.length}`,
    );
  }
  return Object.freeze(arch);
}

/** 12 hex chars of sha256 over the space signature and the arch text. */
export function archHash(space: ResolvedSpace, arch: Arch): string {
  return sha256Hex(`${space.signature}\n${archToString(space, arch)}`).slice(0, 12);
}

/**
 * {"stage2.block1.kernel": 7, "stage2.block1.expand": 3, ...}, in layer order.
 * The ".se" key appears only in spaces with an SE rule, so base-space
 * labels stay free of constant false entries.
 */
export function archLabels(space: ResolvedSpace, arch: Arch): Record<string, number | boolean> {
  checkArch(space, arch);
  const withSe = space.spec.se !== null;
  const out: Record<string, number | boolean> = {};
  arch.forEach((c, i) => {
    const { label } = space.layers[i];
    const choice = space.spec.choices[c];
    out[`${label}.kernel`] = choice.kernel;
    out[`${label}.expand`] = choice.expand;
    if (withSe) out[`${label}.se`] = choice.se;
  });
  return out;
}

/** Uniform choice per layer, drawn in layer order from `rng`. */
export function randomArch(space: ResolvedSpace, rng: Rng): Arch {
  const n = space.spec.choices.length;
  return Object.freeze(space.layers.map(() => rng.int(n)));
}

// Order choices by (kernel, expand, se), lexicographically.
function compareChoices(a: ChoiceSpec, b: ChoiceSpec): number {
  return a.kernel - b.kernel || a.expand - b.expand || Number(a.se) - Number(b.se);
}

function extremeChoice(space: ResolvedSpace, sign: 1 | -1): number {
  const choices = space.spec.choices;
  let best = 0;
  for (let i = 1; i < choices.length; i++) {
    if (sign * compareChoices(choices[i], choices[best]) > 0) best = i;
  }
  return best;
}

/** Every layer at the choice largest by (kernel, expand, se). */
export function largestArch(space: ResolvedSpace): Arch {
  const c = extremeChoice(space, 1);
  return Object.freeze(space.layers.map(() => c));
}

/** Every layer at the choice smallest by (kernel, expand, se). */
export function smallestArch(space: ResolvedSpace): Arch {
  const c = extremeChoice(space, -1);
  return Object.freeze(space.layers.map(() => c));
}
