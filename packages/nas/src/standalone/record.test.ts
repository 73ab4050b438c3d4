import { describe, expect, it } from "vitest";
import {
  checkComparable,
  comparisonKey,
  GroundTruthMixError,
  parseGroundTruth,
  type GroundTruthRecord,
} from "./record.ts";

function rec(arch: string, over: Partial<GroundTruthRecord> = {}): GroundTruthRecord {
  return {
    format: 1,
    kind: "standalone",
    space: "fmnist",
    spaceSignature: "abcd",
    arch,
    hash: `h-${arch}`,
    seed: 1,
    split: { valSize: 512, seed: 1, trainImages: 2048, testImages: 1000 },
    budget: { epochs: 1, batchSize: 64, lr: 0.05, steps: 32 },
    epochs: [{ epoch: 1, step: 32, loss: 1.2, top1: 0.6, valTop1: 0.7, valLoss: 0.9, seconds: 3 }],
    valTop1: 0.7,
    valLoss: 0.9,
    valImages: 512,
    testTop1: 0.69,
    testLoss: 0.95,
    madds: 1e6,
    params: 5e4,
    trainSeconds: 3,
    ...over,
  };
}

describe("ground-truth records", () => {
  it("parse accepts a well-formed record and round-trips through JSON", () => {
    const r = rec("k3e3");
    expect(parseGroundTruth("a.json", JSON.parse(JSON.stringify(r)))).toEqual(r);
  });

  it("parse names the file and field of a bad value", () => {
    const bad = { ...rec("k3e3"), testTop1: "0.5" };
    expect(() => parseGroundTruth("b.json", bad)).toThrow(/b\.json: record\.testTop1/);
    const noSplit = { ...rec("k3e3"), split: { valSize: 512, seed: 1 } };
    expect(() => parseGroundTruth("c.json", noSplit)).toThrow(/c\.json: split\.trainImages/);
    expect(() => parseGroundTruth("d.json", { ...rec("k3e3"), format: 7 })).toThrow(/format 7/);
  });

  it("records of one split, budget and seed compare", () => {
    expect(() => checkComparable([rec("a"), rec("b"), rec("c")])).not.toThrow();
    expect(comparisonKey(rec("a"))).toBe(comparisonKey(rec("b")));
  });

  it("mixing epoch budgets 1 and 2 is an error naming both", () => {
    const two = rec("b", { budget: { epochs: 2, batchSize: 64, lr: 0.05, steps: 64 } });
    expect(() => checkComparable([rec("a"), two])).toThrow(GroundTruthMixError);
    expect(() => checkComparable([rec("a"), two])).toThrow(/epochs=1[\s\S]*epochs=2/);
  });

  it("mixing splits (valSize 512 vs 1000, split seed 1 vs 2) is an error", () => {
    const otherVal = rec("b", {
      split: { valSize: 1000, seed: 1, trainImages: 2048, testImages: 1000 },
    });
    const otherSeed = rec("c", {
      split: { valSize: 512, seed: 2, trainImages: 2048, testImages: 1000 },
    });
    expect(() => checkComparable([rec("a"), otherVal])).toThrow(/valSize=1000/);
    expect(() => checkComparable([rec("a"), otherSeed])).toThrow(GroundTruthMixError);
  });

  it("mixing training seeds, or one architecture twice, is an error", () => {
    expect(() => checkComparable([rec("a"), rec("b", { seed: 2 })])).toThrow(/seed 2/);
    expect(() => checkComparable([rec("a"), rec("a")])).toThrow(/appears twice/);
  });
});
