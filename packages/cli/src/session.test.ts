import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Logger, type Sink } from "@fairnas/kernels";
import { main } from "./main.ts";
import { claimRunDir } from "./session.ts";

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
