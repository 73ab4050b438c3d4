// Run configuration: presets, a JSON config file, command-line overrides,
// validation with errors that name the bad field, and the two-column
// table printed at start.

import { readFileSync } from "node:fs";
import {
  archToString,
  blockCost,
  costOf,
  DEFAULT_DATA_DIR,
  getSpace,
  isSamplerName,
  resolveSpace,
  type ResolvedSpace,
  type SamplerName,
} from "@fairnas/nas";

export interface TrainSettings {
  readonly sampler: SamplerName;
  /** Passes over the training split (fractions allowed). */
  readonly epochs: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly minLr: number;
  readonly warmupEpochs: number;
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  readonly labelSmoothing: number;
  /** fair: all m paths of a step see the same batch. */
  readonly sameBatch: boolean;
  /** Train on a seeded random N of the training images after the split (0: all). */
  readonly trainLimit: number;
  readonly valSize: number;
  readonly cropPad: number;
  readonly flip: boolean;
  /** Steps between checkpoints (0: only at the end). */
  readonly checkpointEvery: number;
  readonly logEvery: number;
}

/** The optimizer part of a trainer's step config, from the train settings. */
export function optimSettings(t: TrainSettings): {
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  readonly labelSmoothing: number;
} {
  const { momentum, nesterov, weightDecay, labelSmoothing } = t;
  return { momentum, nesterov, weightDecay, labelSmoothing };
}

export interface EvalSettings {
  /** Architectures sampled (seeded) and scored after training. */
  readonly archs: number;
  readonly bn: "recal" | "tracked" | "both";
  readonly recalBatches: number;
  readonly batchSize: number;
}

export interface SearchSettings {
  readonly algo: "nsga2-ppo" | "nsga2" | "random";
  readonly population: number;
  readonly generations: number;
  /** Validation images used to score each candidate, a seeded random subset (0: all). */
  readonly valImages: number;
  /** Third objective besides accuracy and MAdds. */
  readonly third: "params" | "latencyMs";
  /** Hard budgets; 0 means none. */
  readonly maxMadds: number;
  readonly maxParams: number;
  readonly maxLatencyMs: number;
}

export interface StandaloneSettings {
  /** Architectures of the final front retrained from scratch by `run` (0: none). */
  readonly archs: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly lr: number;
}

export interface PonasSettings {
  readonly metaEpochs: number;
  readonly finetuneEpochs: number;
  /** Validation images used to fill the candidate table, a seeded random subset (0: all). */
  readonly tableValImages: number;
  /** Training steps for each layer's candidates before scoring (0: none). */
  readonly layerSteps: number;
  /** "slice" (centre crop / leading channels) or "identical" (copy only the meta block). */
  readonly inherit: "slice" | "identical";
  /** Points on the budget-to-accuracy sweep. */
  readonly sweepPoints: number;
}

export interface RunConfig {
  readonly preset: string;
  readonly space: string;
  readonly data: string;
  readonly seed: number;
  readonly train: TrainSettings;
  readonly eval: EvalSettings;
  readonly search: SearchSettings;
  readonly standalone: StandaloneSettings;
  readonly ponas: PonasSettings;
}

const FMNIST: RunConfig = {
  preset: "fmnist",
  space: "fmnist",
  data: DEFAULT_DATA_DIR,
  seed: 1,
  train: {
    sampler: "fair",
    epochs: 2.5,
    batchSize: 128,
    lr: 0.2,
    minLr: 0.002,
    warmupEpochs: 0.1,
    momentum: 0.9,
    nesterov: true,
    weightDecay: 4e-5,
    // A short schedule leaves no room to overfit: no smoothing or crop by default.
    labelSmoothing: 0,
    sameBatch: true,
    trainLimit: 0,
    valSize: 5000,
    cropPad: 0,
    flip: false,
    checkpointEvery: 100,
    logEvery: 20,
  },
  eval: { archs: 12, bn: "recal", recalBatches: 8, batchSize: 500 },
  search: {
    algo: "nsga2-ppo",
    population: 12,
    generations: 5,
    valImages: 1000,
    third: "params",
    maxMadds: 0,
    maxParams: 0,
    maxLatencyMs: 0,
  },
  standalone: { archs: 1, epochs: 1, batchSize: 128, lr: 0.05 },
  ponas: {
    metaEpochs: 1,
    finetuneEpochs: 0.25,
    tableValImages: 1000,
    layerSteps: 0,
    inherit: "slice",
    sweepPoints: 8,
  },
};

const QUICK: RunConfig = {
  ...FMNIST,
  preset: "quick",
  train: {
    ...FMNIST.train,
    epochs: 1,
    batchSize: 64,
    lr: 0.1,
    trainLimit: 6144,
    valSize: 512,
    checkpointEvery: 32,
    logEvery: 8,
  },
  eval: { archs: 4, bn: "recal", recalBatches: 2, batchSize: 256 },
  search: { ...FMNIST.search, population: 6, generations: 2, valImages: 256 },
  standalone: { archs: 1, epochs: 1, batchSize: 64, lr: 0.05 },
  ponas: {
    ...FMNIST.ponas,
    metaEpochs: 1,
    finetuneEpochs: 0.5,
    tableValImages: 256,
    sweepPoints: 4,
  },
};

export const RUN_PRESETS: Readonly<Record<string, RunConfig>> = { fmnist: FMNIST, quick: QUICK };

export class ConfigError extends Error {
  override name = "ConfigError";
}

type Json = Record<string, unknown>;

/** Deep-merges `patch` into `base`, rejecting unknown keys (named by path). */
function merge(base: Json, patch: Json, path: string): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    const where = path ? `${path}.${k}` : k;
    if (!Object.prototype.hasOwnProperty.call(base, k))
      throw new ConfigError(`${where}: unknown setting (known: ${Object.keys(base).join(", ")})`);
    const b = base[k];
    if (b !== null && typeof b === "object" && !Array.isArray(b)) {
      if (v === null || typeof v !== "object" || Array.isArray(v))
        throw new ConfigError(`${where}: must be an object`);
      out[k] = merge(b as Json, v as Json, where);
    } else {
      if (typeof v !== typeof b)
        throw new ConfigError(`${where}: must be a ${typeof b}, got ${JSON.stringify(v)}`);
      // JSON reads 1e400 as Infinity; stored back it would become null.
      if (typeof v === "number" && !Number.isFinite(v))
        throw new ConfigError(`${where}: must be a finite number, got ${v}`);
      out[k] = v;
    }
  }
  return out;
}

export function loadConfigFile(file: string): Json {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError(`cannot read config file ${file}: ${(e as Error).message}`);
  }
  try {
    const v = JSON.parse(text) as unknown;
    if (v === null || typeof v !== "object" || Array.isArray(v))
      throw new Error("not a JSON object");
    return v as Json;
  } catch (e) {
    throw new ConfigError(`config file ${file} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Preset, then config file, then flags; validated. */
export function resolveConfig(preset: string, file: Json | null, overrides: Json): RunConfig {
  const base = RUN_PRESETS[preset];
  if (!base)
    throw new ConfigError(
      `unknown preset '${preset}' (known: ${Object.keys(RUN_PRESETS).join(", ")})`,
    );
  let cfg = base as unknown as Json;
  if (file && "preset" in file && file.preset !== preset)
    throw new ConfigError(
      `preset: the config file names '${String(file.preset)}' but the run uses preset ` +
        `'${preset}'; choose the preset with --preset`,
    );
  if (file) cfg = merge(cfg, file, "");
  cfg = merge(cfg, overrides, "");
  const c = validate(cfg as unknown as RunConfig);
  checkSearchBudgets(c, spaceIfKnown(c.space));
  return c;
}

// The run's space when it resolves; a space that does not is refused by
// name when the run loads it, with its own message.
function spaceIfKnown(name: string): ResolvedSpace | null {
  try {
    return resolveSpace(getSpace(name));
  } catch {
    return null;
  }
}

/**
 * Refuses a MAdds or parameter budget (search.maxMadds, search.maxParams)
 * below the cheapest network of the space. Both costs are sums of
 * per-layer costs, so the cheapest network takes each layer's cheapest
 * choice and is known before any training; without this check the run
 * would train the supernet and only then find the search impossible. A
 * latency budget or objective is refused outright: it needs a measured
 * table, which only `nas-cli search` takes.
 */
export function checkSearchBudgets(c: RunConfig, space: ResolvedSpace | null): void {
  // Only `nas-cli search` takes the measured latency table a latency
  // budget or objective needs; in a run's config they could never be met.
  const table = "needs a measured latency table, which a run does not take";
  const search = "to `nas-cli search --run DIR --latency-table FILE` after training";
  if (c.search.maxLatencyMs > 0)
    throw new ConfigError(
      `search.maxLatencyMs: a latency budget ${table}; leave it 0 here and pass ` +
        `--max-latency-ms ${search}`,
    );
  if (c.search.third === "latencyMs")
    throw new ConfigError(
      `search.third: latencyMs ${table}; leave it "params" here and pass ` +
        `--third latencyMs ${search}`,
    );
  if (space === null) return;
  const budgets = [
    ["maxMadds", "madds", "MAdds"],
    ["maxParams", "params", "parameters"],
  ] as const;
  for (const [field, key, unit] of budgets) {
    const max = c.search[field];
    if (max <= 0) continue;
    const arch = space.layers.map((_, l) => {
      let best = 0;
      for (let i = 1; i < space.spec.choices.length; i++) {
        if (blockCost(space, l, i)[key] < blockCost(space, l, best)[key]) best = i;
      }
      return best;
    });
    const least = costOf(space, arch)[key];
    if (least > max) {
      throw new ConfigError(
        `search.${field}: no network of space '${space.spec.name}' has at most ${max} ${unit}; ` +
          `the cheapest has ${least} (${archToString(space, arch)})`,
      );
    }
  }
}

function check(ok: boolean, field: string, msg: string): void {
  if (!ok) throw new ConfigError(`${field}: ${msg}`);
}

function positiveInt(v: number): boolean {
  return Number.isInteger(v) && v > 0;
}

/** More passes than this is a typo (1e308 would otherwise train forever). */
const MAX_EPOCHS = 1000;
/** A larger search population is a typo: drawing it alone would take hours. */
export const MAX_POPULATION = 10_000;

/**
 * The batch sizes that train on the training split must fit in it (batches
 * drop their remainder); checked once the split size is known, before a
 * run writes anything.
 */
export function checkTrainBatches(c: RunConfig, trainImages: number): void {
  const where = `the ${trainImages} training images (after train.valSize and train.trainLimit)`;
  if (c.train.batchSize > trainImages)
    throw new ConfigError(`train.batchSize: ${c.train.batchSize} is more than ${where}`);
  if (c.standalone.batchSize > trainImages)
    throw new ConfigError(`standalone.batchSize: ${c.standalone.batchSize} is more than ${where}`);
}

export function validate(c: RunConfig): RunConfig {
  const t = c.train;
  check(
    Number.isInteger(c.seed) && c.seed >= 0 && c.seed <= 0xffffffff,
    "seed",
    `must be an integer in [0, 4294967295], got ${c.seed}`,
  );
  check(
    isSamplerName(t.sampler),
    "train.sampler",
    `must be fair, spos, ef or ef-lr, got ${t.sampler}`,
  );
  check(
    t.epochs > 0 && t.epochs <= MAX_EPOCHS,
    "train.epochs",
    `must be in (0, ${MAX_EPOCHS}], got ${t.epochs}`,
  );
  check(
    positiveInt(t.batchSize),
    "train.batchSize",
    `must be a positive integer, got ${t.batchSize}`,
  );
  check(
    t.lr > 0 && t.minLr >= 0 && t.minLr <= t.lr,
    "train.lr",
    `need 0 <= minLr <= lr and lr > 0`,
  );
  check(
    t.warmupEpochs >= 0 && t.warmupEpochs < t.epochs,
    "train.warmupEpochs",
    "must be in [0, epochs)",
  );
  check(
    t.momentum >= 0 && t.momentum < 1,
    "train.momentum",
    `must be in [0, 1), got ${t.momentum}`,
  );
  check(t.weightDecay >= 0, "train.weightDecay", "must be >= 0");
  check(t.labelSmoothing >= 0 && t.labelSmoothing < 1, "train.labelSmoothing", "must be in [0, 1)");
  check(
    Number.isInteger(t.trainLimit) && t.trainLimit >= 0,
    "train.trainLimit",
    "must be an integer >= 0",
  );
  check(positiveInt(t.valSize), "train.valSize", `must be a positive integer, got ${t.valSize}`);
  check(Number.isInteger(t.cropPad) && t.cropPad >= 0, "train.cropPad", "must be an integer >= 0");
  check(
    Number.isInteger(t.checkpointEvery) && t.checkpointEvery >= 0,
    "train.checkpointEvery",
    "must be an integer >= 0",
  );
  check(positiveInt(t.logEvery), "train.logEvery", "must be a positive integer");
  const e = c.eval;
  check(Number.isInteger(e.archs) && e.archs >= 0, "eval.archs", "must be an integer >= 0");
  check(
    ["recal", "tracked", "both"].includes(e.bn),
    "eval.bn",
    `must be recal, tracked or both, got ${e.bn}`,
  );
  check(positiveInt(e.recalBatches), "eval.recalBatches", "must be a positive integer");
  check(positiveInt(e.batchSize), "eval.batchSize", "must be a positive integer");
  const s = c.search;
  check(
    ["nsga2-ppo", "nsga2", "random"].includes(s.algo),
    "search.algo",
    `must be nsga2-ppo, nsga2 or random, got ${s.algo}`,
  );
  check(
    positiveInt(s.population) && s.population >= 2 && s.population <= MAX_POPULATION,
    "search.population",
    `must be an integer in [2, ${MAX_POPULATION}], got ${s.population}`,
  );
  check(
    Number.isInteger(s.generations) && s.generations >= 0,
    "search.generations",
    "must be an integer >= 0",
  );
  check(
    Number.isInteger(s.valImages) && s.valImages >= 0,
    "search.valImages",
    "must be an integer >= 0",
  );
  check(["params", "latencyMs"].includes(s.third), "search.third", "must be params or latencyMs");
  for (const k of ["maxMadds", "maxParams", "maxLatencyMs"] as const)
    check(s[k] >= 0, `search.${k}`, "must be >= 0 (0: no budget)");
  const a = c.standalone;
  check(Number.isInteger(a.archs) && a.archs >= 0, "standalone.archs", "must be an integer >= 0");
  check(
    a.epochs > 0 && a.epochs <= MAX_EPOCHS,
    "standalone.epochs",
    `must be in (0, ${MAX_EPOCHS}]`,
  );
  check(positiveInt(a.batchSize), "standalone.batchSize", "must be a positive integer");
  check(a.lr > 0, "standalone.lr", "must be > 0");
  const p = c.ponas;
  check(
    p.metaEpochs > 0 && p.finetuneEpochs >= 0 && p.metaEpochs + p.finetuneEpochs <= MAX_EPOCHS,
    "ponas.metaEpochs",
    `metaEpochs must be > 0 and finetuneEpochs >= 0, together at most ${MAX_EPOCHS}`,
  );
  check(
    Number.isInteger(p.tableValImages) && p.tableValImages >= 0,
    "ponas.tableValImages",
    "must be an integer >= 0",
  );
  check(
    Number.isInteger(p.layerSteps) && p.layerSteps >= 0,
    "ponas.layerSteps",
    "must be an integer >= 0",
  );
  check(["slice", "identical"].includes(p.inherit), "ponas.inherit", "must be slice or identical");
  check(
    Number.isInteger(p.sweepPoints) && p.sweepPoints >= 2,
    "ponas.sweepPoints",
    "must be an integer >= 2",
  );
  return c;
}

/** The resolved configuration as an aligned two-column table. */
export function configTable(c: RunConfig, extra: Readonly<Record<string, string>> = {}): string {
  const rows: [string, string][] = [];
  const walk = (v: unknown, path: string) => {
    if (v !== null && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k);
    } else rows.push([path, String(v)]);
  };
  walk(c, "");
  for (const [k, v] of Object.entries(extra)) rows.push([k, v]);
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`).join("\n");
}
