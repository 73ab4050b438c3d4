import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { writeAtomic } from "./output.ts";

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
    expect(() => writeAtomic(join(dir, "taken"), "{}\n")).toThrow(/EISDIR/);
    expect(readdirSync(dir)).toEqual(["taken"]);
  });
});
