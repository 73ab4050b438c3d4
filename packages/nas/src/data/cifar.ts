// CIFAR-10 binary batches: records of 1 label byte + 3072 image bytes, the
// image stored planar (all red, then green, then blue, each 32x32 row-major).
// We convert to NHWC on load, the layout every kernel here expects.

import { DatasetError, readMaybeGzip } from "./idx.ts";

export const CIFAR_SIDE = 32;
export const CIFAR_CLASSES = 10;
const PLANE = CIFAR_SIDE * CIFAR_SIDE; // 1024
export const CIFAR_RECORD = 1 + 3 * PLANE; // 3073 bytes

export interface CifarRecords {
  readonly n: number;
  readonly images: Uint8Array; // [n, 32, 32, 3]
  readonly labels: Uint8Array; // [n]
}

/** Number of records in a CIFAR batch of `bytes` bytes; throws if not whole. */
export function cifarRecordCount(bytes: number, file: string): number {
  if (bytes % CIFAR_RECORD !== 0) {
    throw new DatasetError(
      `${file}: size ${bytes} bytes is not a multiple of the ` +
        `${CIFAR_RECORD}-byte CIFAR-10 record (1 label + 3x32x32 image)`,
    );
  }
  return bytes / CIFAR_RECORD;
}

/** Reads CIFAR-10 batch files in order into one NHWC set. */
export async function readCifarBatches(files: readonly string[]): Promise<CifarRecords> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for (const file of files) {
    const bytes = await readMaybeGzip(file);
    n += cifarRecordCount(bytes.length, file);
    parts.push(bytes);
  }

  const images = new Uint8Array(new SharedArrayBuffer(n * 3 * PLANE));
  const labels = new Uint8Array(new SharedArrayBuffer(n));
  let at = 0;
  for (let f = 0; f < files.length; f++) {
    at = decodeInto(parts[f], files[f], images, labels, at);
  }
  return { n, images, labels };
}

// Planar RGB -> interleaved; returns the next free record slot.
function decodeInto(
  bytes: Uint8Array,
  file: string,
  images: Uint8Array,
  labels: Uint8Array,
  first: number,
): number {
  const count = bytes.length / CIFAR_RECORD;
  for (let r = 0; r < count; r++) {
    const rec = r * CIFAR_RECORD;
    const label = bytes[rec];
    if (label >= CIFAR_CLASSES) {
      throw new DatasetError(
        `${file}: record ${r} has label ${label}, out of range 0..${CIFAR_CLASSES - 1}`,
      );
    }
    labels[first + r] = label;

    const out = (first + r) * 3 * PLANE;
    for (let p = 0; p < PLANE; p++) {
      for (let c = 0; c < 3; c++) images[out + p * 3 + c] = bytes[rec + 1 + c * PLANE + p];
    }
  }
  return first + count;
}

/** Encodes NHWC images as one CIFAR-10 batch (used by tests to build fixtures). */
export function encodeCifar(images: Uint8Array, labels: Uint8Array): Uint8Array {
  const n = labels.length;
  const out = new Uint8Array(n * CIFAR_RECORD);
  for (let r = 0; r < n; r++) {
    out[r * CIFAR_RECORD] = labels[r];
    for (let p = 0; p < PLANE; p++) {
      for (let c = 0; c < 3; c++) {
        out[r * CIFAR_RECORD + 1 + c * PLANE + p] = images[(r * PLANE + p) * 3 + c];
      }
    }
  }
  return out;
}
