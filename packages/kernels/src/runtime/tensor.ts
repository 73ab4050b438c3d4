// A float32 tensor living in one pooled GPU buffer. Activations are NHWC.
// Disposal returns the buffer to the pool; using a disposed tensor throws.

import type { BufferPool } from "./pool.ts";

export type Shape = readonly number[];

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeStr(shape: Shape): string {
  return `[${shape.join(", ")}]`;
}

export class Tensor {
  private buf: GPUBuffer | null;

  constructor(
    readonly shape: Shape,
    buffer: GPUBuffer,
    private readonly pool: BufferPool,
    readonly label: string,
  ) {
    expectValidShape(label, shape);
    this.buf = buffer;
  }

  get size(): number {
    return numel(this.shape);
  }

  get bytes(): number {
    return this.size * 4;
  }

  get buffer(): GPUBuffer {
    if (!this.buf) throw new Error(`${this.label}: tensor used after dispose()`);
    return this.buf;
  }

  get disposed(): boolean {
    return this.buf === null;
  }

  dispose(): void {
    if (this.buf) this.pool.release(this.buf);
    this.buf = null;
  }
}

/** Throws an error naming `op` unless `shape` is a list of non-negative integers. */
export function expectValidShape(op: string, shape: Shape): void {
  const ok = Array.isArray(shape) && shape.every((d) => Number.isInteger(d) && d >= 0);
  if (!ok) {
    const s = Array.isArray(shape) ? shapeStr(shape) : String(shape);
    throw new Error(`${op}: invalid shape ${s}; every dimension must be a non-negative integer`);
  }
}

/** Throws an error naming `op` unless `t` has exactly `shape`. */
export function expectShape(op: string, name: string, t: Tensor, shape: Shape): void {
  const ok = t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]);
  if (!ok) {
    throw new Error(`${op}: ${name} has shape ${shapeStr(t.shape)}, expected ${shapeStr(shape)}`);
  }
}

/**
 * Throws when an output tensor shares its buffer with an input of the same
 * dispatch (WebGPU refuses a buffer bound both writable and read).
 */
export function expectDistinct(
  op: string,
  out: readonly [string, Tensor],
  ...inputs: readonly (readonly [string, Tensor | undefined])[]
): void {
  for (const [name, t] of inputs) {
    if (t && t.buffer === out[1].buffer) {
      throw new Error(`${op}: ${out[0]} (${out[1].label}) must not alias ${name} (${t.label})`);
    }
  }
}

/** Throws unless `t` has rank `rank`. */
export function expectRank(op: string, name: string, t: Tensor, rank: number): void {
  if (t.shape.length !== rank) {
    throw new Error(`${op}: ${name} must have rank ${rank}, got shape ${shapeStr(t.shape)}`);
  }
}
