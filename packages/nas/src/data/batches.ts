// Mini-batches for training. A batch is a pure function of the stream state
// (epoch, position, batches): epoch e's order comes from
// Rng.derive(seed, DATA_STREAM, e) and the augmentation of global batch b from
// Rng.derive(seed, AUG_STREAM, b), so a stream restored from state() yields
// exactly the batches the original would have. Preparation (gather, augment,
// normalise) runs in the calling thread, or, through BatchStream.inWorker, in
// a worker thread that keeps a few batches in flight.

import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { Rng } from "@fairnas/kernels";
import { type Endpoint, type Remote, releaseProxy, wrap } from "comlink";
import type { NodeEndpoint } from "comlink/dist/umd/node-adapter.js";
import type { ImageSet, Normalization } from "./dataset.ts";
import type { BatchWorkerApi } from "./worker.ts";

/** Rng stream of the per-epoch sample order. */
export const DATA_STREAM = 0xda7a;
/** Rng stream of the per-batch augmentation draws. */
export const AUG_STREAM = 0xa06;

export interface Augment {
  readonly cropPad: number; // random crop after zero-padding each side by this many pixels
  readonly flip: boolean; // random horizontal flip, probability 1/2
}

export interface BatchOptions {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly augment: Augment | null;
  readonly seed: number;
  readonly norm: Normalization;
}

export interface Batch {
  readonly x: Float32Array; // [B, H, W, C], normalised
  readonly y: Float32Array; // [B], class ids
  readonly n: number; // B: batchSize, or fewer for an epoch's last batch
  readonly epoch: number;
  readonly index: number; // global batch counter
}

export interface StreamState {
  readonly epoch: number;
  readonly position: number; // next sample's place in the epoch's order
  readonly batches: number; // batches handed out so far
}

export interface WorkerOptions {
  readonly prefetch?: number; // batches in flight beyond the one consumed: 1..8, default 2
}

// ---- stream state arithmetic --------------------------------------------

/** Rolls `s` into the next epoch when this one has no batch left to give. */
export function settleState(s: StreamState, count: number, opts: BatchOptions): StreamState {
  const left = count - s.position;
  const spent = left <= 0 || (opts.dropLast && left < opts.batchSize);
  return spent ? { epoch: s.epoch + 1, position: 0, batches: s.batches } : s;
}

/** The state after taking the batch at `s` (which must be settled). */
export function advanceState(s: StreamState, count: number, opts: BatchOptions): StreamState {
  const n = Math.min(opts.batchSize, count - s.position);
  const next = { epoch: s.epoch, position: s.position + n, batches: s.batches + 1 };
  return settleState(next, count, opts);
}

function checkState(s: StreamState, count: number): void {
  const ok =
    Number.isInteger(s.epoch) &&
    s.epoch >= 0 &&
    Number.isInteger(s.position) &&
    s.position >= 0 &&
    s.position <= count &&
    Number.isInteger(s.batches) &&
    s.batches >= 0;
  if (!ok) {
    throw new RangeError(`BatchStream: bad state ${JSON.stringify(s)} for ${count} samples`);
  }
}

function checkOptions(set: ImageSet, indices: Int32Array, opts: BatchOptions): void {
  const B = opts.batchSize;
  const fail = (why: string): never => {
    throw new RangeError(`BatchStream: ${why}`);
  };
  if (!Number.isInteger(B) || B < 1) fail(`batchSize ${B} must be a positive integer`);
  if (indices.length === 0) fail("no sample indices given");
  if (opts.dropLast && indices.length < B) {
    fail(`dropLast with batchSize ${B} but only ${indices.length} samples: no batch ever`);
  }
  for (const i of indices) if (i < 0 || i >= set.n) fail(`index ${i} not in 0..${set.n - 1}`);

  const C = set.channels;
  if (opts.norm.mean.length !== C || opts.norm.std.length !== C) {
    const { mean, std } = opts.norm;
    fail(`norm has ${mean.length} means and ${std.length} stds, set has C=${C}`);
  }
  if (opts.norm.std.some((s) => !(s > 0))) fail(`norm.std must be positive: ${opts.norm.std}`);
  const pad = opts.augment?.cropPad ?? 0;
  if (!Number.isInteger(pad) || pad < 0) fail(`augment.cropPad ${pad} must be an integer >= 0`);
}

// ---- batch preparation (the same code in both threads) -------------------

/** Gathers, augments and normalises batches; holds no stream position. */
export class BatchPreparer {
  private orderEpoch = -1;
  private order: Int32Array;
  private readonly lut: Float32Array; // [C, 256]: normalised value of each byte

  constructor(
    readonly set: ImageSet,
    readonly indices: Int32Array,
    readonly opts: BatchOptions,
  ) {
    checkOptions(set, indices, opts);
    this.order = indices;
    const C = set.channels;
    this.lut = new Float32Array(C * 256);
    for (let c = 0; c < C; c++) {
      const { mean, std } = opts.norm;
      for (let v = 0; v < 256; v++) this.lut[c * 256 + v] = (v / 255 - mean[c]) / std[c];
    }
  }

  get count(): number {
    return this.indices.length;
  }

  /** Dataset indices in the order epoch `epoch` visits them. */
  epochOrder(epoch: number): Int32Array {
    if (!this.opts.shuffle) return this.indices;
    if (epoch !== this.orderEpoch) {
      const perm = Rng.derive(this.opts.seed, DATA_STREAM, epoch).permutation(this.count);
      this.order = Int32Array.from(perm, (k) => this.indices[k]);
      this.orderEpoch = epoch;
    }
    return this.order;
  }

  /** The batch at settled state `s`. */
  prepare(s: StreamState): Batch {
    const { height: H, width: W, channels: C } = this.set;
    const n = Math.min(this.opts.batchSize, this.count - s.position);
    const order = this.epochOrder(s.epoch);
    const x = new Float32Array(n * H * W * C); // [n, H, W, C]
    const y = new Float32Array(n);

    const aug = this.opts.augment;
    const rng = aug === null ? null : Rng.derive(this.opts.seed, AUG_STREAM, s.batches);
    for (let j = 0; j < n; j++) {
      const i = order[s.position + j];
      y[j] = this.set.labels[i];
      const v = rng === null ? NO_VIEW : drawView(rng, aug as Augment);
      this.writeImage(i, v, x, j * H * W * C);
    }
    return { x, y, n, epoch: s.epoch, index: s.batches };
  }

  // Output pixel (r, q) reads input pixel (r + dy, q' + dx), q' = q or its
  // mirror W - 1 - q; pixels outside the image are the zero padding.
  private writeImage(i: number, v: View, x: Float32Array, at: number): void {
    const { height: H, width: W, channels: C, images } = this.set;
    const lut = this.lut;
    const base = i * H * W * C;
    let o = at;
    for (let r = 0; r < H; r++) {
      const sr = r + v.dy;
      const rowIn = sr >= 0 && sr < H;
      for (let q = 0; q < W; q++) {
        const sq = (v.flip ? W - 1 - q : q) + v.dx;
        const inside = rowIn && sq >= 0 && sq < W;
        const src = base + (sr * W + sq) * C;
        for (let c = 0; c < C; c++) x[o++] = lut[c * 256 + (inside ? images[src + c] : 0)];
      }
    }
  }
}

interface View {
  readonly dy: number; // crop offset, rows, in -cropPad..cropPad
  readonly dx: number; // crop offset, columns
  readonly flip: boolean;
}

const NO_VIEW: View = { dy: 0, dx: 0, flip: false };

/** One sample's augmentation draws, in a fixed order: dy, dx, then flip. */
export function drawView(rng: Rng, aug: Augment): View {
  const P = aug.cropPad;
  const dy = P > 0 ? rng.int(2 * P + 1) - P : 0;
  const dx = P > 0 ? rng.int(2 * P + 1) - P : 0;
  const flip = aug.flip ? rng.int(2) === 1 : false;
  return { dy, dx, flip };
}

// ---- the stream ----------------------------------------------------------

/** Batches in order, from the calling thread or from a prefetching worker. */
export class BatchStream {
  private readonly prep: BatchPreparer;
  private cur: StreamState;
  private link: WorkerLink | null = null;
  private ahead: StreamState; // first state not yet requested from the worker
  private readonly pending: Promise<Batch>[] = [];
  private prefetch = 0;
  private closed = false;

  constructor(set: ImageSet, indices: Int32Array, opts: BatchOptions, state?: StreamState) {
    this.prep = new BatchPreparer(set, indices, opts);
    const s = state ?? { epoch: 0, position: 0, batches: 0 };
    checkState(s, indices.length);
    this.cur = settleState({ ...s }, indices.length, opts);
    this.ahead = this.cur;
  }

  /** Like the constructor, but batches are prepared in a worker thread. */
  static async inWorker(
    set: ImageSet,
    indices: Int32Array,
    opts: BatchOptions,
    state?: StreamState,
    options: WorkerOptions = {},
  ): Promise<BatchStream> {
    const prefetch = options.prefetch ?? 2;
    if (!Number.isInteger(prefetch) || prefetch < 1 || prefetch > 8) {
      throw new RangeError(`BatchStream.inWorker: prefetch ${prefetch} must be in 1..8`);
    }
    const stream = new BatchStream(set, indices, opts, state);
    stream.prefetch = prefetch;
    stream.link = await startWorker(set, indices, opts);
    stream.fill();
    return stream;
  }

  /** True when batches come from a worker thread. */
  get threaded(): boolean {
    return this.link !== null;
  }

  next(): Promise<Batch> {
    if (this.closed) return Promise.reject(new Error("BatchStream: next() after close()"));
    const s = this.cur;
    this.cur = advanceState(s, this.prep.count, this.prep.opts);
    if (this.link === null) {
      try {
        return Promise.resolve(this.prep.prepare(s));
      } catch (e) {
        return Promise.reject(e);
      }
    }

    const batch = this.pending.shift() as Promise<Batch>;
    this.fill();
    return batch;
  }

  /** The state after the last batch handed out (prefetched ones not counted). */
  state(): StreamState {
    return this.cur;
  }

  /**
   * Stops the worker, if any, and waits until its thread has exited. A
   * worker stream must be closed: a live worker keeps the process running.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.pending.length = 0;
    const link = this.link;
    this.link = null;
    if (link !== null) await stopWorker(link);
  }

  // Keeps `prefetch` requests queued beyond the batch being consumed.
  private fill(): void {
    const link = this.link as WorkerLink;
    while (this.pending.length < this.prefetch) {
      const p = Promise.race([link.api.prepare(this.ahead), link.failed]);
      p.catch(() => undefined); // a failure surfaces when this batch is taken
      this.pending.push(p);
      this.ahead = advanceState(this.ahead, this.prep.count, this.prep.opts);
    }
  }
}

// ---- the worker thread ---------------------------------------------------

interface WorkerLink {
  readonly worker: Worker;
  readonly api: Remote<BatchWorkerApi>;
  readonly failed: Promise<never>; // rejects if the thread errors or exits
}

/** Marks a thread as a batch worker for worker.ts. */
export const WORKER_ROLE = "fairnas.batch-worker";

// The worker runs this CommonJS bootstrap: register tsx's ESM loader, then
// import worker.ts, so the TypeScript source loads under the tsx CLI and
// under vitest alike.
const BOOTSTRAP = `
const { workerData } = require("node:worker_threads");
import(workerData.tsxApi)
  .then((tsx) => tsx.register())
  .then(() => import(workerData.entry));
`;

const require = createRequire(import.meta.url);

// comlink's adapter from a worker_threads port to its Endpoint. Its ESM build
// ships no types, so we load the UMD build (module.exports is the function).
export const nodeEndpoint = require("comlink/dist/umd/node-adapter.js") as (
  nep: NodeEndpoint,
) => Endpoint;

async function startWorker(
  set: ImageSet,
  indices: Int32Array,
  opts: BatchOptions,
): Promise<WorkerLink> {
  const workerData = {
    role: WORKER_ROLE,
    tsxApi: tsxEsmApi(),
    entry: new URL("./worker.ts", import.meta.url).href,
  };
  const worker = new Worker(BOOTSTRAP, { eval: true, workerData });
  const failed = new Promise<never>((_, reject) => {
    worker.once("error", (e) => {
      reject(new Error(`batch worker failed: ${e.message}`, { cause: e }));
    });
    worker.once("exit", (code) => reject(new Error(`batch worker exited (code ${code})`)));
  });
  failed.catch(() => undefined);

  const api = wrap<BatchWorkerApi>(nodeEndpoint(worker));
  try {
    await Promise.race([api.init(set, indices, opts), failed]);
  } catch (e) {
    await worker.terminate();
    throw e;
  }
  return { worker, api, failed };
}

// NOTE: the CommonJS build of `tsx/esm/api` fails to register (it points at
// a file tsx does not ship), so we locate the ESM build through tsx's own
// exports map; require.resolve alone would pick the CommonJS one.
function tsxEsmApi(): string {
  const pkgFile = require.resolve("tsx/package.json");
  const pkg = require(pkgFile) as {
    exports: Record<string, { import?: { default?: string } } | string>;
  };
  const entry = pkg.exports["./esm/api"];
  const rel = typeof entry === "string" ? entry : entry?.import?.default;
  if (rel === undefined) throw new Error(`${pkgFile}: no ESM entry for "./esm/api"`);
  return pathToFileURL(join(dirname(pkgFile), rel)).href;
}

async function stopWorker(link: WorkerLink): Promise<void> {
  link.api[releaseProxy]();
  await link.worker.terminate();
}
