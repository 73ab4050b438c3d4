import { describe, expect, it } from "vitest";
import { memoryLogger } from "@fairnas/kernels";
import { warnIfNotLearning } from "./train.ts";

describe("warnIfNotLearning", () => {
  it("warns at loss 1025135.97 (diverged) and at 2.31 for 10 classes, naming chance and lr", () => {
    const log = memoryLogger("info");
    warnIfNotLearning(log, 1025135.9688, 10, 500);
    warnIfNotLearning(log, 2.31, 10, 0.1);
    const msgs = [...log.warnings.keys()];
    expect(msgs).toHaveLength(2);
    expect(msgs[0]).toContain("training ended at loss 1025135.9688 (moving average)");
    expect(msgs[0]).toContain("among 10 classes (2.303)");
    expect(msgs[0]).toContain("train.lr 500");
    expect(msgs[1]).toContain("loss 2.3100");
  });

  it("is quiet at loss 2.29 for 10 classes and at 0.4", () => {
    const log = memoryLogger("info");
    warnIfNotLearning(log, 2.29, 10, 0.1);
    warnIfNotLearning(log, 0.4, 10, 0.1);
    expect(log.warnings.size).toBe(0);
  });
});
