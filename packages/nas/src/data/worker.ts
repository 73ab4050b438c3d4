// The batch worker thread. BatchStream.inWorker starts it through a bootstrap
// that registers tsx and then imports this module, which serves one
// BatchPreparer over comlink. Batches go back as transferred buffers; the
// images themselves are shared when the set's buffer is a SharedArrayBuffer.

import { parentPort, workerData } from "node:worker_threads";
import { expose, transfer } from "comlink";
import {
  type Batch,
  type BatchOptions,
  BatchPreparer,
  nodeEndpoint,
  type StreamState,
  WORKER_ROLE,
} from "./batches.ts";
import type { ImageSet } from "./dataset.ts";

let prep: BatchPreparer | null = null;

const api = {
  init(set: ImageSet, indices: Int32Array, opts: BatchOptions): void {
    prep = new BatchPreparer(set, indices, opts);
  },

  prepare(state: StreamState): Batch {
    if (prep === null) throw new Error("batch worker: prepare() before init()");
    const b = prep.prepare(state);
    return transfer(b, [b.x.buffer, b.y.buffer]);
  },
};

export type BatchWorkerApi = typeof api;

// Serve only when started as a batch worker, never when merely imported.
const role = (workerData as { role?: string } | null)?.role;
if (parentPort !== null && role === WORKER_ROLE) expose(api, nodeEndpoint(parentPort));
