import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { memoryLogger } from "@fairnas/kernels";
import { creationBlock, makeDir, progress, writeAtomic } from "./output.ts";

describe("writeAtomic", () => {
  it("writes the file and leaves no temporary", () => {
    const dir = mkdtempSync(join(tmpdir(), "atomic-"));
    writeAtomic(join(dir, "a.json"), "{}\n");
    expect(readFileSync(join(dir, "a.json"), "utf8")).toBe("{}\n");
    expect(readdirSync(dir)).toEqual(["a.json"]);
  });

  it("removes its temporary when the rename fails", () => {
    const dir = mkdtempSync(join(tmpdir(), "atomic-"));
    mkdirSync(join(dir, "taken"));
    expect(() => writeAtomic(join(dir, "taken"), "{}\n")).toThrow(
      `cannot write ${join(dir, "taken")}: it is a directory`,
    );
    expect(readdirSync(dir)).toEqual(["taken"]);
  });

  it("under a regular file: names the file, not ENOTDIR", () => {
    const dir = mkdtempSync(join(tmpdir(), "atomic-"));
    const file = join(dir, "summary.json");
    writeFileSync(file, "precious\n");
    expect(() => writeAtomic(join(file, "run", "a.json"), "{}\n")).toThrow(
      `cannot create directory ${join(file, "run")}: ${file} is a file, not a directory`,
    );
    expect(readFileSync(file, "utf8")).toBe("precious\n");
    expect(readdirSync(dir)).toEqual(["summary.json"]);
  });
});

describe("creationBlock", () => {
  it("is null for a new path under a writable directory and names what stands in the way", () => {
    const dir = mkdtempSync(join(tmpdir(), "block-"));
    writeFileSync(join(dir, "f"), "");
    expect(creationBlock(join(dir, "new", "deeper"))).toBeNull();
    expect(creationBlock(dir)).toBeNull();
    expect(creationBlock(join(dir, "f"))).toBe(`${join(dir, "f")} is a file, not a directory`);
    expect(creationBlock(join(dir, "f", "x"))).toBe(`${join(dir, "f")} is a file, not a directory`);
    expect(creationBlock("")).toBe("the path is empty");
    expect(() => makeDir("")).toThrow("cannot create directory '': the path is empty");
  });
});

describe("makeDir where the file system takes no new entries", () => {
  // A recursive mkdir under /proc retried forever and blocked even SIGTERM
  // (a regression hangs past the test timeout).
  it.runIf(process.platform === "linux")("/proc/nasrun fails at once, in words", () => {
    expect(() => makeDir("/proc/nasrun/checkpoints", "run directory")).toThrow(
      "cannot create run directory /proc/nasrun/checkpoints: /proc takes no new entries",
    );
  });
});

describe("progress on a pipe", () => {
  const pipe = { isTTY: false } as NodeJS.WriteStream;
  const printed = (from: number, to: number, total: number, every: number): number[] => {
    const log = memoryLogger("info");
    const bar = progress(log, total, every, pipe);
    for (let d = from; d <= to; d++) bar.update(d, `step ${d}`);
    bar.done();
    return [...log.text().matchAll(/step (\d+)/g)].map((m) => Number(m[1]));
  };

  it("prints steps 8, 16, 20 of 20 with every 8", () => {
    expect(printed(1, 20, 20, 8)).toEqual([8, 16, 20]);
  });

  it("resumed at step 65 prints 72, 80, ... as metrics.jsonl records them, not 65, 73", () => {
    expect(printed(65, 90, 90, 8)).toEqual([72, 80, 88, 90]);
  });
});
