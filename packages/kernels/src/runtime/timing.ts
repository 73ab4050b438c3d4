// Timing of recorded GPU work for benchmarks. With the adapter's
// "timestamp-query" feature, the work is bracketed by two empty compute
// passes that write timestamps, each in its own submit, so the figure is the
// device time between the end of what came before and the end of the work.
// Without it, the wall clock from submit to completion. Either way the host
// sleeps through most of the expected time before awaiting (PERF-NOTES: an
// awaited Dawn promise polls and steals CPU from a software device).

import type { Gpu } from "./gpu.ts";

export type TimerKind = "timestamp" | "wall";

export class GpuTimer {
  readonly kind: TimerKind;
  private readonly querySet: GPUQuerySet | null = null;
  private readonly resolved: GPUBuffer | null = null;
  private readonly staging: GPUBuffer | null = null;

  /** `wallOnly` forces wall-clock timing even where timestamps exist. */
  constructor(
    private readonly gpu: Gpu,
    wallOnly = false,
  ) {
    this.kind = !wallOnly && gpu.features.has("timestamp-query") ? "timestamp" : "wall";
    if (this.kind === "wall") return;
    const device = gpu.device;
    this.querySet = device.createQuerySet({ label: "timer.queries", type: "timestamp", count: 2 });
    this.resolved = device.createBuffer({
      label: "timer.resolved",
      size: 16,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
    this.staging = device.createBuffer({
      label: "timer.staging",
      size: 16,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
  }

  /**
   * Records `work` (which only records dispatches), submits it, waits for
   * completion and returns its duration in ms. `expectedMs` (0 when unknown)
   * is how long the caller thinks it takes; the host sleeps through most of it.
   */
  async time(work: () => void, expectedMs: number): Promise<number> {
    const gpu = this.gpu;
    gpu.flush();
    if (this.kind === "wall") {
      const t0 = performance.now();
      work();
      await gpu.sync(expectedMs);
      return performance.now() - t0;
    }
    this.marker({ beginningOfPassWriteIndex: 0 });
    work();
    gpu.flush();
    this.marker({ endOfPassWriteIndex: 1 }, true);
    await gpu.sync(expectedMs);
    await this.staging!.mapAsync(GPUMapMode.READ);
    const [t0, t1] = new BigUint64Array(this.staging!.getMappedRange().slice(0));
    this.staging!.unmap();
    return Number(t1 - t0) / 1e6;
  }

  destroy(): void {
    this.querySet?.destroy();
    this.resolved?.destroy();
    this.staging?.destroy();
  }

  // Submits an empty pass writing one timestamp; the last one also resolves both.
  private marker(
    at: { beginningOfPassWriteIndex?: number; endOfPassWriteIndex?: number },
    resolve = false,
  ): void {
    const device = this.gpu.device;
    const enc = device.createCommandEncoder({ label: "timer.encoder" });
    const pass = enc.beginComputePass({
      label: "timer.pass",
      timestampWrites: { querySet: this.querySet!, ...at },
    });
    pass.end();
    if (resolve) {
      enc.resolveQuerySet(this.querySet!, 0, 2, this.resolved!, 0);
      enc.copyBufferToBuffer(this.resolved!, 0, this.staging!, 0, 16);
    }
    device.queue.submit([enc.finish({ label: "timer.commands" })]);
  }
}

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error("median: no values");
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * Device ms of each candidate, side by side: every round runs each
 * candidate once in turn (so drift on a shared machine hits them alike),
 * telling the timer the candidate's previous time so the host sleeps
 * through it; round 0 (first dispatches, which compile) is dropped, and
 * the median of the other `rounds` is returned per candidate.
 */
export async function interleavedMedians<K>(
  timer: GpuTimer,
  candidates: readonly K[],
  run: (candidate: K) => void,
  rounds: number,
): Promise<Map<K, number>> {
  const times = new Map<K, number[]>(candidates.map((c) => [c, []]));
  const last = new Map<K, number>();
  for (let r = 0; r < rounds + 1; r++) {
    for (const c of candidates) {
      const ms = await timer.time(() => run(c), last.get(c) ?? 0);
      last.set(c, ms);
      if (r > 0) times.get(c)!.push(ms);
    }
  }
  return new Map(candidates.map((c) => [c, median(times.get(c)!)]));
}
