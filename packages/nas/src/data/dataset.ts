// Image classification datasets on disk (IDX as in Fashion-MNIST, or CIFAR-10
// binary), loaded whole into memory as NHWC bytes, plus the seeded
// train/validation split and the per-channel normalisation statistics.

import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { Rng } from "@fairnas/kernels";
import { CIFAR_CLASSES, CIFAR_SIDE, readCifarBatches } from "./cifar.ts";
import { DatasetError, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, type IdxArray, readIdx } from "./idx.ts";

export { DatasetError } from "./idx.ts";

export interface ImageSet {
  readonly images: Uint8Array; // [n, H, W, C]
  readonly labels: Uint8Array; // [n]
  readonly n: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly classes: number;
  readonly source: string; // the file(s) it was read from
}

export type DatasetFormat = "idx" | "cifar10";

export interface LoadedDataset {
  readonly train: ImageSet;
  readonly test: ImageSet;
  readonly format: DatasetFormat;
}

/** Where Debian's dataset-fashion-mnist package installs the data. */
export const DEFAULT_DATA_DIR = "/usr/share/datasets/fashion-mnist";

/** Rng stream of the train/validation split. */
export const SPLIT_STREAM = 0x5e1170;

const CIFAR_TRAIN = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
const CIFAR_TEST = "test_batch.bin";
const CIFAR_SUBDIR = "cifar-10-batches-bin";

const IDX_HINT =
  "install Debian's dataset-fashion-mnist package (e.g. `bash scripts/setup.sh`) " +
  "or pass --data DIR";
const CIFAR_HINT =
  "get the CIFAR-10 binary version (cifar-10-binary.tar.gz), unpack it and pass --data DIR, " +
  `DIR holding ${CIFAR_TRAIN[0]}..${CIFAR_TRAIN[4]} and ${CIFAR_TEST} (or their ` +
  `${CIFAR_SUBDIR} folder)`;
const ANY_HINT =
  "pass --data DIR holding IDX files (Fashion-MNIST: install Debian's " +
  "dataset-fashion-mnist package, e.g. `bash scripts/setup.sh`) or CIFAR-10 binary " +
  `batches (${CIFAR_TRAIN[0]}..${CIFAR_TEST})`;

/**
 * What to do about a missing dataset at `dir`: the format the caller asked
 * for or expects decides, else a name like `cifar-10-batches-bin`; the
 * Fashion-MNIST package is suggested only where it would help.
 */
function dataHint(dir: string, format?: DatasetFormat): string {
  if (format === "cifar10" || (format === undefined && /cifar/i.test(dir))) return CIFAR_HINT;
  if (format === "idx" || dir === DEFAULT_DATA_DIR || /mnist/i.test(dir)) return IDX_HINT;
  return ANY_HINT;
}

/** How `loadDataset` reads a directory. */
export interface LoadOptions {
  /** The format to read; "auto" (the default) detects it. */
  readonly format?: "auto" | DatasetFormat;
  /** The format the caller expects (e.g. from the input shape), for error hints only. */
  readonly expect?: DatasetFormat;
}

/** Loads train and test sets from `dir`, detecting the format unless given. */
export async function loadDataset(dir: string, opts: LoadOptions = {}): Promise<LoadedDataset> {
  const format = opts.format ?? "auto";
  const hint = dataHint(dir, format === "auto" ? opts.expect : format);
  const names = await listDir(dir, hint);
  const cifarDir = await findCifarDir(dir, names);
  const idx = IDX_PARTS.map((part) => findIdxFile(names, part));

  if (format === "cifar10" || (format === "auto" && cifarDir !== null)) {
    return loadCifar(cifarDir ?? dir);
  }
  if (format === "idx" || idx.some((f) => f !== null)) return loadIdx(dir, idx);

  throw new DatasetError(
    `${dir}: no dataset found (looked for IDX files ${IDX_PARTS.map(idxName).join(", ")} ` +
      `[.gz], or CIFAR-10 ${CIFAR_TRAIN[0]}..${CIFAR_TEST}); ${hint}`,
  );
}

async function listDir(dir: string, hint: string): Promise<string[]> {
  const info = await stat(dir).catch(() => null);
  if (info === null) {
    throw new DatasetError(`${dir}: dataset directory does not exist; ${hint}`);
  }
  if (!info.isDirectory()) throw new DatasetError(`${dir}: not a directory; ${hint}`);
  try {
    return await readdir(dir);
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new DatasetError(`${dir}: cannot list dataset directory (${why})`);
  }
}

async function findCifarDir(dir: string, names: readonly string[]): Promise<string | null> {
  const isCifar = (ls: readonly string[]): boolean =>
    ls.includes(CIFAR_TRAIN[0]) || ls.includes(CIFAR_TEST);
  if (isCifar(names)) return dir;
  if (!names.includes(CIFAR_SUBDIR)) return null;
  const sub = join(dir, CIFAR_SUBDIR);
  return isCifar(await listDir(sub, CIFAR_HINT)) ? sub : null;
}

// ---- IDX ----------------------------------------------------------------

interface IdxPart {
  readonly stem: "train" | "t10k";
  readonly kind: "images" | "labels";
}

const IDX_PARTS: readonly IdxPart[] = [
  { stem: "train", kind: "images" },
  { stem: "train", kind: "labels" },
  { stem: "t10k", kind: "images" },
  { stem: "t10k", kind: "labels" },
];

function idxName(p: IdxPart): string {
  return `${p.stem}-${p.kind}-idx${p.kind === "images" ? 3 : 1}-ubyte`;
}

// Accepts the usual `train-images-idx3-ubyte` and the `train-images.idx3-ubyte`
// spelling, each raw or gzip; raw wins when both are present.
function findIdxFile(names: readonly string[], p: IdxPart): string | null {
  const dash = idxName(p);
  const dot = dash.replace(`-${p.kind}-`, `-${p.kind}.`);
  for (const cand of [dash, `${dash}.gz`, dot, `${dot}.gz`]) {
    if (names.includes(cand)) return cand;
  }
  return null;
}

async function loadIdx(dir: string, found: readonly (string | null)[]): Promise<LoadedDataset> {
  const missing = IDX_PARTS.filter((_, i) => found[i] === null).map(idxName);
  if (missing.length > 0) {
    throw new DatasetError(
      `${dir}: missing IDX file(s) ${missing.join(", ")} (raw or .gz); ${IDX_HINT}`,
    );
  }

  const files = found.map((f) => join(dir, f as string));
  const [trainX, trainY, testX, testY] = await Promise.all(
    files.map((f, i) => readIdx(f, i % 2 === 0 ? IDX_IMAGES_MAGIC : IDX_LABELS_MAGIC)),
  );
  const train = idxSet(trainX, trainY, files[0], files[1], null);
  const test = idxSet(testX, testY, files[2], files[3], train);
  return { train, test, format: "idx" };
}

// The class count is read from the training labels (max + 1); the test set
// must use the same image size and stay within those classes.
function idxSet(
  x: IdxArray,
  y: IdxArray,
  xFile: string,
  yFile: string,
  like: ImageSet | null,
): ImageSet {
  const [n, height, width] = x.dims;
  if (y.dims[0] !== n) {
    throw new DatasetError(`${xFile} has ${n} images but ${yFile} has ${y.dims[0]} labels`);
  }
  if (like !== null && (like.height !== height || like.width !== width)) {
    throw new DatasetError(
      `${xFile}: images are ${height}x${width}, training images are ${like.height}x${like.width}`,
    );
  }

  const classes = like?.classes ?? maxOf(y.data) + 1;
  checkLabels(y.data, classes, yFile);
  const images = toShared(x.data);
  const labels = toShared(y.data);
  const source = `${xFile} + ${yFile}`;
  return { images, labels, n, height, width, channels: 1, classes, source };
}

function maxOf(a: Uint8Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) if (a[i] > m) m = a[i];
  return m;
}

function checkLabels(labels: Uint8Array, classes: number, file: string): void {
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] >= classes) {
      throw new DatasetError(
        `${file}: label ${labels[i]} at index ${i} is out of range 0..${classes - 1}`,
      );
    }
  }
}

// NOTE: images live in SharedArrayBuffers so a batch worker sees them
// without a copy of the whole set per stream.
function toShared(a: Uint8Array): Uint8Array {
  const out = new Uint8Array(new SharedArrayBuffer(a.length));
  out.set(a);
  return out;
}

// ---- CIFAR-10 -----------------------------------------------------------

async function loadCifar(dir: string): Promise<LoadedDataset> {
  const names = await listDir(dir, CIFAR_HINT);
  const missing = [...CIFAR_TRAIN, CIFAR_TEST].filter((f) => !names.includes(f));
  if (missing.length > 0) {
    throw new DatasetError(`${dir}: missing CIFAR-10 file(s) ${missing.join(", ")}; ${CIFAR_HINT}`);
  }

  const trainFiles = CIFAR_TRAIN.map((f) => join(dir, f));
  const testFile = join(dir, CIFAR_TEST);
  const train = cifarSet(await readCifarBatches(trainFiles), `${dir}/${CIFAR_TRAIN[0]}..5`);
  const test = cifarSet(await readCifarBatches([testFile]), testFile);
  return { train, test, format: "cifar10" };
}

function cifarSet(
  r: { n: number; images: Uint8Array; labels: Uint8Array },
  source: string,
): ImageSet {
  const side = CIFAR_SIDE;
  return { ...r, height: side, width: side, channels: 3, classes: CIFAR_CLASSES, source };
}

// ---- Split and normalisation --------------------------------------------

/** The seeded split of 0..n-1 that `splitTrainVal` makes. */
export interface TrainValSplit {
  /** Training indices, sorted. */
  readonly train: Int32Array;
  /** Validation indices, sorted. */
  readonly val: Int32Array;
  /** The same validation indices in the order they were drawn (see `drawnSubset`). */
  readonly valOrder: Int32Array;
}

/**
 * A seeded split of 0..n-1 into disjoint train and validation indices.
 * One seeded permutation is drawn: validation takes its first `valSize`
 * entries, training the rest, or only the next `trainLimit` of them when
 * `trainLimit` > 0. Both subsets are random draws, never the first indices
 * of the file, so a file ordered by class still gives every class its share.
 */
export function splitTrainVal(
  n: number,
  valSize: number,
  seed: number,
  trainLimit = 0,
): TrainValSplit {
  if (!Number.isInteger(valSize) || valSize < 0 || valSize > n) {
    throw new RangeError(`splitTrainVal: valSize ${valSize} must be an integer in 0..${n}`);
  }
  if (!Number.isInteger(trainLimit) || trainLimit < 0) {
    throw new RangeError(`splitTrainVal: trainLimit ${trainLimit} must be an integer >= 0`);
  }
  const perm = Rng.derive(seed, SPLIT_STREAM, 0).permutation(n);
  const valOrder = Int32Array.from(perm.slice(0, valSize));
  const end = trainLimit > 0 ? Math.min(n, valSize + trainLimit) : n;
  const train = Int32Array.from(perm.slice(valSize, end)).sort();
  return { train, val: valOrder.slice().sort(), valOrder };
}

/**
 * The first `count` indices of a seeded draw (such as `valOrder`), sorted:
 * a random subset, nested as `count` grows. `count` <= 0 or past the end
 * gives the whole draw.
 */
export function drawnSubset(order: Int32Array, count: number): Int32Array {
  const n = count > 0 ? Math.min(count, order.length) : order.length;
  return order.slice(0, n).sort();
}

export interface Normalization {
  readonly mean: readonly number[]; // per channel, pixel units in [0, 1]
  readonly std: readonly number[];
}

/** Per-channel mean and (population) standard deviation over `indices`. */
export function computeNormalization(set: ImageSet, indices: Int32Array): Normalization {
  if (indices.length === 0) throw new RangeError("computeNormalization: no indices given");
  const C = set.channels;
  const pixels = set.height * set.width;
  const sum = new Float64Array(C);
  const sumSq = new Float64Array(C);
  for (const i of indices) {
    if (i < 0 || i >= set.n) {
      throw new RangeError(`computeNormalization: index ${i} not in 0..${set.n - 1}`);
    }
    const base = i * pixels * C;
    for (let p = 0; p < pixels * C; p++) {
      const v = set.images[base + p];
      sum[p % C] += v;
      sumSq[p % C] += v * v;
    }
  }

  const count = indices.length * pixels;
  const mean = Array.from(sum, (s) => s / count / 255);
  // NOTE: a constant channel would divide by zero; its std is taken as 1.
  const std = Array.from(sumSq, (s, c) => {
    const v = s / count / (255 * 255) - mean[c] * mean[c];
    return v > 1e-12 ? Math.sqrt(v) : 1;
  });
  return { mean, std };
}
