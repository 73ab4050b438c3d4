// writeAtomic and makeDir on a full disk and a read-only mount, which a
// test cannot make for real: node:fs is mocked to fail as those do.

import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";

const fail = vi.hoisted(() => ({ write: "", mkdir: "", access: "" }));

function errno(code: string, syscall: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${syscall} (mocked)`), { code, syscall });
}

vi.mock("node:fs", async (importOriginal) => {
  const fs = await importOriginal<typeof import("node:fs")>();
  return {
    ...fs,
    writeFileSync: (...a: Parameters<typeof fs.writeFileSync>) => {
      // A full disk: the temporary is created, then the write fails part way.
      if (fail.write !== "" && String(a[0]).includes(".tmp-")) {
        fs.writeFileSync(a[0], "partial");
        throw errno(fail.write, "write");
      }
      return fs.writeFileSync(...a);
    },
    mkdirSync: (...a: Parameters<typeof fs.mkdirSync>) => {
      if (fail.mkdir !== "") throw errno(fail.mkdir, "mkdir");
      return fs.mkdirSync(...a);
    },
    accessSync: (...a: Parameters<typeof fs.accessSync>) => {
      if (fail.access !== "") throw errno(fail.access, "access");
      return fs.accessSync(...a);
    },
  };
});

const { creationBlock, makeDir, writeAtomic } = await import("./output.ts");
const { claimRunDir } = await import("./session.ts");

afterEach(() => Object.assign(fail, { write: "", mkdir: "", access: "" }));

describe("file-system errors name the path and the cause", () => {
  it("ENOSPC: no space left while writing X; the previous X is intact, no temporary left", () => {
    const dir = mkdtempSync(join(tmpdir(), "fs-errors-"));
    const file = join(dir, "summary.json");
    writeFileSync(file, "old\n");
    fail.write = "ENOSPC";
    expect(() => writeAtomic(file, "new\n")).toThrow(
      `no space left on device while writing ${file}; the previous ${file} is intact`,
    );
    expect(readFileSync(file, "utf8")).toBe("old\n");
    expect(readdirSync(dir)).toEqual(["summary.json"]);
  });

  it("ENOSPC on a new file says it was not written", () => {
    const dir = mkdtempSync(join(tmpdir(), "fs-errors-"));
    fail.write = "ENOSPC";
    expect(() => writeAtomic(join(dir, "a.json"), "{}\n")).toThrow(
      `no space left on device while writing ${join(dir, "a.json")}; ` +
        `${join(dir, "a.json")} was not written`,
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  it("a read-only mount: mkdir's misleading ENOENT becomes 'read-only file system'", () => {
    const dir = mkdtempSync(join(tmpdir(), "fs-errors-"));
    fail.mkdir = "ENOENT";
    fail.access = "EROFS";
    expect(() => makeDir(join(dir, "runs", "r1"), "run directory")).toThrow(
      `cannot create run directory ${join(dir, "runs", "r1")}: read-only file system (${dir})`,
    );
  });

  it("EACCES from mkdir itself is said in words", () => {
    const dir = mkdtempSync(join(tmpdir(), "fs-errors-"));
    fail.mkdir = "EACCES";
    expect(() => writeAtomic(join(dir, "sub", "a.json"), "{}\n")).toThrow(
      `cannot create directory ${join(dir, "sub")}: permission denied`,
    );
  });

  // Permission bits stop nothing for root, so these are mocked like the rest.
  it("EACCES writing the temporary: permission denied, the previous file intact", () => {
    const dir = mkdtempSync(join(tmpdir(), "fs-errors-"));
    const file = join(dir, "a.json");
    writeFileSync(file, "old\n");
    fail.write = "EACCES";
    expect(() => writeAtomic(file, "new\n")).toThrow(
      `cannot write ${file}: permission denied; the previous ${file} is intact`,
    );
    expect(readFileSync(file, "utf8")).toBe("old\n");
    expect(readdirSync(dir)).toEqual(["a.json"]);
  });

  it("an unwritable ancestor is named by creationBlock and claimRunDir", () => {
    const dir = mkdtempSync(join(tmpdir(), "fs-errors-"));
    fail.access = "EACCES";
    expect(creationBlock(join(dir, "a", "b"))).toBe(`permission denied (${dir})`);
    expect(() => claimRunDir(join(dir, "runs", "r1"), false, false)).toThrow(
      `cannot create run directory ${join(dir, "runs", "r1")}: permission denied (${dir})`,
    );
    expect(() => claimRunDir(dir, true, false)).toThrow(
      `cannot write to run directory ${dir}: permission denied`,
    );
  });
});
