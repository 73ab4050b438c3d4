import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { encodeCifar } from "./cifar.ts";
import {
  computeNormalization,
  DatasetError,
  DEFAULT_DATA_DIR,
  type ImageSet,
  loadDataset,
  splitTrainVal,
  drawnSubset,
} from "./dataset.ts";
import { encodeIdx } from "./idx.ts";

const root = await mkdtemp(join(tmpdir(), "fairnas-data-"));
afterAll(() => rm(root, { recursive: true, force: true }));
let dirs = 0;

async function newDir(): Promise<string> {
  const d = join(root, `d${dirs++}`);
  await mkdir(d, { recursive: true });
  return d;
}

// Pixel of image i at (r, q, c): a pattern that differs across all four.
function pixel(i: number, r: number, q: number, c: number): number {
  return (i * 37 + r * 11 + q * 3 + c * 101) % 256;
}

function images(n: number, H: number, W: number, C: number): Uint8Array {
  const out = new Uint8Array(n * H * W * C);
  let o = 0;
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < H; r++) {
      for (let q = 0; q < W; q++) for (let c = 0; c < C; c++) out[o++] = pixel(i, r, q, c);
    }
  }
  return out;
}

const labelsOf = (n: number, classes: number): Uint8Array =>
  Uint8Array.from({ length: n }, (_, i) => (i * 7) % classes);

interface IdxFixture {
  readonly nTrain: number;
  readonly nTest: number;
  readonly H: number;
  readonly W: number;
  readonly gz: boolean;
  readonly sep?: "-" | "."; // `train-images-idx3-ubyte` or `train-images.idx3-ubyte`
}

async function writeIdxDir(f: IdxFixture): Promise<string> {
  const dir = await newDir();
  const sep = f.sep ?? "-";
  const put = (name: string, bytes: Uint8Array): Promise<void> =>
    writeFile(join(dir, f.gz ? `${name}.gz` : name), f.gz ? gzipSync(bytes) : bytes);
  for (const [stem, n] of [
    ["train", f.nTrain],
    ["t10k", f.nTest],
  ] as const) {
    await put(`${stem}-images${sep}idx3-ubyte`, encodeIdx([n, f.H, f.W], images(n, f.H, f.W, 1)));
    await put(`${stem}-labels${sep}idx1-ubyte`, encodeIdx([n], labelsOf(n, 10)));
  }
  return dir;
}

function expectPattern(set: ImageSet): void {
  const { height: H, width: W, channels: C } = set;
  expect(Array.from(set.images)).toEqual(Array.from(images(set.n, H, W, C)));
}

describe("IDX datasets", () => {
  for (const gz of [false, true]) {
    it(`loads IDX n12+5 H5 W4 ${gz ? "gzip" : "raw"}`, async () => {
      const dir = await writeIdxDir({ nTrain: 12, nTest: 5, H: 5, W: 4, gz });
      const { train, test, format } = await loadDataset(dir);
      expect(format).toBe("idx");
      expect([train.n, train.height, train.width, train.channels]).toEqual([12, 5, 4, 1]);
      expect([test.n, test.height, test.width, test.channels]).toEqual([5, 5, 4, 1]);
      expect(train.classes).toBe(10);
      expect(Array.from(train.labels)).toEqual(Array.from(labelsOf(12, 10)));
      expect(Array.from(test.labels)).toEqual(Array.from(labelsOf(5, 10)));
      expectPattern(train);
      expectPattern(test);
      expect(train.source).toContain("train-images-idx3-ubyte");
    });
  }

  it("loads IDX n10+3 H3 W3 with dotted names (train-images.idx3-ubyte)", async () => {
    const dir = await writeIdxDir({ nTrain: 10, nTest: 3, H: 3, W: 3, gz: false, sep: "." });
    const { train, test } = await loadDataset(dir, { format: "idx" });
    expect([train.n, test.n]).toEqual([10, 3]);
    expectPattern(train);
  });

  it("rejects an IDX image file with bad magic, naming the file", async () => {
    const dir = await writeIdxDir({ nTrain: 4, nTest: 2, H: 2, W: 2, gz: false });
    const bad = encodeIdx([4, 2, 2], images(4, 2, 2, 1));
    bad[3] = 0x02; // rank 2: magic 0x00000802
    await writeFile(join(dir, "train-images-idx3-ubyte"), bad);
    await expect(loadDataset(dir)).rejects.toThrow(
      /train-images-idx3-ubyte: bad IDX magic 0x00000802, expected 0x00000803/,
    );
  });

  it("rejects a truncated IDX file with expected and actual bytes", async () => {
    const dir = await writeIdxDir({ nTrain: 4, nTest: 2, H: 2, W: 2, gz: true });
    const full = encodeIdx([2, 2, 2], images(2, 2, 2, 1)); // 16 + 8 bytes
    await writeFile(join(dir, "t10k-images-idx3-ubyte.gz"), gzipSync(full.subarray(0, 21)));
    await expect(loadDataset(dir)).rejects.toThrow(
      /t10k-images-idx3-ubyte\.gz: truncated: expected 24 bytes .* got 21/,
    );
  });

  it("rejects corrupt gzip, naming the file", async () => {
    const dir = await writeIdxDir({ nTrain: 4, nTest: 2, H: 2, W: 2, gz: true });
    const gz = gzipSync(encodeIdx([4], labelsOf(4, 10)));
    gz.fill(0xab, 10, gz.length - 8); // keep the gzip magic, wreck the stream
    await writeFile(join(dir, "train-labels-idx1-ubyte.gz"), gz);
    await expect(loadDataset(dir)).rejects.toThrow(/train-labels-idx1-ubyte\.gz: corrupt gzip/);
  });

  it("rejects an image/label count mismatch n4 vs n3", async () => {
    const dir = await writeIdxDir({ nTrain: 4, nTest: 2, H: 2, W: 2, gz: false });
    await writeFile(join(dir, "train-labels-idx1-ubyte"), encodeIdx([3], labelsOf(3, 10)));
    await expect(loadDataset(dir)).rejects.toThrow(
      /train-images-idx3-ubyte has 4 images but .*train-labels-idx1-ubyte has 3 labels/,
    );
  });

  it("rejects a test label outside the training classes 0..9", async () => {
    const dir = await writeIdxDir({ nTrain: 20, nTest: 2, H: 2, W: 2, gz: false });
    await writeFile(join(dir, "t10k-labels-idx1-ubyte"), encodeIdx([2], Uint8Array.of(3, 10)));
    await expect(loadDataset(dir)).rejects.toThrow(
      /t10k-labels-idx1-ubyte: label 10 at index 1 is out of range 0\.\.9/,
    );
  });

  it("names missing IDX files and the install hint", async () => {
    const dir = await writeIdxDir({ nTrain: 4, nTest: 2, H: 2, W: 2, gz: false });
    await rm(join(dir, "t10k-labels-idx1-ubyte"));
    const err = await loadDataset(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetError);
    expect((err as Error).message).toMatch(/missing IDX file\(s\) t10k-labels-idx1-ubyte/);
    expect((err as Error).message).toMatch(/dataset-fashion-mnist.*scripts\/setup\.sh.*--data DIR/);
  });

  it("names a missing directory and a hint for the format asked for", async () => {
    const dir = join(root, "no-such-dir");
    // Nothing says which format: both are named, the package for Fashion-MNIST.
    const any = ((await loadDataset(dir).catch((e: unknown) => e)) as Error).message;
    expect(any).toMatch(/no-such-dir: dataset directory does not exist; pass --data DIR/);
    expect(any).toMatch(/IDX files .*dataset-fashion-mnist.* or CIFAR-10 binary batches/);
    await expect(loadDataset(dir, { expect: "idx" })).rejects.toThrow(
      /no-such-dir: dataset directory does not exist; install Debian's dataset-fashion-mnist/,
    );
    // CIFAR-10 asked for, by the caller or the path: no Fashion-MNIST package.
    for (const [d, opts] of [
      [dir, { expect: "cifar10" }],
      [dir, { format: "cifar10" }],
      [join(root, "data", "cifar-10-batches-bin"), {}],
    ] as const) {
      const err = (await loadDataset(d, opts).catch((e: unknown) => e)) as Error;
      expect(err.message).toMatch(/does not exist; get the CIFAR-10 binary version/);
      expect(err.message).toMatch(/data_batch_1\.bin\.\.data_batch_5\.bin and test_batch\.bin/);
      expect(err.message).not.toMatch(/fashion-mnist/);
    }
  });

  it("says no dataset was found in an empty directory", async () => {
    const dir = await newDir();
    await expect(loadDataset(dir)).rejects.toThrow(/no dataset found .*--data DIR/);
  });
});

// Five training batches of `per` records each and a test batch of `nTest`.
async function writeCifarDir(per: number, nTest: number, sub: boolean): Promise<string> {
  const top = await newDir();
  const dir = sub ? join(top, "cifar-10-batches-bin") : top;
  await mkdir(dir, { recursive: true });
  const all = images(5 * per, 32, 32, 3);
  const labels = labelsOf(5 * per, 10);
  for (let b = 0; b < 5; b++) {
    const x = all.subarray(b * per * 3072, (b + 1) * per * 3072);
    const y = labels.subarray(b * per, (b + 1) * per);
    await writeFile(join(dir, `data_batch_${b + 1}.bin`), encodeCifar(x, y));
  }
  await writeFile(
    join(dir, "test_batch.bin"),
    encodeCifar(images(nTest, 32, 32, 3), labelsOf(nTest, 10)),
  );
  return top;
}

describe("CIFAR-10 datasets", () => {
  for (const sub of [false, true]) {
    const where = sub ? "under cifar-10-batches-bin/" : "at top";
    it(`loads CIFAR-10 n5x2+3 H32 W32 C3 ${where}`, async () => {
      const dir = await writeCifarDir(2, 3, sub);
      const { train, test, format } = await loadDataset(dir);
      expect(format).toBe("cifar10");
      expect([train.n, train.height, train.width, train.channels, train.classes]).toEqual([
        10, 32, 32, 3, 10,
      ]);
      expect(test.n).toBe(3);
      expectPattern(train); // planar records came back as NHWC
      expectPattern(test);
      expect(Array.from(train.labels)).toEqual(Array.from(labelsOf(10, 10)));
    });
  }

  it("decodes one planar CIFAR record to NHWC by hand", async () => {
    const dir = await writeCifarDir(1, 1, false);
    const rec = new Uint8Array(3073);
    rec[0] = 9;
    rec[1 + 0 * 1024 + 33] = 200; // red at row 1, column 1
    rec[1 + 2 * 1024 + 33] = 50; // blue at the same pixel
    await writeFile(join(dir, "test_batch.bin"), rec);
    const { test } = await loadDataset(dir, { format: "cifar10" });
    expect(test.labels[0]).toBe(9);
    expect(Array.from(test.images.subarray(33 * 3, 33 * 3 + 3))).toEqual([200, 0, 50]);
    expect(test.images.reduce((a, b) => a + b, 0)).toBe(250);
  });

  it("rejects a CIFAR file whose size is not a multiple of 3073", async () => {
    const dir = await writeCifarDir(1, 1, false);
    await writeFile(join(dir, "data_batch_3.bin"), new Uint8Array(3073 + 100));
    await expect(loadDataset(dir)).rejects.toThrow(
      /data_batch_3\.bin: size 3173 bytes is not a multiple of the 3073-byte/,
    );
  });

  it("rejects a CIFAR label of 10", async () => {
    const dir = await writeCifarDir(1, 2, false);
    const bad = encodeCifar(images(2, 32, 32, 3), Uint8Array.of(4, 10));
    await writeFile(join(dir, "test_batch.bin"), bad);
    await expect(loadDataset(dir)).rejects.toThrow(
      /test_batch\.bin: record 1 has label 10, out of range 0\.\.9/,
    );
  });

  it("names missing CIFAR batches", async () => {
    const dir = await writeCifarDir(1, 1, false);
    await rm(join(dir, "data_batch_4.bin"));
    await expect(loadDataset(dir)).rejects.toThrow(
      /missing CIFAR-10 file\(s\) data_batch_4\.bin; get the CIFAR-10 binary version/,
    );
  });
});

describe("split and normalisation", () => {
  it("splitTrainVal n100 val20 is seeded, disjoint and complete", () => {
    const a = splitTrainVal(100, 20, 5);
    const b = splitTrainVal(100, 20, 5);
    const c = splitTrainVal(100, 20, 6);
    expect([a.train.length, a.val.length]).toEqual([80, 20]);
    expect(Array.from(a.val)).toEqual(Array.from(b.val));
    expect(Array.from(a.val)).not.toEqual(Array.from(c.val));
    const all = [...a.train, ...a.val].sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it("splitTrainVal trainLimit 300 of n10000 draws at random, nested in the full split", () => {
    const full = splitTrainVal(10000, 1000, 3);
    const part = splitTrainVal(10000, 1000, 3, 300);
    expect(part.train.length).toBe(300);
    expect(Array.from(part.val)).toEqual(Array.from(full.val));
    const inFull = new Set(full.train);
    expect(part.train.every((i) => inFull.has(i))).toBe(true);
    expect(Array.from(part.train)).toEqual(Array.from(part.train).sort((x, y) => x - y));
    // A file sorted by class (10 blocks of 1000) must give every class a share;
    // the first 300 training indices would all lie in the first block.
    const perClass = new Array(10).fill(0);
    for (const i of part.train) perClass[Math.floor(i / 1000)]++;
    expect(Math.min(...perClass)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...part.train)).toBeGreaterThan(9000);
    // A limit past the end keeps every training image.
    expect(splitTrainVal(100, 20, 5, 500).train.length).toBe(80);
  });

  it("drawnSubset n50 of val1000: sorted, nested, spread over the file", () => {
    const { val, valOrder } = splitTrainVal(10000, 1000, 9);
    expect(Array.from(valOrder).sort((x, y) => x - y)).toEqual(Array.from(val));
    const a = drawnSubset(valOrder, 50);
    const b = drawnSubset(valOrder, 200);
    expect(a.length).toBe(50);
    expect(Array.from(a)).toEqual(Array.from(a).sort((x, y) => x - y));
    const inB = new Set(b);
    expect(a.every((i) => inB.has(i))).toBe(true);
    expect(Math.max(...a)).toBeGreaterThan(5000);
    expect(Array.from(a)).not.toEqual(Array.from(val.slice(0, 50)));
    expect(Array.from(drawnSubset(valOrder, 0))).toEqual(Array.from(val));
    expect(Array.from(drawnSubset(valOrder, 5000))).toEqual(Array.from(val));
  });

  it("splitTrainVal rejects trainLimit -1 and 2.5", () => {
    expect(() => splitTrainVal(100, 20, 1, -1)).toThrow(/trainLimit -1 must be an integer >= 0/);
    expect(() => splitTrainVal(100, 20, 1, 2.5)).toThrow(/trainLimit 2\.5 must be an integer/);
  });

  it("splitTrainVal rejects val101 of n100", () => {
    expect(() => splitTrainVal(100, 101, 1)).toThrow(/valSize 101 must be an integer in 0\.\.100/);
  });

  it("computeNormalization C2 matches a direct mean/std over chosen images", () => {
    const n = 3,
      H = 2,
      W = 2,
      C = 2;
    const img = images(n, H, W, C);
    const set: ImageSet = {
      images: img,
      labels: new Uint8Array(n),
      n,
      height: H,
      width: W,
      channels: C,
      classes: 1,
      source: "mem",
    };
    const norm = computeNormalization(set, Int32Array.of(0, 2));
    for (let c = 0; c < C; c++) {
      const vals: number[] = [];
      for (const i of [0, 2]) {
        for (let p = 0; p < H * W; p++) vals.push(img[(i * H * W + p) * C + c] / 255);
      }
      const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
      const std = Math.sqrt(vals.reduce((a, b) => a + (b - mean) ** 2, 0) / vals.length);
      expect(norm.mean[c]).toBeCloseTo(mean, 10);
      expect(norm.std[c]).toBeCloseTo(std, 10);
    }
  });
});

describe("real Fashion-MNIST", () => {
  it("loads Fashion-MNIST from DEFAULT_DATA_DIR: 60000/10000 28x28x1, 10 classes", async () => {
    const { train, test, format } = await loadDataset(DEFAULT_DATA_DIR);
    expect(format).toBe("idx");
    expect([train.n, train.height, train.width, train.channels, train.classes]).toEqual([
      60000, 28, 28, 1, 10,
    ]);
    expect([test.n, test.height, test.width, test.channels, test.classes]).toEqual([
      10000, 28, 28, 1, 10,
    ]);
    expect(train.images.length).toBe(60000 * 784);

    // Fashion-MNIST is balanced: 6000 training and 1000 test images per class.
    const counts = (l: Uint8Array): number[] => {
      const k = new Array<number>(10).fill(0);
      for (const v of l) k[v]++;
      return k;
    };
    expect(counts(train.labels)).toEqual(new Array(10).fill(6000));
    expect(counts(test.labels)).toEqual(new Array(10).fill(1000));

    const norm = computeNormalization(
      train,
      Int32Array.from({ length: 60000 }, (_, i) => i),
    );
    expect(norm.mean[0]).toBeCloseTo(0.286, 2);
    expect(norm.std[0]).toBeCloseTo(0.353, 2);
  });
});
