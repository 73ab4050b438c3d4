import { describe, expect, it } from "vitest";
import { Rng } from "@fairnas/kernels";
import { hypervolume } from "./hypervolume.ts";
import { dominates } from "./nsga2.ts";
import {
  buildLayerCostTable,
  ppoMixAt,
  runSearch,
  violation,
  type Arch,
  type Constraint,
  type Costs,
  type SearchConfig,
} from "./search.ts";

// A synthetic space: per-layer costs from a seeded table, top-1 that rises
// with cost but with a pairwise interaction, so the front is not trivial.
interface Space {
  readonly L: number;
  readonly m: number;
  readonly layer: (l: number, c: number) => Costs;
  readonly costs: (a: Arch) => Costs;
  readonly top1: (a: Arch) => number;
}

function makeSpace(L: number, m: number, seed: number): Space {
  const rng = new Rng(seed);
  const table = Array.from({ length: L }, () =>
    Array.from({ length: m }, (_, c) => ({
      madds: 10 * (c + 1) + rng.int(10),
      params: 5 * (c + 1) + rng.int(8),
      latencyMs: 1 + c + rng.next(),
    })),
  );
  const gain = Array.from({ length: L }, () => Array.from({ length: m }, () => rng.next()));
  const layer = (l: number, c: number): Costs => table[l][c];
  const costs = (a: Arch): Costs =>
    a.reduce<Costs>(
      (acc, c, l) => ({
        madds: acc.madds + table[l][c].madds,
        params: acc.params + table[l][c].params,
        latencyMs: acc.latencyMs + table[l][c].latencyMs,
      }),
      { madds: 7, params: 3, latencyMs: 0.5 },
    );
  const top1 = (a: Arch): number => {
    let s = 0;
    a.forEach((c, l) => {
      s += gain[l][c] * (1 + c);
    });
    for (let l = 1; l < L; l++) if (a[l] === a[l - 1]) s -= 0.3;
    return s / (L * m);
  };
  return { L, m, layer, costs, top1 };
}

function allArchs(L: number, m: number): number[][] {
  if (L === 0) return [[]];
  return allArchs(L - 1, m).flatMap((a) => [...Array(m).keys()].map((c) => [...a, c]));
}

/** The true feasible front by enumeration, as sorted keys. */
function bruteFront(
  sp: Space,
  constraints: readonly Constraint[],
  third: "params" | "latencyMs",
): string[] {
  const feas = allArchs(sp.L, sp.m).filter((a) => violation(sp.costs(a), constraints) <= 0);
  const objs = feas.map((a) => [-sp.top1(a), sp.costs(a).madds, sp.costs(a)[third]]);
  return feas
    .filter((_, i) => !objs.some((o) => dominates(o, objs[i])))
    .map((a) => a.join(""))
    .sort();
}

interface Probe {
  seen: string[];
  calls: number;
}

function config(
  sp: Space,
  over: Partial<SearchConfig> & Pick<SearchConfig, "algo">,
  probe: Probe,
): SearchConfig {
  return {
    layers: sp.L,
    numChoices: sp.m,
    population: 8,
    generations: 10,
    seed: 1,
    third: "params",
    constraints: [],
    costs: sp.costs,
    key: (a) => a.join(""),
    evaluate: async (archs) => {
      probe.calls++;
      probe.seen.push(...archs.map((a) => a.join("")));
      return archs.map(sp.top1);
    },
    ...over,
  };
}

const newProbe = (): Probe => ({ seen: [], calls: 0 });

describe("search constraints L4 m3", () => {
  const sp = makeSpace(4, 3, 21);
  const constraints: Constraint[] = [{ key: "madds", max: 100 }];
  const truth = bruteFront(sp, constraints, "params");
  const feasibleCount = allArchs(4, 3).filter(
    (a) => violation(sp.costs(a), constraints) <= 0,
  ).length;

  it("the test space is non-trivial", () => {
    expect(feasibleCount).toBeGreaterThan(10);
    expect(feasibleCount).toBeLessThan(70);
    expect(truth.length).toBeGreaterThan(3);
  });

  for (const algo of ["nsga2-ppo", "nsga2", "random"] as const) {
    it(`${algo} P8 G10 madds<=100: feasible, no re-evaluation, finds the true front`, async () => {
      const probe = newProbe();
      const res = await runSearch(config(sp, { algo, constraints }, probe));
      expect(res.infeasible).toBeUndefined();
      for (const f of res.front) {
        expect(f.madds, `arch ${f.arch}`).toBeLessThanOrEqual(100);
        expect(f.madds).toBe(sp.costs(f.arch).madds);
        expect(f.top1).toBe(sp.top1(f.arch));
      }
      expect(res.front.map((f) => f.arch.join("")).sort()).toEqual(truth);

      // Only feasible, never twice; evaluations counts them.
      expect(new Set(probe.seen).size).toBe(probe.seen.length);
      for (const k of probe.seen) {
        expect(sp.costs([...k].map(Number)).madds, k).toBeLessThanOrEqual(100);
      }
      expect(res.evaluations).toBe(probe.seen.length);
      expect(res.history.length).toBe(11);
      expect(probe.calls).toBeLessThanOrEqual(11);
    });
  }

  it("nsga2 P8 G3 madds<=100 with a budget below the feasible count: front stays feasible", async () => {
    const probe = newProbe();
    const res = await runSearch(config(sp, { algo: "nsga2", constraints, generations: 3 }, probe));
    expect(res.evaluations).toBeLessThan(feasibleCount);
    expect(res.front.length).toBeGreaterThan(0);
    for (const f of res.front) expect(f.madds).toBeLessThanOrEqual(100);
  });

  it("min bound params>=70 with madds<=110 is honoured by nsga2-ppo", async () => {
    const both: Constraint[] = [
      { key: "madds", max: 110 },
      { key: "params", min: 70 },
    ];
    const probe = newProbe();
    const res = await runSearch(config(sp, { algo: "nsga2-ppo", constraints: both }, probe));
    expect(res.front.map((f) => f.arch.join("")).sort()).toEqual(bruteFront(sp, both, "params"));
    for (const f of res.front) {
      expect(f.params).toBeGreaterThanOrEqual(70);
      expect(f.madds).toBeLessThanOrEqual(110);
    }
  });
});

describe("search infeasible budgets L4 m3", () => {
  const sp = makeSpace(4, 3, 21);
  const exactMin = Math.min(...allArchs(4, 3).map((a) => sp.costs(a).madds));

  for (const withLayerCosts of [true, false]) {
    it(`madds<=min-1 reports the exact cheapest madds (layerCosts ${withLayerCosts})`, async () => {
      const probe = newProbe();
      const res = await runSearch(
        config(
          sp,
          {
            algo: "nsga2-ppo",
            constraints: [{ key: "madds", max: exactMin - 1 }],
            layerCosts: withLayerCosts ? sp.layer : undefined,
          },
          probe,
        ),
      );
      expect(res.front).toEqual([]);
      expect(res.infeasible?.cheapest.madds).toBe(exactMin);
      expect(res.infeasible?.message).toContain(`madds <= ${exactMin - 1}`);
      expect(probe.calls).toBe(0);
      expect(res.evaluations).toBe(0);
    });
  }

  it("jointly infeasible madds<=85 and params>=60 returns no front and both bounds", async () => {
    const joint: Constraint[] = [
      { key: "madds", max: 85 },
      { key: "params", min: 60 },
    ];
    const all = allArchs(4, 3).map(sp.costs);
    // Each bound alone is reachable, together not.
    expect(all.some((c) => c.madds <= 85)).toBe(true);
    expect(all.some((c) => c.params >= 60)).toBe(true);
    expect(all.some((c) => violation(c, joint) === 0)).toBe(false);
    const probe = newProbe();
    const res = await runSearch(config(sp, { algo: "nsga2", constraints: joint }, probe));
    expect(res.front).toEqual([]);
    expect(res.infeasible?.cheapest.madds).toBe(Math.min(...all.map((c) => c.madds)));
    expect(res.infeasible?.largest.params).toBe(Math.max(...all.map((c) => c.params)));
    expect(probe.seen).toEqual([]);
  });
});

describe("search budgets and logs", () => {
  const sp = makeSpace(8, 4, 5);

  it("random L8 m4 P12 G6 spends exactly population*(generations+1) evaluations", async () => {
    const probe = newProbe();
    const res = await runSearch(
      config(sp, { algo: "random", population: 12, generations: 6 }, probe),
    );
    expect(res.evaluations).toBe(12 * 7);
    expect(new Set(probe.seen).size).toBe(12 * 7);
    expect(res.history.map((h) => h.evaluations)).toEqual([12, 24, 36, 48, 60, 72, 84]);
  });

  it("nsga2-ppo L8 m4 P12 G6 logs the mix schedule and policy stats", async () => {
    const probe = newProbe();
    const res = await runSearch(
      config(sp, { algo: "nsga2-ppo", population: 12, generations: 6 }, probe),
    );
    expect(res.history.map((h) => h.ppoMix)).toEqual(
      [0, 0.8, 0.68, 0.56, 0.44, 0.32, 0.2].map((x) => expect.closeTo(x, 12)),
    );
    expect(res.history[0].ppo).toBeNull();
    for (const h of res.history.slice(1)) {
      expect(h.ppo).not.toBeNull();
      expect(h.ppo!.samples).toBeGreaterThan(0);
      expect(Number.isFinite(h.ppo!.loss)).toBe(true);
    }
    expect(res.evaluations).toBe(new Set(probe.seen).size);
    expect(res.history.at(-1)!.evaluations).toBe(res.evaluations);
    expect(res.history.at(-1)!.hypervolume).toBeGreaterThan(res.history[0].hypervolume);
  });

  it("nsga2-ppo L8 m4 P12 G6 is reproducible for one seed and differs for another", async () => {
    const run = (seed: number) =>
      runSearch(
        config(
          sp,
          {
            algo: "nsga2-ppo",
            population: 12,
            generations: 6,
            seed,
            constraints: [{ key: "latencyMs", max: 22 }],
          },
          newProbe(),
        ),
      );
    const [a, b, c] = [await run(3), await run(3), await run(4)];
    expect(b).toEqual(a);
    expect(c.history.map((h) => h.hypervolume)).not.toEqual(a.history.map((h) => h.hypervolume));
  });

  it("nsga2 L8 m4 tight madds<=cheapest+15: repairs are logged, all members feasible", async () => {
    const t = buildLayerCostTable(config(sp, { algo: "nsga2" }, newProbe()));
    const cheapest = t.table.reduce(
      (s, row) => s + Math.min(...row.map((c) => c.madds)),
      t.offset.madds,
    );
    const probe = newProbe();
    const res = await runSearch(
      config(
        sp,
        {
          algo: "nsga2",
          population: 10,
          generations: 4,
          maxRetries: 5,
          constraints: [{ key: "madds", max: cheapest + 15 }],
        },
        probe,
      ),
    );
    const repairs = res.history.reduce((s, h) => s + h.repairs, 0);
    const retried = res.history.reduce((s, h) => s + h.retries.infeasible, 0);
    expect(repairs).toBeGreaterThan(0);
    expect(retried).toBeGreaterThan(0);
    expect(res.front.length).toBeGreaterThan(0);
    for (const f of res.front) expect(f.madds).toBeLessThanOrEqual(cheapest + 15);
    for (const k of probe.seen) {
      expect(sp.costs([...k].map(Number)).madds).toBeLessThanOrEqual(cheapest + 15);
    }
  });

  it("buildLayerCostTable from differences equals the layerCosts table plus offset L8 m4", () => {
    const base = config(sp, { algo: "nsga2" }, newProbe());
    const derived = buildLayerCostTable(base);
    const given = buildLayerCostTable({ ...base, layerCosts: sp.layer });
    const rng = new Rng(9);
    for (let k = 0; k < 20; k++) {
      const a = Array.from({ length: 8 }, () => rng.int(4));
      for (const t of [derived, given]) {
        const sum = a.reduce((s, c, l) => s + t.table[l][c].madds, t.offset.madds);
        expect(sum).toBeCloseTo(sp.costs(a).madds, 9);
      }
    }
  });

  it("ppoMixAt linear 0.8 -> 0.2 over G5, 0 at generation 0", () => {
    const mix = { start: 0.8, end: 0.2 };
    expect([0, 1, 3, 5].map((g) => ppoMixAt(g, 5, mix))).toEqual(
      [0, 0.8, 0.5, 0.2].map((x) => expect.closeTo(x, 12)),
    );
  });
});

describe("search quality L10 m4", () => {
  const sp = makeSpace(10, 4, 21);
  const constraints: Constraint[] = [{ key: "madds", max: 260 }];

  // Costs rise with the choice index here, so all-0 is cheapest, all-3 dearest.
  const lo = sp.costs(new Array<number>(10).fill(0));
  const hi = sp.costs(new Array<number>(10).fill(3));
  const unit = (k: "madds" | "params", x: number): number => (x - lo[k]) / (1.1 * hi[k] - lo[k]);

  /** Front hypervolume with costs scaled to [0, 1] between cheapest and 1.1x dearest. */
  function frontVolume(front: readonly { top1: number; madds: number; params: number }[]): number {
    const pts = front.map((f) => [-f.top1, unit("madds", f.madds), unit("params", f.params)]);
    return hypervolume(pts, [0, 1, 1]);
  }

  it("nsga2 and nsga2-ppo beat random front hypervolume by 10% at P20 G20 seed1 madds<=260", async () => {
    const vol: Record<string, number> = {};
    for (const algo of ["random", "nsga2", "nsga2-ppo"] as const) {
      const probe = newProbe();
      const res = await runSearch(
        config(
          sp,
          {
            algo,
            constraints,
            population: 20,
            generations: 20,
            seed: 1,
          },
          probe,
        ),
      );
      expect(res.evaluations).toBeGreaterThan(0.9 * 20 * 21);
      expect(res.evaluations).toBeLessThanOrEqual(20 * 21);
      for (const f of res.front) expect(f.madds).toBeLessThanOrEqual(260);
      vol[algo] = frontVolume(res.front);
    }
    expect(vol.random).toBeGreaterThan(0);
    expect(vol.nsga2).toBeGreaterThan(1.1 * vol.random);
    expect(vol["nsga2-ppo"]).toBeGreaterThan(1.1 * vol.random);
  });
});
