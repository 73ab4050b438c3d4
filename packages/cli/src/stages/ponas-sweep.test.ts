import { describe, expect, it } from "vitest";
import { memoryLogger } from "@fairnas/kernels";
import { warnBelowChance } from "./ponas-sweep.ts";

describe("warnBelowChance", () => {
  it("names how many predictions lie below 10% for 10 classes, and the lowest", () => {
    const log = memoryLogger("info");
    warnBelowChance(log, [0.0156, 0.09, 0.5, 0.75], 10);
    const msgs = [...log.warnings.keys()];
    expect(msgs).toHaveLength(1);
    expect(msgs[0]).toContain("2 predicted top-1 value(s) lie below chance (10.00%, 10 classes)");
    expect(msgs[0]).toContain("lowest 1.56%");
  });

  it("is quiet at or above chance, and without a class count", () => {
    const log = memoryLogger("info");
    warnBelowChance(log, [0.1, 0.5], 10);
    warnBelowChance(log, [0.01], null);
    expect(log.warnings.size).toBe(0);
  });
});
