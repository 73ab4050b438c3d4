import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CheckpointError, loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";

const root = await mkdtemp(join(tmpdir(), "fairnas-ckpt-"));
afterAll(() => rm(root, { recursive: true, force: true }));

function ramp(n: number, scale: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * scale);
}

const sample = () => ({
  meta: { step: 120, arch: { "stage2.block1.kernel": 5 }, note: "é ü" },
  tensors: {
    "stem.conv.w": ramp(3 * 3 * 1 * 8, 1),
    "stem.bn.gamma": Float32Array.of(1, 2, 3), // 12 bytes: exercises alignment
    empty: new Float32Array(0),
    "head.w": ramp(64 * 10, 0.01),
  },
});

describe("checkpoint files", () => {
  it("round trips meta and 4 tensors (72, 3, 0, 640 floats)", async () => {
    const path = join(root, "a", "run.ckpt"); // parent dir is created
    const ck = sample();
    await saveCheckpoint(path, ck);
    const back = await loadCheckpoint(path);
    expect(back.meta).toEqual(ck.meta);
    expect(Object.keys(back.tensors)).toEqual(Object.keys(ck.tensors));
    for (const [name, t] of Object.entries(ck.tensors)) {
      expect(Array.from(back.tensors[name])).toEqual(Array.from(t));
    }
    expect(await readdir(join(root, "a"))).toEqual(["run.ckpt"]); // no temp file left
  });

  it("saves a tensor that is a view into a larger buffer (offset 4 floats, length 5)", async () => {
    const path = join(root, "view.ckpt");
    const big = ramp(20, 3);
    await saveCheckpoint(path, { meta: null, tensors: { v: big.subarray(4, 9) } });
    const back = await loadCheckpoint(path);
    expect(Array.from(back.tensors.v)).toEqual(Array.from(big.subarray(4, 9)));
  });

  it("detects a flipped byte in the tensor data by checksum", async () => {
    const path = join(root, "flip.ckpt");
    await saveCheckpoint(path, sample());
    const bytes = await readFile(path);
    bytes[bytes.length - 100] ^= 0x01;
    await writeFile(path, bytes);
    const err = await loadCheckpoint(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as Error).message).toContain(path);
    expect((err as Error).message).toMatch(/checksum mismatch/);
  });

  it("reports a truncated file with implied and actual sizes", async () => {
    const path = join(root, "trunc.ckpt");
    await saveCheckpoint(path, sample());
    const bytes = await readFile(path);
    await writeFile(path, bytes.subarray(0, bytes.length - 10));
    await expect(loadCheckpoint(path)).rejects.toThrow(
      new RegExp(
        `trunc\\.ckpt: truncated: header implies ${bytes.length} bytes, ` +
          `file has ${bytes.length - 10}`,
      ),
    );
    await writeFile(path, bytes.subarray(0, 20));
    await expect(loadCheckpoint(path)).rejects.toThrow(
      /truncated: 20 bytes, shorter than the 32-byte header/,
    );
  });

  it("reports format version 2 and a bad magic", async () => {
    const path = join(root, "ver.ckpt");
    await saveCheckpoint(path, sample());
    const bytes = await readFile(path);
    bytes.writeUInt32LE(2, 8);
    await writeFile(path, bytes);
    await expect(loadCheckpoint(path)).rejects.toThrow(
      /ver\.ckpt: checkpoint format version 2, this build reads version 1/,
    );
    bytes.write("NOTACKPT", 0, "latin1");
    await writeFile(path, bytes);
    await expect(loadCheckpoint(path)).rejects.toThrow(/ver\.ckpt: not a checkpoint: bad magic/);
  });

  it("names a missing checkpoint file", async () => {
    await expect(loadCheckpoint(join(root, "nope.ckpt"))).rejects.toThrow(
      /nope\.ckpt: cannot read checkpoint \(ENOENT\)/,
    );
  });

  it("a crash mid-write (stale half-written temp) leaves the previous checkpoint", async () => {
    const path = join(root, "crash.ckpt");
    const v1 = { meta: { step: 1 }, tensors: { w: ramp(100, 1) } };
    await saveCheckpoint(path, v1);

    // What a killed writer leaves behind: the first part of a newer checkpoint
    // in the temp file, never renamed.
    const tmp = `${path}.tmp-${process.pid}`;
    await saveCheckpoint(join(root, "scratch.ckpt"), {
      meta: { step: 2 },
      tensors: { w: ramp(100, 2) },
    });
    const partial = (await readFile(join(root, "scratch.ckpt"))).subarray(0, 200);
    await writeFile(tmp, partial);
    const after = await loadCheckpoint(path);
    expect(after.meta).toEqual({ step: 1 });
    expect(Array.from(after.tensors.w)).toEqual(Array.from(v1.tensors.w));

    // The next save overwrites the stale temp file and replaces the checkpoint.
    await saveCheckpoint(path, { meta: { step: 3 }, tensors: { w: ramp(100, 3) } });
    expect((await loadCheckpoint(path)).meta).toEqual({ step: 3 });
    expect((await readdir(root)).filter((f) => f.startsWith("crash.ckpt"))).toEqual(["crash.ckpt"]);
  });

  it("a save removes temp files of dead writers and keeps a live one's", async () => {
    const path = join(root, "stale.ckpt");
    // pid 2^22 + 1 is above Linux's pid_max ceiling, so no process has it.
    const dead = `${path}.tmp-${2 ** 22 + 1}`;
    const live = `${path}.tmp-${process.ppid}`;
    await writeFile(dead, "half");
    await writeFile(live, "busy");
    await saveCheckpoint(path, { meta: { step: 1 }, tensors: { w: ramp(10, 1) } });
    const names = (await readdir(root)).filter((f) => f.startsWith("stale.ckpt"));
    expect(names.sort()).toEqual(["stale.ckpt", `stale.ckpt.tmp-${process.ppid}`]);
  });

  it("a save under a regular file says so in words, naming the checkpoint", async () => {
    const file = join(root, "plain-file");
    await writeFile(file, "x");
    const path = join(file, "sub", "x.ckpt");
    await expect(saveCheckpoint(path, sample())).rejects.toThrow(
      `a part of the path is a file, not a directory while writing checkpoint ${path}; ` +
        `${path} was not written`,
    );
  });

  it("a failed save (tensor not a Float32Array) keeps the old file, no temp file", async () => {
    const path = join(root, "fail.ckpt");
    await saveCheckpoint(path, { meta: { step: 1 }, tensors: { w: ramp(8, 1) } });
    const bad = { meta: { step: 2 }, tensors: { w: [1, 2] as unknown as Float32Array } };
    await expect(saveCheckpoint(path, bad)).rejects.toThrow(/tensor "w" is not a Float32Array/);
    expect((await loadCheckpoint(path)).meta).toEqual({ step: 1 });
    expect((await readdir(root)).filter((f) => f.startsWith("fail.ckpt"))).toEqual(["fail.ckpt"]);
  });
});
