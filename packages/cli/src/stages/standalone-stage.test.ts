import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readRecord, recordPath } from "./standalone-stage.ts";

describe("readRecord", () => {
  it("is null when there is no record", () => {
    const dir = mkdtempSync(join(tmpdir(), "sa-rec-"));
    expect(readRecord(dir, "01096f31854c")).toBeNull();
  });

  it("names a half-written record and leaves it as it was", () => {
    const dir = mkdtempSync(join(tmpdir(), "sa-rec-"));
    const path = recordPath(dir, "01096f31854c");
    const text = '{\n  "kind": "standalone",\n  "format": 1,\n  "spa';
    writeFileSync(path, text);
    expect(() => readRecord(dir, "01096f31854c")).toThrow(
      new RegExp(`^${path}: not valid JSON \\(.*\\); delete it to retrain this architecture$`),
    );
    expect(readFileSync(path, "utf8")).toBe(text);
  });
});
