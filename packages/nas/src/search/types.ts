// Types of the search driver (search.ts): objectives, costs, constraints,
// the configuration and what a search returns.

import type { PpoConfig } from "./ppo.ts";

export interface Objectives {
  readonly top1: number;
  readonly madds: number;
  readonly params: number;
  readonly latencyMs: number;
}
export type Costs = Omit<Objectives, "top1">;
export type CostKey = keyof Costs;
export type Arch = readonly number[];

export interface Constraint {
  readonly key: CostKey;
  readonly max?: number;
  readonly min?: number;
}

/** Reference point in natural units: the worst top1 and largest costs counted. */
export interface RefPoint {
  readonly top1: number;
  readonly madds: number;
  readonly third: number;
}

export interface SearchConfig {
  readonly algo: "nsga2-ppo" | "nsga2" | "random";
  readonly layers: number;
  readonly numChoices: number;
  readonly population: number;
  readonly generations: number;
  readonly seed: number;
  /** Objectives: max top1, min madds, min `third`. */
  readonly third: "params" | "latencyMs";
  readonly constraints: readonly Constraint[];
  /** Cheap and exact; assumed to be a constant plus a sum over layers. */
  readonly costs: (arch: Arch) => Costs;
  /** Top-1 per architecture (expensive). */
  readonly evaluate: (archs: readonly Arch[]) => Promise<number[]>;
  /** Canonical hash: equal keys are treated as the same architecture. */
  readonly key: (arch: Arch) => string;
  readonly onGeneration?: (g: GenerationLog) => void;
  /**
   * Cost of choice `choice` at layer `layer`, without the constant part.
   * Without it the per-layer table is derived from `costs` by differences.
   */
  readonly layerCosts?: (layer: number, choice: number) => Costs;
  /** Default: top1 0, madds and third at 1.1x their largest possible value. */
  readonly refPoint?: RefPoint;
  /** Proposals per child before repair / giving up. Default 20. */
  readonly maxRetries?: number;
  /** Default 0.9. */
  readonly crossoverRate?: number;
  /** Per-layer random mutation probability. Default 1 / layers. */
  readonly mutationRate?: number;
  /** Policy share, linear from `start` (generation 1) to `end` (last). */
  readonly ppoMix?: { readonly start: number; readonly end: number };
  readonly ppo?: Omit<Partial<PpoConfig>, "layers" | "numChoices">;
}

export interface PpoLog {
  readonly loss: number;
  readonly entropy: number;
  readonly meanReward: number;
  readonly samples: number;
}

export interface GenerationLog {
  readonly generation: number;
  /** Distinct architectures evaluated so far (cumulative). */
  readonly evaluations: number;
  /** Distinct architectures in the population. */
  readonly distinct: number;
  /** Feasible members of the population. */
  readonly feasible: number;
  /** Of the feasible population, normalized as described at `normalizer`. */
  readonly hypervolume: number;
  /** Feasible members of the population's first front. */
  readonly frontSize: number;
  /** Probability that a child's mutation came from the policy. */
  readonly ppoMix: number;
  /** Policy update stats (nsga2-ppo, generations >= 1), else null. */
  readonly ppo: PpoLog | null;
  /** Proposals rejected this generation, by reason. */
  readonly retries: { readonly infeasible: number; readonly duplicate: number };
  /** Children that ran out of retries and went through repair. */
  readonly repairs: number;
}

export interface FrontMember extends Objectives {
  readonly arch: number[];
}

export interface SearchResult {
  /** Non-dominated feasible architectures over everything evaluated. */
  readonly front: FrontMember[];
  readonly history: GenerationLog[];
  readonly evaluations: number;
  readonly infeasible?: {
    /** Lowest achievable value of each constrained cost (exact if additive). */
    readonly cheapest: Partial<Record<CostKey, number>>;
    /** Highest achievable value, for keys with a `min` bound. */
    readonly largest: Partial<Record<CostKey, number>>;
    readonly message: string;
  };
}
