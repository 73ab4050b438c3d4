import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Logger, memoryLogger, type Sink } from "@fairnas/kernels";
import { main } from "./main.ts";
import {
  checkRunDir,
  claimRunDir,
  readRunConfig,
  recalImages,
  requireSupernetRun,
  runKindOf,
  warnIfPartlyTrained,
} from "./session.ts";

function fakeRun(): string {
  const dir = mkdtempSync(join(tmpdir(), "claim-"));
  for (const f of ["config.json", "metrics.jsonl", "summary.json", "pareto.json", "notes.txt"])
    writeFileSync(join(dir, f), "{}\n");
  mkdirSync(join(dir, "checkpoints"));
  writeFileSync(join(dir, "checkpoints", "supernet.ckpt"), "x");
  return dir;
}

describe("claimRunDir", () => {
  it("accepts a new or missing directory and any resume", () => {
    const empty = mkdtempSync(join(tmpdir(), "claim-"));
    expect(() => claimRunDir(empty, false, false)).not.toThrow();
    expect(() => claimRunDir(join(empty, "missing"), false, false)).not.toThrow();
    const dir = fakeRun();
    expect(() => claimRunDir(dir, true, false)).not.toThrow();
    expect(existsSync(join(dir, "summary.json"))).toBe(true);
  });

  it("refuses a directory holding a run, naming --resume and --overwrite, and keeps it", () => {
    const dir = fakeRun();
    expect(() => claimRunDir(dir, false, false)).toThrow(
      /already holds a run.*--resume.*--overwrite/,
    );
    expect(existsSync(join(dir, "checkpoints", "supernet.ckpt"))).toBe(true);
  });

  it("--overwrite removes the earlier run's outputs and nothing else", () => {
    const dir = fakeRun();
    claimRunDir(dir, false, true);
    for (const f of ["config.json", "metrics.jsonl", "summary.json", "pareto.json", "checkpoints"])
      expect(existsSync(join(dir, f)), f).toBe(false);
    expect(existsSync(join(dir, "notes.txt"))).toBe(true);
  });
});

describe("--resume of the other kind of run", () => {
  const capture = () => {
    const lines: string[] = [];
    const sink: Sink = { write: (s: string) => (lines.push(s), true) } as Sink;
    return { log: new Logger(sink, sink), text: () => lines.join("") };
  };

  it("a PONAS run is not resumed by run or train, and its metrics stay", async () => {
    const dir = mkdtempSync(join(tmpdir(), "claim-"));
    writeFileSync(join(dir, "config.json"), "{}\n");
    const metrics = '{"type":"step","stage":"ponas-meta","step":8}\n';
    writeFileSync(join(dir, "metrics.jsonl"), metrics);
    writeFileSync(join(dir, "ponas-table.json"), "{}\n");
    for (const args of [["run"], ["train"]]) {
      const c = capture();
      expect(await main([...args, "--out", dir, "--resume"], c.log), args[0]).toBe(2);
      expect(c.text()).toContain(
        `error: --resume: ${dir} holds a PONAS run (ponas-table.json); continue it with ` +
          "`nas-cli ponas --resume` or `nas-cli run --mode ponas --resume`",
      );
    }
    expect(readFileSync(join(dir, "metrics.jsonl"), "utf8")).toBe(metrics);
  });

  it("a supernet run is not resumed by ponas or run --mode ponas", async () => {
    const dir = fakeRun();
    for (const args of [["ponas"], ["run", "--mode", "ponas"]]) {
      const c = capture();
      expect(await main([...args, "--out", dir, "--resume"], c.log), args.join(" ")).toBe(2);
      expect(c.text()).toContain(
        `error: --resume: ${dir} holds a supernet run (${join("checkpoints", "supernet.ckpt")})`,
      );
    }
    expect(readFileSync(join(dir, "metrics.jsonl"), "utf8")).toBe("{}\n");
    expect(() => claimRunDir(dir, true, false, "supernet")).not.toThrow();
  });
});

describe("run directories that cannot be made", () => {
  it("an empty --out is refused before mkdir('') can fail", () => {
    expect(() => claimRunDir("", false, false)).toThrow("--out is empty; name the run directory");
  });

  it("an --out under a regular file names that file and leaves it", () => {
    const dir = mkdtempSync(join(tmpdir(), "claim-"));
    writeFileSync(join(dir, "summary.json"), "{}\n");
    const out = join(dir, "summary.json", "r1");
    expect(() => claimRunDir(out, false, false)).toThrow(
      `${out} lies under ${join(dir, "summary.json")}, a file, not a directory`,
    );
    expect(readFileSync(join(dir, "summary.json"), "utf8")).toBe("{}\n");
  });
});

describe("run directory errors say what the path is", () => {
  it("a missing directory, a file, config.json itself", () => {
    const dir = mkdtempSync(join(tmpdir(), "rundir-"));
    writeFileSync(join(dir, "config.json"), "{}\n");
    expect(() => checkRunDir(join(dir, "nope"))).toThrow(
      `run directory ${join(dir, "nope")} does not exist`,
    );
    expect(() => readRunConfig(join(dir, "config.json"))).toThrow(
      `${join(dir, "config.json")} is a file, not a run directory; name its directory, ${dir}`,
    );
    const empty = mkdtempSync(join(tmpdir(), "rundir-"));
    expect(() => readRunConfig(empty)).toThrow(`${empty} is not a run directory (no config.json)`);
  });

  it("tells a supernet run from a PONAS run", () => {
    const ponas = mkdtempSync(join(tmpdir(), "rundir-"));
    writeFileSync(join(ponas, "ponas-table.json"), "{}\n");
    expect(runKindOf(ponas)).toEqual({ kind: "ponas", file: "ponas-table.json" });
    expect(runKindOf(fakeRun())?.kind).toBe("supernet");
    expect(runKindOf(mkdtempSync(join(tmpdir(), "rundir-")))).toBeNull();
    expect(() => requireSupernetRun(ponas, "eval")).toThrow(
      new RegExp(`${ponas} is a PONAS run \\(ponas-table\\.json\\), and eval needs a supernet run`),
    );
    expect(() => requireSupernetRun(fakeRun(), "eval")).not.toThrow();
  });
});

describe("recalImages", () => {
  it("B 64: whole batches, at least one, at most what the training images fill", () => {
    expect(recalImages(1000, 64, 8)).toBe(512);
    expect(recalImages(1000, 64, 100)).toBe(960);
    expect(recalImages(1000, 64, 1)).toBe(64);
    expect(recalImages(50, 64, 4)).toBe(50);
  });
});

describe("warnIfPartlyTrained", () => {
  it("warns at step 32 of 96 naming the checkpoint and --resume; quiet at 96 of 96", () => {
    const log = memoryLogger("info");
    warnIfPartlyTrained(log, "runs/q", 32, 96);
    warnIfPartlyTrained(log, "runs/q", 96, 96);
    const msgs = [...log.warnings.keys()];
    expect(msgs).toHaveLength(1);
    expect(msgs[0]).toContain(
      `${join("runs/q", "checkpoints", "supernet.ckpt")} is at step 32 of 96`,
    );
    expect(msgs[0]).toContain("`nas-cli train --out runs/q --resume` finishes it");
  });
});
