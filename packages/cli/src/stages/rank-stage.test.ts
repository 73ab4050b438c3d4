// nas-cli rank and train-arch through the real binary on a small Fashion-MNIST
// run: trained supernet, rank with a stratified sample, record reuse, and the
// refusal to mix budgets.

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { getSpace, resolveSpace } from "@fairnas/nas";
import { readArchFile } from "./rank-stage.ts";

const BIN = join(import.meta.dirname, "..", "..", "bin", "nas-cli.mjs");
const FMNIST = "/usr/share/datasets/fashion-mnist";

// Asynchronous, so the test worker keeps answering vitest while the CLI runs.
function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, CI: "1" },
      timeout: 600_000,
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("close", (code) => resolve({ code: code ?? -1, out, err }));
  });
}

const tmp = mkdtempSync(join(tmpdir(), "nas-rank-"));

/** Kendall tau-b by its definition over all pairs, written out here. */
function tauB(x: readonly number[], y: readonly number[]): number {
  let concordant = 0;
  let discordant = 0;
  let tiesX = 0;
  let tiesY = 0;
  for (let i = 0; i < x.length; i++) {
    for (let j = i + 1; j < x.length; j++) {
      const s = Math.sign(x[i] - x[j]) * Math.sign(y[i] - y[j]);
      if (s > 0) concordant++;
      else if (s < 0) discordant++;
      if (x[i] === x[j]) tiesX++;
      if (y[i] === y[j]) tiesY++;
    }
  }
  const pairs = (x.length * (x.length - 1)) / 2;
  return (concordant - discordant) / Math.sqrt((pairs - tiesX) * (pairs - tiesY));
}

describe("readArchFile", () => {
  const space = resolveSpace(getSpace("fmnist"));
  const a = "k3e3-k3e3-k3e3-k3e3-k3e3-k3e3-k3e3-k3e3";
  const b = "k5e3-k3e3-k3e3-k3e3-k3e3-k3e3-k3e3-k3e3";
  const c = "k7e6-k3e3-k3e3-k3e3-k3e3-k3e3-k3e3-k3e3";
  const file = (name: string, text: string) => {
    const f = join(tmp, name);
    writeFileSync(f, text);
    return f;
  };

  it("reads one architecture per line, skipping blanks and comments", () => {
    const archs = readArchFile(space, file("ok.txt", `# three\n${a}\n\n${b} # second\n${c}\n`));
    expect(archs.map((x) => x[0])).toEqual([0, 2, 5]);
  });

  it("names the file line of a bad token and of a repeat", () => {
    expect(() => readArchFile(space, file("bad.txt", `${a}\n\nk9e3${b.slice(4)}\n`))).toThrow(
      /bad\.txt: line 3: .*k9e3/,
    );
    expect(() => readArchFile(space, file("dup.txt", `${a}\n${b}\n# c\n${a}\n`))).toThrow(
      /dup\.txt: line 4 repeats the architecture of line 1/,
    );
  });

  it("refuses fewer than 3 architectures", () => {
    expect(() => readArchFile(space, file("two.txt", `${a}\n${b}\n`))).toThrow(/2 architecture/);
    expect(() => readArchFile(space, file("none.txt", "# nothing\n"))).toThrow(/0 architecture/);
  });
});
const config = join(tmp, "tiny.json");
writeFileSync(
  config,
  JSON.stringify({
    train: { trainLimit: 512, valSize: 256, batchSize: 32, logEvery: 8, checkpointEvery: 0 },
    eval: { archs: 3, recalBatches: 1, batchSize: 256 },
    standalone: { batchSize: 32, epochs: 2 },
  }),
);

describe.skipIf(!existsSync(FMNIST))("nas-cli rank on a quick run (train 512, val 256)", () => {
  const dir = join(tmp, "run");

  const files = "ranking.csv, ranking.json (n 5 per BN mode) and similarity.json";
  it(`rank --archs 5 --bn both writes ${files}`, async () => {
    const run = await cli(["run", "--preset", "quick", "--config", config, "--out", dir]);
    expect(run.code, run.err).toBe(0);
    const r = await cli([
      "rank",
      "--run",
      dir,
      "--archs",
      "5",
      "--test-images",
      "500",
      "--similarity",
      "--resamples",
      "200",
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.out + r.err).toContain("only 5 architectures: a bootstrap interval needs about 10");
    const csv = readFileSync(join(dir, "ranking.csv"), "utf8").trim().split("\n");
    expect(csv).toHaveLength(1 + 2 * 5);
    const runArchs = new Set(
      readFileSync(join(dir, "architectures.csv"), "utf8")
        .trim()
        .split("\n")
        .slice(1)
        .map((l) => l.split(",")[0]),
    );
    for (const line of csv.slice(1)) expect(runArchs.has(line.split(",")[0])).toBe(false);
    const panels = JSON.parse(readFileSync(join(dir, "ranking.json"), "utf8"));
    expect(panels.map((p: { bn: string }) => p.bn)).toEqual(["recal", "tracked"]);
    // Each panel pairs ranking.csv's supernet score with the stand-alone record's
    // test top-1, and its tau-b and gap follow from those points.
    const rows = csv.slice(1).map((l) => l.split(","));
    type Point = { arch: string; supernet: number; standalone: number };
    for (const p of panels) {
      expect(p.n).toBe(5);
      expect(p.points).toHaveLength(5);
      for (const pt of p.points as Point[]) {
        const row = rows.find((r) => r[0] === pt.arch && r[4] === p.bn)!;
        expect(pt.supernet.toFixed(6)).toBe(row[5]);
        const rec = JSON.parse(readFileSync(join(dir, "standalone", `${row[1]}.json`), "utf8"));
        expect(pt.standalone).toBe(rec.testTop1);
        expect(pt.standalone.toFixed(6)).toBe(row[7]);
      }
      const x = p.points.map((pt: Point) => pt.supernet);
      const y = p.points.map((pt: Point) => pt.standalone);
      expect(p.tauB.value).toBeCloseTo(tauB(x, y), 12);
      const gap = p.points.reduce((s: number, pt: Point) => s + pt.standalone - pt.supernet, 0);
      expect(p.gap).toBeCloseTo(gap / 5, 12);
      expect(p.tauB.lo).toBeLessThanOrEqual(p.tauB.value);
      expect(p.tauB.hi).toBeGreaterThanOrEqual(p.tauB.value);
      expect(Math.abs(p.spearman)).toBeLessThanOrEqual(1);
    }
    // Both BN modes score the same 5 architectures against the same records.
    expect(panels[0].points.map((pt: Point) => pt.arch).sort()).toEqual(
      panels[1].points.map((pt: Point) => pt.arch).sort(),
    );
    const sim = JSON.parse(readFileSync(join(dir, "similarity.json"), "utf8"));
    expect(sim[0].layer).toBe("stage1.block1");
    expect(sim[0].matrix).toHaveLength(6);
    const records = readFileSync(join(dir, "ranking.csv"), "utf8")
      .trim()
      .split("\n")
      .slice(1)
      .map((l) => l.split(",")[1]);
    for (const h of records) expect(existsSync(join(dir, "standalone", `${h}.json`))).toBe(true);
  }, 900_000);

  it("rank again reuses the records; with --epochs 1 it refuses to mix budgets", async () => {
    const again = await cli([
      "rank",
      "--run",
      dir,
      "--archs",
      "5",
      "--test-images",
      "500",
      "--bn",
      "tracked",
      "--resamples",
      "200",
    ]);
    expect(again.code, again.err).toBe(0);
    expect(again.out.match(/reusing/g)).toHaveLength(5);
    // similarity.json is not named: this rank does not compute it (no --similarity).
    const said = `${again.err}\n${again.out}`;
    expect(said).toMatch(/this rank will replace ranking\.json, ranking\.csv in /);
    expect(said).not.toMatch(/will replace.*similarity/);
    const mixed = await cli([
      "rank",
      "--run",
      dir,
      "--archs",
      "5",
      "--test-images",
      "500",
      "--epochs",
      "1",
    ]);
    expect(mixed.code).toBe(1);
    expect(mixed.err).toMatch(/cannot be mixed[\s\S]*epochs=2[\s\S]*epochs=1/);
  }, 600_000);

  it("train-arch --run writes a record whose budget and split are stated", async () => {
    const arch = "k5e6-k3e3-k7e3-k3e6-k5e3-k7e6-k3e3-k3e3";
    const r = await cli([
      "train-arch",
      "--run",
      dir,
      "--arch",
      arch,
      "--epochs",
      "1",
      "--test-images",
      "200",
    ]);
    expect(r.code, r.err).toBe(0);
    const file = r.out.match(/record: (\S+)/)![1];
    const rec = JSON.parse(readFileSync(file, "utf8"));
    expect(rec).toMatchObject({
      arch,
      seed: 1,
      budget: { epochs: 1, batchSize: 32 },
      split: { valSize: 256, seed: 1, trainImages: 512, testImages: 200 },
    });
    expect(rec.epochs).toHaveLength(1);
  }, 600_000);
});
