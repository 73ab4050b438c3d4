// GPU buffer pool keyed by size class. Classes grow by 2^(1/4) so a pooled
// buffer wastes under 19% of its bytes. Released buffers are reused by the
// next acquire of the same class; the high-water mark counts bytes held by
// live tensors (in use), and `allocatedBytes` all buffers the pool owns.

import "./globals.ts";

const MIN_CLASS_BYTES = 256;

export const STORAGE_USAGE =
  GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** Smallest size class holding `bytes`, a multiple of 16 bytes. */
export function sizeClass(bytes: number): number {
  if (bytes <= MIN_CLASS_BYTES) return MIN_CLASS_BYTES;
  const step = Math.ceil(Math.log2(bytes) * 4) / 4;
  const rounded = Math.ceil(2 ** step / 16) * 16;
  return Math.max(rounded, Math.ceil(bytes / 16) * 16);
}

export interface PoolStats {
  readonly inUseBytes: number;
  readonly highWaterBytes: number;
  readonly allocatedBytes: number;
  readonly buffers: number;
}

export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  private inUse = 0;
  private highWater = 0;
  private allocated = 0;
  private count = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly maxBufferSize: number,
  ) {}

  acquire(bytes: number, label: string): GPUBuffer {
    const size = sizeClass(bytes);
    if (size > this.maxBufferSize) {
      throw new Error(
        `${label}: a buffer of ${bytes} bytes exceeds the device's ` +
          `maxBufferSize of ${this.maxBufferSize} bytes`,
      );
    }
    const reused = this.free.get(size)?.pop();
    const buffer = reused ?? this.create(size, label);
    this.inUse += size;
    this.highWater = Math.max(this.highWater, this.inUse);
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    const size = buffer.size;
    this.inUse -= size;
    const list = this.free.get(size);
    if (list) list.push(buffer);
    else this.free.set(size, [buffer]);
  }

  stats(): PoolStats {
    return {
      inUseBytes: this.inUse,
      highWaterBytes: this.highWater,
      allocatedBytes: this.allocated,
      buffers: this.count,
    };
  }

  /** Starts a new high-water measurement from the bytes in use now. */
  resetHighWater(): void {
    this.highWater = this.inUse;
  }

  /** Destroys every free buffer (live tensors keep theirs). */
  trim(): void {
    for (const list of this.free.values()) {
      for (const b of list) {
        this.allocated -= b.size;
        this.count -= 1;
        b.destroy();
      }
    }
    this.free.clear();
  }

  private create(size: number, label: string): GPUBuffer {
    this.allocated += size;
    this.count += 1;
    return this.device.createBuffer({ label, size, usage: STORAGE_USAGE });
  }
}
