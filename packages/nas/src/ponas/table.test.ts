import { describe, expect, it } from "vitest";
import {
  accuracyLoss,
  type CandidateTable,
  candidateTable,
  maxLossPerLayer,
  startpoint,
} from "./table.ts";

describe("ponas candidate table", () => {
  // 3 layers x 4 choices, top-1 in percent.
  const top1 = [
    [71.2, 72.5, 70.0, 72.5],
    [69.9, 68.1, 70.4, 70.1],
    [72.0, 71.0, 71.5, 60.0],
  ];

  it("candidateTable L3 C4 finds argmax per row, ties to the lower index", () => {
    const t = candidateTable(top1);
    expect(t.layers).toBe(3);
    expect(t.choices).toBe(4);
    expect(t.best).toEqual([1, 2, 0]);
    expect(startpoint(t)).toEqual([1, 2, 0]);
  });

  it("accuracyLoss L3 C4 is best minus candidate, zero at best", () => {
    const loss = accuracyLoss(candidateTable(top1));
    const want = [
      [1.3, 0, 2.5, 0],
      [0.5, 2.3, 0, 0.3],
      [0, 1, 0.5, 12],
    ];
    loss.forEach((row, l) => row.forEach((v, c) => expect(v).toBeCloseTo(want[l][c], 12)));
    expect(loss.flat().every((v) => v >= 0)).toBe(true);
    expect(maxLossPerLayer(candidateTable(top1)).map((v) => +v.toFixed(9))).toEqual([2.5, 2.3, 12]);
  });

  it("a measured loss table takes precedence and must be >= 0", () => {
    const measured = [
      [1, 0, 2, 0.5],
      [0.2, 0.1, 0, 0.4],
      [0, 3, 1, 9],
    ];
    const t: CandidateTable = { ...candidateTable(top1), loss: measured };
    expect(accuracyLoss(t)).toEqual(measured);
    expect(maxLossPerLayer(t)).toEqual([2, 0.4, 9]);
    const bad: CandidateTable = { ...t, loss: [[1, 0, 2, -0.1], measured[1], measured[2]] };
    expect(() => accuracyLoss(bad)).toThrow(/loss\[0\]\[3\] = -0.1 < 0/);
  });

  it("rejects a wrong best and ragged rows, naming the shapes", () => {
    const t = candidateTable(top1);
    expect(() => startpoint({ ...t, best: [0, 2, 0] })).toThrow(
      /best\[0\] = 0 .* row maximum 72.5/,
    );
    expect(() => startpoint({ ...t, best: [1, 2] })).toThrow(/best has 2 entries, expected 3/);
    expect(() => candidateTable([[1, 2], [3]])).toThrow(/row 1 has 1 entries, expected 2/);
    expect(() => accuracyLoss({ ...t, layers: 4 })).toThrow(/expected 4 rows .*\[4, 4\]/);
  });
});
