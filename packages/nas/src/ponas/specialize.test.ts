import { describe, expect, it } from "vitest";
import { Rng } from "@fairnas/kernels";
import {
  type Budget,
  type SpecializeInput,
  type Specialized,
  specializeExact,
  specializeGreedy,
  sweep,
} from "./specialize.ts";
import { accuracyLoss, candidateTable } from "./table.ts";

// ---------------------------------------------------------------------------
// Brute force over every architecture, written independently of the solver.

function within(v: number, b: Budget): boolean {
  const t = (x: number) => 1e-9 * Math.max(1, Math.abs(x));
  if (b.max !== undefined && v > b.max + t(b.max)) return false;
  if (b.min !== undefined && v < b.min - t(b.min)) return false;
  return true;
}

function costOf(input: SpecializeInput, key: string, arch: readonly number[]): number {
  let v = input.base[key] ?? 0;
  arch.forEach((c, l) => (v += input.costs[key][l][c]));
  return v;
}

function* allArchs(sizes: readonly number[]): Generator<number[]> {
  const arch = sizes.map(() => 0);
  for (;;) {
    yield arch.slice();
    let l = sizes.length - 1;
    while (l >= 0 && ++arch[l] === sizes[l]) arch[l--] = 0;
    if (l < 0) return;
  }
}

function meets(input: SpecializeInput, arch: readonly number[]): boolean {
  return input.budgets.every((b) => within(costOf(input, b.key, arch), b));
}

function bruteForce(input: SpecializeInput): number | null {
  let best: number | null = null;
  for (const arch of allArchs(input.loss.map((r) => r.length))) {
    if (!meets(input, arch)) continue;
    const loss = arch.reduce((s, c, l) => s + input.loss[l][c], 0);
    if (best === null || loss < best) best = loss;
  }
  return best;
}

// ---------------------------------------------------------------------------
// Random problems.

type BoundKind = "max" | "min" | "both";

function randomGrid(rng: Rng, sizes: readonly number[], integer: boolean): number[][] {
  return sizes.map((C) =>
    Array.from({ length: C }, () => (integer ? rng.int(5) : 0.5 + 10 * rng.next())),
  );
}

/** Costs of a random arch: bounds drawn this way are often but not always feasible. */
function randomArchCost(rng: Rng, input: Omit<SpecializeInput, "budgets">, key: string): number {
  const arch = input.loss.map((row) => rng.int(row.length));
  let v = input.base[key];
  arch.forEach((c, l) => (v += input.costs[key][l][c]));
  return v;
}

function randomProblem(rng: Rng, keys: number, kind: BoundKind): SpecializeInput {
  const layers = 1 + rng.int(4);
  const sizes = Array.from({ length: layers }, () => 3 + rng.int(2));
  const integer = rng.next() < 0.4; // integer costs and losses make ties
  // Loss relative to the best of each row, as accuracyLoss gives it; rows
  // may differ in length here, which CandidateTable does not allow.
  const loss = randomGrid(rng, sizes, integer).map((r) => r.map((v) => v - Math.min(...r)));
  const names = ["madds", "params"].slice(0, keys);
  const partial = {
    loss,
    costs: Object.fromEntries(names.map((k) => [k, randomGrid(rng, sizes, integer)])),
    base: Object.fromEntries(names.map((k) => [k, integer ? 2 : 3.7])),
  };
  const budgets = names.map((key): Budget => {
    const a = randomArchCost(rng, partial, key) + (rng.next() - 0.5);
    const b = randomArchCost(rng, partial, key);
    if (kind === "max") return { key, max: a };
    if (kind === "min") return { key, min: a };
    // Half wide (feasible), half a narrow window that may hold no arch.
    if (rng.next() < 0.5) return { key, min: Math.min(a, b), max: Math.max(a, b) + rng.int(3) };
    return { key, min: a, max: a + 0.5 * rng.next() };
  });
  return { ...partial, budgets };
}

function expectSound(input: SpecializeInput, r: Specialized, label: string): void {
  if (!r.feasible) return;
  expect(meets(input, r.arch), `${label}: arch ${r.arch} violates a budget`).toBe(true);
  const loss = r.arch.reduce((s, c, l) => s + input.loss[l][c], 0);
  expect(r.predictedLoss, label).toBeCloseTo(loss, 12);
  for (const b of input.budgets) {
    expect(r.costs[b.key], label).toBeCloseTo(costOf(input, b.key, r.arch), 12);
  }
}

// ---------------------------------------------------------------------------

describe("specializeExact vs brute force", () => {
  const cases: [number, BoundKind][] = [
    [1, "max"],
    [1, "min"],
    [1, "both"],
    [2, "max"],
    [2, "min"],
    [2, "both"],
  ];
  for (const [keys, kind] of cases) {
    it(`L1-4 C3-4 keys${keys} ${kind}: 400 random tables`, () => {
      let feasibleCount = 0;
      for (let seed = 0; seed < 400; seed++) {
        const rng = new Rng(seed, 100 + keys, kind.length);
        const input = randomProblem(rng, keys, kind);
        const label = `seed ${seed} keys${keys} ${kind}`;
        const want = bruteForce(input);
        const got = specializeExact(input);
        expect(got.feasible, label).toBe(want !== null);
        if (got.feasible && want !== null) {
          feasibleCount++;
          expect(Math.abs(got.predictedLoss - want), label).toBeLessThan(1e-9);
        }
        expectSound(input, got, label);
      }
      // The draw must exercise both outcomes.
      expect(feasibleCount).toBeGreaterThan(40);
      expect(feasibleCount).toBeLessThan(400);
    });
  }
});

describe("specializeGreedy", () => {
  for (const kind of ["max", "min"] as const) {
    it(`L1-4 C3-4 keys1 ${kind}: feasible whenever exact is, never better`, () => {
      for (let seed = 0; seed < 400; seed++) {
        const input = randomProblem(new Rng(seed, 200, kind.length), 1, kind);
        const label = `seed ${seed} ${kind}`;
        const exact = specializeExact(input);
        const greedy = specializeGreedy(input);
        expect(greedy.feasible, label).toBe(exact.feasible);
        expectSound(input, greedy, label);
        if (exact.feasible && greedy.feasible) {
          expect(greedy.predictedLoss, label).toBeGreaterThanOrEqual(exact.predictedLoss - 1e-9);
        }
      }
    });
  }

  it("19x12 keys1 max: greedy feasible at every sweep budget, >= exact", () => {
    const input = bigTable(new Rng(5), 19, 12, ["madds"]);
    for (const pt of sweep(input, "madds", 12)) {
      expect(pt.exact.feasible && pt.greedy.feasible, `budget ${pt.budget}`).toBe(true);
      if (pt.exact.feasible && pt.greedy.feasible) {
        expect(pt.greedy.predictedLoss).toBeGreaterThanOrEqual(pt.exact.predictedLoss - 1e-9);
        expect(pt.greedy.costs.madds).toBeLessThanOrEqual(pt.budget * (1 + 1e-9));
      }
    }
  });

  for (const [keys, kind] of [
    [2, "max"],
    [1, "both"],
    [2, "both"],
  ] as const) {
    it(`L1-4 C3-4 keys${keys} ${kind}: sound, never better than exact`, () => {
      let misses = 0;
      let exactFeasible = 0;
      for (let seed = 0; seed < 400; seed++) {
        const input = randomProblem(new Rng(seed, 300 + keys, kind.length), keys, kind);
        const exact = specializeExact(input);
        const greedy = specializeGreedy(input);
        expectSound(input, greedy, `seed ${seed}`);
        if (greedy.feasible) expect(exact.feasible, `seed ${seed}`).toBe(true);
        if (exact.feasible) exactFeasible++;
        if (exact.feasible && !greedy.feasible) misses++;
        if (exact.feasible && greedy.feasible) {
          expect(greedy.predictedLoss).toBeGreaterThanOrEqual(exact.predictedLoss - 1e-9);
        }
      }
      // Documented weakness: with several keys or a two-sided bound greedy
      // can miss a feasible arch (narrow windows are subset-sum-like).
      // Keep it under 15% of the feasible cases on these small tables.
      expect(exactFeasible).toBeGreaterThan(100);
      expect(misses / exactFeasible).toBeLessThan(0.15);
    });
  }
});

describe("infeasible budgets and binding", () => {
  // 2 layers x 3 choices; cheapest madds = 10 + 1 + 2 = 13.
  const input: Omit<SpecializeInput, "budgets"> = {
    loss: [
      [0, 0.4, 1.5],
      [0.8, 0, 0.3],
    ],
    costs: {
      madds: [
        [5, 3, 1],
        [2, 6, 4],
      ],
      params: [
        [1, 1, 1],
        [1, 2, 1],
      ],
    },
    base: { madds: 10, params: 0.5 },
  };

  it("L2 C3 madds max 12.5 is infeasible, message names the minimum 13", () => {
    for (const f of [specializeExact, specializeGreedy]) {
      const r = f({ ...input, budgets: [{ key: "madds", max: 12.5 }] });
      if (r.feasible) throw new Error("madds max 12.5 must be infeasible");
      expect(r.message).toMatch(/madds max 12.5 is below the minimum achievable madds 13/);
      expect(r.minimum).toEqual({ madds: 13 });
    }
  });

  it("L2 C3 madds min 30 is infeasible, message names the maximum 21", () => {
    const r = specializeExact({ ...input, budgets: [{ key: "madds", min: 30 }] });
    if (r.feasible) throw new Error("madds min 30 must be infeasible");
    expect(r.message).toMatch(/madds min 30 is above the maximum achievable madds 21/);
  });

  it("a bound just past the achievable range prints both numbers exactly", () => {
    const big = { ...input, base: { madds: 2369000, params: 0.5 } };
    const hi = specializeExact({ ...big, budgets: [{ key: "madds", min: 2369012 }] });
    if (hi.feasible) throw new Error("madds min 2369012 must be infeasible");
    expect(hi.message).toMatch(/madds min 2369012 is above the maximum achievable madds 2369011/);
    const lo = specializeExact({ ...big, budgets: [{ key: "madds", max: 2369002 }] });
    if (lo.feasible) throw new Error("madds max 2369002 must be infeasible");
    expect(lo.message).toMatch(/madds max 2369002 is below the minimum achievable madds 2369003/);
  });

  it("L2 C3 madds max 13 params min 3.4: joint infeasibility is named", () => {
    // madds <= 13 forces [2, 0] (params 2.5); params >= 3.4 forces layer-1
    // choice 1 (madds >= 17). Each bound alone is achievable.
    const r = specializeExact({
      ...input,
      budgets: [
        { key: "madds", max: 13 },
        { key: "params", min: 3.4 },
      ],
    });
    if (r.feasible) throw new Error("the pair must be infeasible");
    expect(r.message).toMatch(/no architecture meets all budgets together/);
    expect(r.message).toMatch(/madds 13, params 2.5/);
  });

  it("L2 C3 madds max 15: exact arch [1,0] loss 1.2 bound by madds", () => {
    const r = specializeExact({ ...input, budgets: [{ key: "madds", max: 15 }] });
    if (!r.feasible) throw new Error(r.message);
    // Options within 15: [1,0] 15 loss 1.2; [2,0] 13 loss 2.3; [2,2] 15 loss 1.8.
    expect(r.arch).toEqual([1, 0]);
    expect(r.predictedLoss).toBeCloseTo(1.2, 12);
    expect(r.costs).toEqual({ madds: 15, params: 2.5 });
    expect(r.binding).toBe("madds");
  });

  it("L2 C3 loose budget: startpoint [0,1], loss 0, binding null", () => {
    const r = specializeExact({ ...input, budgets: [{ key: "madds", max: 100 }] });
    if (!r.feasible) throw new Error(r.message);
    expect(r.arch).toEqual([0, 1]);
    expect(r.predictedLoss).toBe(0);
    expect(r.binding).toBeNull();
  });

  it("rejects unknown budget keys and shape mismatches by name", () => {
    expect(() => specializeExact({ ...input, budgets: [{ key: "latencyMs", max: 1 }] })).toThrow(
      /budget key "latencyMs" has no costs \(have: madds, params\)/,
    );
    const bad = {
      ...input.costs,
      params: [
        [1, 1],
        [1, 2, 1],
      ],
    };
    expect(() => specializeGreedy({ ...input, costs: bad, budgets: [] })).toThrow(
      /costs.params row 0 has 2 choices, loss has 3/,
    );
  });
});

// ---------------------------------------------------------------------------

function bigTable(
  rng: Rng,
  layers: number,
  choices: number,
  keys: readonly string[],
): Omit<SpecializeInput, "budgets"> {
  // Loss and cost correlate (cheap candidates lose accuracy), as in practice.
  const cheapness = Array.from({ length: layers }, () =>
    Array.from({ length: choices }, () => rng.next()),
  );
  const top1 = cheapness.map((row) => row.map((u) => 75 - 2 * u + 0.3 * rng.next()));
  const costs = Object.fromEntries(
    keys.map((key) => [
      key,
      cheapness.map((row) => row.map((u) => (1 - u) * (5 + 20 * rng.next()) + 0.5)),
    ]),
  );
  return {
    loss: accuracyLoss(candidateTable(top1)),
    costs,
    base: Object.fromEntries(keys.map((k) => [k, 40.25])),
  };
}

describe("performance sanity (no wall-time assertion)", () => {
  it("19x12 one key real-valued costs: 20-point sweep completes, exact <= greedy", () => {
    const input = bigTable(new Rng(11), 19, 12, ["madds"]);
    const pts = sweep(input, "madds", 20);
    expect(pts).toHaveLength(20);
    let last = Infinity;
    for (const pt of pts) {
      if (!pt.exact.feasible || !pt.greedy.feasible) throw new Error(`budget ${pt.budget}`);
      expect(pt.exact.predictedLoss).toBeLessThanOrEqual(pt.greedy.predictedLoss + 1e-9);
      // More budget never costs accuracy.
      expect(pt.exact.predictedLoss).toBeLessThanOrEqual(last + 1e-9);
      last = pt.exact.predictedLoss;
    }
    // The last budget is the startpoint's own cost: zero loss.
    const top = pts[pts.length - 1].exact;
    expect(top.feasible && top.predictedLoss).toBe(0);
  });

  const twoKey: [string, Budget[]][] = [
    [
      "madds max 100 params max 100",
      [
        { key: "madds", max: 100 },
        { key: "params", max: 100 },
      ],
    ],
    [
      "madds max 180 params 150..200",
      [
        { key: "madds", max: 180 },
        { key: "params", min: 150, max: 200 },
      ],
    ],
    // Here the min is active: the optimum without it has params below 300.
    [
      "madds max 160 params min 300",
      [
        { key: "madds", max: 160 },
        { key: "params", min: 300 },
      ],
    ],
  ];
  for (const [name, budgets] of twoKey) {
    it(`19x12 two keys ${name}: completes, sound, exact <= greedy`, () => {
      const input = { ...bigTable(new Rng(12), 19, 12, ["madds", "params"]), budgets };
      const exact = specializeExact(input);
      const greedy = specializeGreedy(input);
      if (!exact.feasible) throw new Error(exact.message);
      expectSound(input, exact, "exact 19x12");
      expectSound(input, greedy, "greedy 19x12");
      if (greedy.feasible) {
        expect(exact.predictedLoss).toBeLessThanOrEqual(greedy.predictedLoss + 1e-9);
      }
      expect(exact.binding).not.toBeNull();
    });
  }
});
