import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
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
