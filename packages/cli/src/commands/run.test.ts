// `nas-cli run --resume` on a small run (quick preset, 256 training
// images) whose supernet an earlier `train` invocation trained: the time
// in summary.json covers both invocations.

import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { memoryLogger } from "@fairnas/kernels";
import { testGpu } from "@fairnas/kernels/testing";
import { main } from "../main.ts";

const gpu = await testGpu();

async function cli(args: string[]): Promise<{ code: number; text: string }> {
  const log = memoryLogger("info");
  const code = await main(args, log);
  return { code, text: log.text() };
}

function json(path: string): Record<string, number> {
  return JSON.parse(readFileSync(path, "utf8")) as Record<string, number>;
}

describe.skipIf(!gpu)("nas-cli run --resume", () => {
  it("summary.json totalSeconds adds the earlier invocations' time to this one's", async () => {
    const tmp = mkdtempSync(join(tmpdir(), "run-resume-"));
    const dir = join(tmp, "run");
    const cfg = join(tmp, "small.json");
    writeFileSync(
      cfg,
      JSON.stringify({
        train: { trainLimit: 256, valSize: 128, checkpointEvery: 0 },
        eval: { archs: 1, recalBatches: 1 },
        search: { population: 4, generations: 1, valImages: 64 },
        standalone: { archs: 0 },
      }),
    );
    const args = ["--preset", "quick", "--config", cfg, "--out", dir];
    const train = await cli(["train", ...args]);
    expect(train.code, train.text).toBe(0);
    const earlier = json(join(dir, "elapsed.json")).seconds;
    const segment = readFileSync(join(dir, "metrics.jsonl"), "utf8")
      .split("\n")
      .filter((l) => l.includes('"train-segment"'))
      .map((l) => JSON.parse(l) as { seconds: number });
    expect(segment).toHaveLength(1);
    // The train invocation's total holds its training time and a little more.
    expect(earlier).toBeGreaterThan(segment[0].seconds);

    const run = await cli(["run", "--resume", ...args]);
    expect(run.code, run.text).toBe(0);
    expect(run.text).toMatch(/training already complete/);
    const s = json(join(dir, "summary.json"));
    expect(s.invocationSeconds).toBeGreaterThan(0);
    expect(s.totalSeconds).toBeGreaterThan(segment[0].seconds + s.invocationSeconds);
    expect(s.totalSeconds).toBeCloseTo(earlier + s.invocationSeconds, 9);
    // The next --resume starts from this total.
    expect(json(join(dir, "elapsed.json")).seconds).toBe(s.totalSeconds);
  });
});
