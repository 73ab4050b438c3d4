// End-to-end: the real `nas-cli` binary on real data (Fashion-MNIST from
// Debian's package) and on broken inputs made here.

import { execFile } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const BIN = join(import.meta.dirname, "..", "packages", "cli", "bin", "nas-cli.mjs");
const FMNIST = "/usr/share/datasets/fashion-mnist";

interface CliResult {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Runs the real binary without blocking the test worker's event loop. */
function cli(args: string[], timeoutMs = 600_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      {
        encoding: "utf8",
        timeout: timeoutMs,
        env: { ...process.env, CI: "1" },
        maxBuffer: 64 << 20,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
        resolve({ code, out: stdout, err: stderr });
      },
    );
  });
}

const tmp = mkdtempSync(join(tmpdir(), "nas-e2e-"));

describe("nas-cli run --preset quick", () => {
  const dir = join(tmp, "quick");

  it("trains, scores, searches, retrains and writes the run directory", async () => {
    const run = await cli(["run", "--preset", "quick", "--out", dir]);
    expect(run.err).not.toMatch(/error/i);
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/train\.sampler\s+fair/);
    expect(run.out).toMatch(/top architectures/);
    expect(run.out).toContain(`run directory: ${dir}`);
    const files = [
      "config.json",
      "metrics.jsonl",
      "architectures.csv",
      "summary.json",
      "checkpoints/supernet.ckpt",
      "pareto.json",
      "pareto.csv",
      "report.html",
    ];
    for (const f of files) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    const csv = readFileSync(join(dir, "architectures.csv"), "utf8").trim().split("\n");
    expect(csv[0]).toBe("arch,hash,val_top1,val_loss,bn,images,madds,params");
    expect(csv).toHaveLength(5);
    const top1 = csv.slice(1).map((l) => Number(l.split(",")[2]));
    expect(Math.max(...top1)).toBeGreaterThan(0.4); // 10 classes: well above chance
    const steps = readFileSync(join(dir, "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const fair = steps.filter((r) => r.type === "fairness");
    expect(fair.length).toBeGreaterThan(0);
    for (const r of fair) expect(r.spread.every((s: number) => s === 0)).toBe(true);
    const summary = JSON.parse(readFileSync(join(dir, "summary.json"), "utf8"));
    expect(summary.pathImagesPerSec).toBeGreaterThan(0);
    expect(summary.poolHighWaterBytes).toBeGreaterThan(0);
    expect(summary.front.length).toBeGreaterThan(0);
    // summary.json's front is the one pareto.json and pareto.csv hold.
    const pareto = JSON.parse(readFileSync(join(dir, "pareto.json"), "utf8"));
    const archs = (f: { arch: string }[]) => f.map((p) => p.arch);
    expect(archs(summary.front)).toEqual(archs(pareto));
    const paretoCsv = readFileSync(join(dir, "pareto.csv"), "utf8").trim().split("\n");
    expect(paretoCsv.slice(1).map((l) => l.split(",")[1])).toEqual(archs(pareto));
    expect(summary.standalone).toHaveLength(1);
    expect(summary.standalone[0].testTop1).toBeGreaterThan(0.4);
    expect(readFileSync(join(dir, "report.html"), "utf8")).toMatch(/<svg/);
  }, 900_000);

  it("refuses to overwrite the finished run; train --resume finds it complete", async () => {
    const before = readFileSync(join(dir, "summary.json"), "utf8");
    const again = await cli(["run", "--preset", "quick", "--out", dir]);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/already holds a run.*--resume.*--overwrite/);
    expect(readFileSync(join(dir, "summary.json"), "utf8")).toBe(before);

    const resumed = await cli(["train", "--resume", "--out", dir]);
    expect(resumed.code).toBe(0);
    expect(resumed.out).toMatch(/training already complete \(\d+ steps\)/);
    const segments = readFileSync(join(dir, "metrics.jsonl"), "utf8")
      .split("\n")
      .filter((l) => l.includes('"train-segment"'));
    expect(segments).toHaveLength(1);
    const summary = JSON.parse(before);
    const seg = JSON.parse(segments[0]);
    expect(seg.step).toBe(summary.trainSteps);
    expect(seg.pathImages / seg.seconds).toBeCloseTo(summary.pathImagesPerSec, 6);
  });

  it("--help after a command prints that command's usage and exits 0", async () => {
    const r = await cli(["search", "--help"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/usage: nas-cli search --run DIR/);
    expect(r.out).toContain("--generations");
  });

  it("eval --json scores one architecture with inherited weights", async () => {
    const row = readFileSync(join(dir, "architectures.csv"), "utf8").split("\n")[1].split(",");
    const arch = row[0];
    const r = await cli(["eval", "--run", dir, "--arch", arch, "--bn", "tracked", "--json"]);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.out.trim().split("\n").pop()!);
    expect(s).toMatchObject({ arch, bn: "tracked", images: 512 });
    expect(s.top1).toBeGreaterThan(0);
    expect(s.top1).toBeLessThanOrEqual(1);
    expect(s.top1 * 512).toBeCloseTo(Math.round(s.top1 * 512), 6); // whole images of 512

    // With the run's own BN mode (recal) it repeats the run's score in architectures.csv.
    expect(row[4]).toBe("recal");
    const again = await cli(["eval", "--run", dir, "--arch", arch, "--json"]);
    expect(again.code, again.err).toBe(0);
    const recal = JSON.parse(again.out.trim().split("\n").pop()!);
    expect(recal).toMatchObject({ arch, bn: "recal", images: Number(row[5]) });
    expect(recal.top1.toFixed(6)).toBe(row[2]);
    expect(recal.loss.toFixed(6)).toBe(row[3]);
  });

  it("eval rejects unknown tokens and wrong lengths", async () => {
    const bad = await cli([
      "eval",
      "--run",
      dir,
      "--arch",
      "k3e3-k9e3-k3e3-k3e3-k3e3-k3e3-k3e3-k3e3",
    ]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/unknown token 'k9e3' at position 2 of 8 \(layer stage1\.block2\)/);
    const short = await cli(["eval", "--run", dir, "--arch", "k3e3-k3e3"]);
    expect(short.code).toBe(1);
    expect(short.err).toMatch(/space 'fmnist' expects 8 tokens, got 2/);
  });
});

describe("nas-cli errors", () => {
  it("a missing dataset says how to install it", async () => {
    const r = await cli([
      "run",
      "--preset",
      "quick",
      "--data",
      join(tmp, "nothing"),
      "--out",
      join(tmp, "x"),
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${join(tmp, "nothing")}: dataset directory does not exist`);
    expect(r.err).toMatch(/install Debian's dataset-fashion-mnist package .* or pass --data DIR/);
  });

  it("a truncated IDX file is named", async () => {
    const d = join(tmp, "broken");
    mkdirSync(d, { recursive: true });
    for (const f of [
      "train-labels-idx1-ubyte.gz",
      "t10k-images-idx3-ubyte.gz",
      "t10k-labels-idx1-ubyte.gz",
    ]) {
      copyFileSync(join(FMNIST, f), join(d, f));
    }
    writeFileSync(
      join(d, "train-images-idx3-ubyte"),
      Buffer.from([0, 0, 8, 3, 0, 0, 0, 9, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2]),
    );
    const r = await cli(["run", "--preset", "quick", "--data", d, "--out", join(tmp, "y")]);
    expect(r.code).toBe(1);
    // 9 images of 28x28 after the 16-byte header; the file stops 2 bytes in.
    expect(r.err).toContain(
      `${join(d, "train-images-idx3-ubyte")}: truncated: expected ${16 + 9 * 28 * 28} bytes`,
    );
    expect(r.err).toMatch(/, got 18\n/);
  });

  it("an invalid config names the field", async () => {
    const f = join(tmp, "bad.json");
    writeFileSync(f, JSON.stringify({ train: { batchSize: -4 } }));
    const r = await cli(["run", "--config", f, "--out", join(tmp, "z")]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/train\.batchSize/);
  });

  it("cost gives the published FairNAS-A figures", async () => {
    const arch =
      "k7e3-k3e3-k7e3-k3e6-k7e6-k3e3-k3e3-k7e6-k7e6-k5e3-" +
      "k3e6-k5e3-k5e3-k3e6-k3e6-k7e6-k3e6-k7e6-k5e6";
    const r = await cli(["cost", "--space", "fairnas", "--arch", arch, "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({
      madds: 388122848,
      params: 4608696,
      paramsWithBn: 4651352,
    });
  });
});
