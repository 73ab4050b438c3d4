import { describe, expect, it } from "vitest";
import { setLaneSpread, spreadColumn } from "./spread.ts";

describe("lane spread", () => {
  it("maps the columns one to one for any width", () => {
    for (const spread of [1, 4, 8]) {
      for (let cols = 1; cols <= 80; cols++) {
        const seen = new Set<number>();
        for (let l = 0; l < cols; l++) seen.add(spreadColumn(l, cols, spread));
        expect(seen.size).toBe(cols);
        expect(Math.max(...seen)).toBe(cols - 1);
      }
    }
  });

  it("deals 8 lanes across the row and keeps a ragged tail in order", () => {
    const first = (cols: number) =>
      Array.from({ length: cols }, (_, l) => spreadColumn(l, cols, 8));
    expect(first(24).slice(0, 8)).toEqual([0, 3, 6, 9, 12, 15, 18, 21]);
    expect(first(24).slice(8, 10)).toEqual([1, 4]);
    expect(first(19)).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15, 16, 17, 18]);
    expect(first(6)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(Array.from({ length: 24 }, (_, l) => spreadColumn(l, 24, 1))).toEqual(
      Array.from({ length: 24 }, (_, l) => l),
    );
  });

  it("refuses a spread that is not a positive integer", () => {
    expect(() => setLaneSpread(0)).toThrow(/positive integer, got 0/);
    expect(() => setLaneSpread(2.5)).toThrow(/positive integer/);
    setLaneSpread(undefined);
  });
});
