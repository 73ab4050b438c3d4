// IDX files, the container of MNIST and Fashion-MNIST: a big-endian header
// (magic, then one u32 per dimension) followed by raw unsigned bytes. A file
// may be gzip-compressed; that is detected from its first two bytes, not its
// name.

import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { gunzip } from "node:zlib";

const gunzipAsync = promisify(gunzip);

/** Magic of an IDX file of unsigned bytes with 3 dimensions: [N, H, W]. */
export const IDX_IMAGES_MAGIC = 0x00000803;
/** Magic of an IDX file of unsigned bytes with 1 dimension: [N]. */
export const IDX_LABELS_MAGIC = 0x00000801;

/** A dataset file is missing, malformed or inconsistent; the message names it. */
export class DatasetError extends Error {
  override name = "DatasetError";
}

export interface IdxArray {
  readonly dims: readonly number[];
  readonly data: Uint8Array; // row-major, prod(dims) bytes
}

function hex32(v: number): string {
  return `0x${(v >>> 0).toString(16).padStart(8, "0")}`;
}

/** Reads a whole file, inflating it when it starts with the gzip magic. */
export async function readMaybeGzip(file: string): Promise<Uint8Array> {
  let raw: Uint8Array;
  try {
    raw = await readFile(file);
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new DatasetError(`${file}: cannot read (${why})`);
  }
  if (raw.length < 2 || raw[0] !== 0x1f || raw[1] !== 0x8b) return raw;

  try {
    return await gunzipAsync(raw);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new DatasetError(`${file}: corrupt gzip data (${why})`);
  }
}

/** Parses IDX bytes, checking the magic and that the size matches the header. */
export function parseIdx(bytes: Uint8Array, file: string, magic: number): IdxArray {
  const rank = magic & 0xff;
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) {
    throw new DatasetError(
      `${file}: truncated IDX header: expected ${headerBytes} bytes, got ${bytes.length}`,
    );
  }

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const found = view.getUint32(0, false);
  if (found !== magic) {
    throw new DatasetError(
      `${file}: bad IDX magic ${hex32(found)}, expected ${hex32(magic)} ` +
        `(unsigned bytes, ${rank} dimension${rank === 1 ? "" : "s"})`,
    );
  }

  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const dataBytes = dims.reduce((a, b) => a * b, 1);
  const expected = headerBytes + dataBytes;
  if (bytes.length !== expected) {
    const what = bytes.length < expected ? "truncated" : "trailing bytes";
    throw new DatasetError(
      `${file}: ${what}: expected ${expected} bytes (header ${headerBytes} + ` +
        `data ${dims.join("x")}), got ${bytes.length}`,
    );
  }
  return { dims, data: bytes.subarray(headerBytes) };
}

/** Reads and parses one IDX file, raw or gzip. */
export async function readIdx(file: string, magic: number): Promise<IdxArray> {
  return parseIdx(await readMaybeGzip(file), file, magic);
}

/** Encodes an IDX file of unsigned bytes (used by tests to build fixtures). */
export function encodeIdx(dims: readonly number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x00000800 | dims.length, false);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}
