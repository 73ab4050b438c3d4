// Ground-truth records: what one stand-alone training produced, with
// everything that decides whether two records may be compared: the search
// space, the data split, the training budget and the seed. An analysis
// (rank correlation, ablation) takes a set of records and refuses to mix
// splits or budgets, since accuracy after 1 epoch and after 5 are not the
// same quantity.

export const GROUND_TRUTH_FORMAT = 1;

/** The data a record was trained and scored on. */
export interface GroundTruthSplit {
  /** Validation images held out of the training set. */
  readonly valSize: number;
  /** Seed of the train/validation split. */
  readonly seed: number;
  /** Training images used (after the split and any limit). */
  readonly trainImages: number;
  /** Test images scored (the first N of the test set). */
  readonly testImages: number;
}

/** The training budget. */
export interface GroundTruthBudget {
  /** Passes over the training images (fractions allowed). */
  readonly epochs: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly steps: number;
}

export interface EpochRecord {
  /** 1-based; the last may be fractional when the budget is. */
  readonly epoch: number;
  readonly step: number;
  /** Mean training loss and top-1 over this epoch's steps. */
  readonly loss: number;
  readonly top1: number;
  readonly valTop1: number;
  readonly valLoss: number;
  readonly seconds: number;
}

export interface GroundTruthRecord {
  readonly format: number;
  readonly kind: "standalone";
  readonly space: string;
  readonly spaceSignature: string;
  readonly arch: string;
  readonly hash: string;
  /** Seed of initialisation, data order, augmentation and dropout. */
  readonly seed: number;
  readonly split: GroundTruthSplit;
  readonly budget: GroundTruthBudget;
  readonly epochs: readonly EpochRecord[];
  readonly valTop1: number;
  readonly valLoss: number;
  readonly valImages: number;
  readonly testTop1: number;
  readonly testLoss: number;
  readonly madds: number;
  readonly params: number;
  readonly trainSeconds: number;
}

/** Records that must not be analysed together. */
export class GroundTruthMixError extends Error {
  override name = "GroundTruthMixError";
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function needNumbers(file: string, o: unknown, where: string, keys: readonly string[]): void {
  if (!isObject(o)) throw new Error(`${file}: ${where}: expected an object`);
  for (const k of keys) {
    if (typeof o[k] !== "number" || !Number.isFinite(o[k])) {
      throw new Error(
        `${file}: ${where}.${k}: expected a finite number, got ${JSON.stringify(o[k])}`,
      );
    }
  }
}

/** Checks the shape of a parsed record file; errors name the file and field. */
export function parseGroundTruth(file: string, v: unknown): GroundTruthRecord {
  if (!isObject(v) || v.kind !== "standalone")
    throw new Error(`${file}: not a stand-alone ground-truth record`);
  if (v.format !== GROUND_TRUTH_FORMAT) {
    throw new Error(
      `${file}: record format ${String(v.format)}, this build reads ${GROUND_TRUTH_FORMAT}; retrain with nas-cli train-arch`,
    );
  }
  for (const k of ["space", "spaceSignature", "arch", "hash"]) {
    if (typeof v[k] !== "string") throw new Error(`${file}: ${k}: expected a string`);
  }
  needNumbers(file, v, "record", [
    "seed",
    "valTop1",
    "valLoss",
    "valImages",
    "testTop1",
    "testLoss",
    "madds",
    "params",
  ]);
  needNumbers(file, v.split, "split", ["valSize", "seed", "trainImages", "testImages"]);
  needNumbers(file, v.budget, "budget", ["epochs", "batchSize", "lr", "steps"]);
  if (!Array.isArray(v.epochs)) throw new Error(`${file}: epochs: expected an array`);
  v.epochs.forEach((e, i) =>
    needNumbers(file, e, `epochs[${i}]`, ["epoch", "step", "loss", "top1", "valTop1"]),
  );
  return v as unknown as GroundTruthRecord;
}

/** The part of a record that must agree across one analysis. */
export function comparisonKey(r: GroundTruthRecord): string {
  const { split: s, budget: b } = r;
  return (
    `space ${r.space}@${r.spaceSignature} | split valSize=${s.valSize} seed=${s.seed} ` +
    `train=${s.trainImages} test=${s.testImages} | budget epochs=${b.epochs} batch=${b.batchSize} ` +
    `lr=${b.lr} | seed ${r.seed}`
  );
}

/**
 * Throws GroundTruthMixError unless every record has the same space, split,
 * budget and seed, and no architecture appears twice.
 */
export function checkComparable(records: readonly GroundTruthRecord[]): void {
  if (records.length === 0) return;
  const want = comparisonKey(records[0]);
  for (const r of records.slice(1)) {
    const got = comparisonKey(r);
    if (got !== want) {
      throw new GroundTruthMixError(
        `ground-truth records differ and cannot be analysed together:\n  ${records[0].arch}: ${want}\n  ${r.arch}: ${got}`,
      );
    }
  }
  const seen = new Set<string>();
  for (const r of records) {
    if (seen.has(r.hash))
      throw new GroundTruthMixError(`architecture ${r.arch} (${r.hash}) appears twice`);
    seen.add(r.hash);
  }
}
