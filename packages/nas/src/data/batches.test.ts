import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Rng } from "@fairnas/kernels";
import { describe, expect, it } from "vitest";
import {
  AUG_STREAM,
  type Batch,
  type BatchOptions,
  BatchStream,
  type StreamState,
} from "./batches.ts";
import type { ImageSet } from "./dataset.ts";

// A set whose label is the image index, so a batch says which samples it holds.
function makeSet(n: number, H: number, W: number, C: number): ImageSet {
  const images = new Uint8Array(n * H * W * C);
  for (let k = 0; k < images.length; k++) images[k] = (k * 29 + 7) % 256;
  const labels = Uint8Array.from({ length: n }, (_, i) => i);
  return { images, labels, n, height: H, width: W, channels: C, classes: n, source: "mem" };
}

const range = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);

function options(over: Partial<BatchOptions> & { C?: number } = {}): BatchOptions {
  const C = over.C ?? 1;
  return {
    batchSize: 3,
    shuffle: true,
    dropLast: false,
    augment: null,
    seed: 11,
    norm: { mean: new Array(C).fill(0.5), std: new Array(C).fill(0.25) },
    ...over,
  };
}

async function take(s: BatchStream, k: number): Promise<Batch[]> {
  const out: Batch[] = [];
  for (let i = 0; i < k; i++) out.push(await s.next());
  return out;
}

function expectSameBatches(a: Batch[], b: Batch[]): void {
  expect(b.length).toBe(a.length);
  for (let i = 0; i < a.length; i++) {
    expect([b[i].epoch, b[i].index, b[i].n]).toEqual([a[i].epoch, a[i].index, a[i].n]);
    expect(Array.from(b[i].y)).toEqual(Array.from(a[i].y));
    expect(Array.from(b[i].x)).toEqual(Array.from(a[i].x));
  }
}

// Reference augmentation: pad with zeros, crop at (P + dy, P + dx), mirror
// columns, then normalise; draws in the documented order dy, dx, flip.
function referenceBatch(
  set: ImageSet,
  order: number[],
  opts: BatchOptions,
  b: number,
): Float32Array {
  const { height: H, width: W, channels: C } = set;
  const P = opts.augment?.cropPad ?? 0;
  const rng = Rng.derive(opts.seed, AUG_STREAM, b);
  const out = new Float32Array(order.length * H * W * C);
  order.forEach((i, j) => {
    const dy = P > 0 ? rng.int(2 * P + 1) - P : 0;
    const dx = P > 0 ? rng.int(2 * P + 1) - P : 0;
    const flip = opts.augment?.flip ? rng.int(2) === 1 : false;
    const padded = (r: number, q: number, c: number): number => {
      const sr = r - P,
        sq = q - P;
      if (sr < 0 || sr >= H || sq < 0 || sq >= W) return 0;
      return set.images[((i * H + sr) * W + sq) * C + c];
    };
    for (let r = 0; r < H; r++) {
      for (let q = 0; q < W; q++) {
        const cq = flip ? W - 1 - q : q;
        for (let c = 0; c < C; c++) {
          const v = padded(r + P + dy, cq + P + dx, c) / 255;
          out[((j * H + r) * W + q) * C + c] = (v - opts.norm.mean[c]) / opts.norm.std[c];
        }
      }
    }
  });
  return out;
}

describe("batch order", () => {
  it("shuffle n10 B3: each epoch visits every index once in batches 3,3,3,1", async () => {
    const s = new BatchStream(makeSet(10, 2, 2, 1), range(10), options());
    const batches = await take(s, 8);
    expect(batches.map((b) => b.n)).toEqual([3, 3, 3, 1, 3, 3, 3, 1]);
    expect(batches.map((b) => b.epoch)).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    expect(batches.map((b) => b.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const e0 = batches.slice(0, 4).flatMap((b) => Array.from(b.y));
    const e1 = batches.slice(4).flatMap((b) => Array.from(b.y));
    expect([...e0].sort((a, b) => a - b)).toEqual(Array.from(range(10)));
    expect([...e1].sort((a, b) => a - b)).toEqual(Array.from(range(10)));
    expect(e0).not.toEqual(e1);
    expect(s.state()).toEqual({ epoch: 2, position: 0, batches: 8 });
  });

  it("dropLast n10 B3: three full batches per epoch", async () => {
    const s = new BatchStream(makeSet(10, 2, 2, 1), range(10), options({ dropLast: true }));
    const batches = await take(s, 6);
    expect(batches.map((b) => [b.epoch, b.n])).toEqual([
      [0, 3],
      [0, 3],
      [0, 3],
      [1, 3],
      [1, 3],
      [1, 3],
    ]);
    expect(s.state()).toEqual({ epoch: 2, position: 0, batches: 6 });
  });

  it("no shuffle n7 subset B4 keeps the index order every epoch", async () => {
    const idx = Int32Array.of(6, 2, 4, 0, 5);
    const s = new BatchStream(makeSet(7, 2, 2, 1), idx, options({ shuffle: false, batchSize: 4 }));
    const ys = (await take(s, 4)).map((b) => Array.from(b.y));
    expect(ys).toEqual([[6, 2, 4, 0], [5], [6, 2, 4, 0], [5]]);
  });

  it("x holds normalised pixels of the labelled samples H3 W2 C2", async () => {
    const set = makeSet(5, 3, 2, 2);
    const opts = options({ C: 2, norm: { mean: [0.4, 0.6], std: [0.2, 0.3] } });
    const [b] = await take(new BatchStream(set, range(5), opts), 1);
    const px = 3 * 2 * 2;
    for (let j = 0; j < b.n; j++) {
      const i = b.y[j];
      for (let k = 0; k < px; k++) {
        const c = k % 2;
        const want = (set.images[i * px + k] / 255 - opts.norm.mean[c]) / opts.norm.std[c];
        expect(b.x[j * px + k]).toBeCloseTo(want, 5);
      }
    }
  });

  it("seed 11 vs 12 give different orders, seed 11 twice the same", async () => {
    const set = makeSet(20, 1, 1, 1);
    const ys = async (seed: number): Promise<number[]> => {
      const [b] = await take(new BatchStream(set, range(20), options({ seed, batchSize: 20 })), 1);
      return Array.from(b.y);
    };
    expect(await ys(11)).toEqual(await ys(11));
    expect(await ys(11)).not.toEqual(await ys(12));
  });
});

describe("augmentation", () => {
  for (const aug of [
    { cropPad: 2, flip: true },
    { cropPad: 1, flip: false },
    { cropPad: 0, flip: true },
  ]) {
    it(`crop pad${aug.cropPad} flip ${aug.flip} matches the pad-crop-mirror reference H5 W4 C3 B4`, async () => {
      const set = makeSet(9, 5, 4, 3);
      const opts = options({ C: 3, batchSize: 4, augment: aug });
      const batches = await take(new BatchStream(set, range(9), opts), 5);
      for (const b of batches) {
        const want = referenceBatch(set, Array.from(b.y), opts, b.index);
        expect(Array.from(b.x)).toEqual(Array.from(want));
      }
    });
  }

  it("flip-only augmentation mirrors about half of 400 samples", async () => {
    const set = makeSet(200, 1, 2, 1);
    const opts = options({ batchSize: 100, augment: { cropPad: 0, flip: true }, shuffle: false });
    const plain = await take(new BatchStream(set, range(200), { ...opts, augment: null }), 4);
    const aug = await take(new BatchStream(set, range(200), opts), 4);
    let flipped = 0;
    for (let k = 0; k < 4; k++) {
      for (let j = 0; j < 100; j++) {
        const [a, b] = [plain[k].x[2 * j], plain[k].x[2 * j + 1]];
        const [p, q] = [aug[k].x[2 * j], aug[k].x[2 * j + 1]];
        if (a !== b && p === b && q === a) flipped++;
        else expect([p, q]).toEqual([a, b]);
      }
    }
    expect(flipped).toBeGreaterThan(150);
    expect(flipped).toBeLessThan(250);
  });
});

describe("restore from state", () => {
  for (const k of [0, 2, 4, 5]) {
    it(`stream n10 B3 crop2 flip stopped after ${k} batches resumes identically`, async () => {
      const set = makeSet(10, 4, 4, 1);
      const opts = options({ augment: { cropPad: 2, flip: true } });
      const whole = await take(new BatchStream(set, range(10), opts), k + 6);
      const first = new BatchStream(set, range(10), opts);
      await take(first, k);
      const state: StreamState = JSON.parse(JSON.stringify(first.state()));
      const resumed = new BatchStream(set, range(10), opts, state);
      expectSameBatches(whole.slice(k), await take(resumed, 6));
    });
  }

  it("rejects a state with position 11 for 10 samples", () => {
    const bad = { epoch: 0, position: 11, batches: 0 };
    expect(() => new BatchStream(makeSet(10, 1, 1, 1), range(10), options(), bad)).toThrow(
      /bad state .*"position":11.* for 10 samples/,
    );
  });

  it("rejects dropLast B8 with 5 samples and a 2-value norm for C1", () => {
    const set = makeSet(5, 1, 1, 1);
    expect(() => new BatchStream(set, range(5), options({ batchSize: 8, dropLast: true }))).toThrow(
      /dropLast with batchSize 8 but only 5 samples/,
    );
    const norm = { mean: [0.5, 0.5], std: [1, 1] };
    expect(() => new BatchStream(set, range(5), options({ norm }))).toThrow(
      /2 means and 2 stds, set has C=1/,
    );
  });
});

describe("worker thread", () => {
  for (const prefetch of [1, 2]) {
    it(`worker prefetch${prefetch} n10 B3 crop1 flip equals the in-thread stream over 3 epochs`, async () => {
      const set = makeSet(10, 4, 3, 2);
      const opts = options({ C: 2, augment: { cropPad: 1, flip: true } });
      const local = await take(new BatchStream(set, range(10), opts), 12);
      const remote = await BatchStream.inWorker(set, range(10), opts, undefined, { prefetch });
      try {
        expect(remote.threaded).toBe(true);
        expectSameBatches(local, await take(remote, 12));
        expect(remote.state()).toEqual({ epoch: 3, position: 0, batches: 12 });
      } finally {
        await remote.close();
      }
      await expect(remote.next()).rejects.toThrow(/next\(\) after close\(\)/);
    });
  }

  it("worker stream restored from state 5 batches in matches the in-thread one", async () => {
    const set = makeSet(10, 4, 4, 1);
    const opts = options({ augment: { cropPad: 2, flip: true } });
    const whole = await take(new BatchStream(set, range(10), opts), 10);
    const first = await BatchStream.inWorker(set, range(10), opts);
    await take(first, 5);
    const state = first.state(); // counts handed-out batches, not prefetched ones
    await first.close();
    expect(state).toEqual({ epoch: 1, position: 3, batches: 5 });
    const resumed = await BatchStream.inWorker(set, range(10), opts, state);
    try {
      expectSameBatches(whole.slice(5), await take(resumed, 5));
    } finally {
      await resumed.close();
    }
  });

  it("worker starts under the tsx CLI and the process exits after close()", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fairnas-worker-"));
    const batchesTs = fileURLToPath(new URL("./batches.ts", import.meta.url));
    const script = join(dir, "run.mts");
    await writeFile(script, tsxScript(batchesTs));
    const tsxCli = createRequire(import.meta.url).resolve("tsx/cli");
    try {
      const { code, stdout, stderr } = await runNode([tsxCli, script], 60_000);
      expect(stderr).toBe("");
      expect(code).toBe(0);
      const got = JSON.parse(stdout) as { threaded: boolean; sums: number[] };
      expect(got.threaded).toBe(true);

      const set = makeSet(10, 4, 4, 1);
      const opts = options({ augment: { cropPad: 1, flip: true } });
      const local = await take(new BatchStream(set, range(10), opts), 5);
      const sums = local.map((b) => Number(b.x.reduce((a, v) => a + v, 0).toFixed(4)));
      expect(got.sums).toEqual(sums);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// The same set and options as the test above, built in a separate process.
function tsxScript(batchesTs: string): string {
  return `
import { BatchStream } from ${JSON.stringify(batchesTs)};
const n = 10, H = 4, W = 4, C = 1;
const images = new Uint8Array(n * H * W * C);
for (let k = 0; k < images.length; k++) images[k] = (k * 29 + 7) % 256;
const labels = Uint8Array.from({ length: n }, (_, i) => i);
const set = { images, labels, n, height: H, width: W, channels: C, classes: n, source: "mem" };
const opts = { batchSize: 3, shuffle: true, dropLast: false, augment: { cropPad: 1, flip: true },
  seed: 11, norm: { mean: [0.5], std: [0.25] } };
const s = await BatchStream.inWorker(set, Int32Array.from({ length: n }, (_, i) => i), opts);
const threaded = s.threaded;
const sums = [];
for (let k = 0; k < 5; k++) {
  const b = await s.next();
  sums.push(Number(b.x.reduce((a, v) => a + v, 0).toFixed(4)));
}
await s.close();
process.stdout.write(JSON.stringify({ threaded, sums }));
`;
}

function runNode(
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`child did not exit within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
