// `nas-cli search` on one small trained run (quick preset, fewer images),
// trained once in beforeAll and shared by every test here.

import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { memoryLogger } from "@fairnas/kernels";
import { testGpu } from "@fairnas/kernels/testing";
import {
  blockKey,
  costOf,
  getSpace,
  LATENCY_FORMAT,
  LATENCY_VERSION,
  largestArch,
  latencyKeys,
  parseArch,
  resolveSpace,
  smallestArch,
  type LatencyTable,
} from "@fairnas/nas";
import { main } from "../main.ts";
import { openRun } from "../session.ts";
import { searchStage } from "../stages/search-stage.ts";
import { searchCommand, searchOptions, warnClamped } from "./search.ts";

const gpu = await testGpu();
const tmp = mkdtempSync(join(tmpdir(), "search-cli-"));
const dir = join(tmp, "run");
const space = resolveSpace(getSpace("fmnist"));
const SMALL = ["--generations", "1", "--population", "4"];

// Budget halfway between the smallest and the largest network.
const minMadds = costOf(space, smallestArch(space)).madds;
const maxMadds = costOf(space, largestArch(space)).madds;
const budget = Math.round((minMadds + maxMadds) / 2);

/** A synthetic table: block (l, c) costs 0.1 + 0.05 c ms, fixed pieces 1 ms. */
function syntheticTable(): LatencyTable {
  const entries = Object.fromEntries(
    latencyKeys(space).map((k) => [
      k,
      {
        medianMs: 1,
        count: 1,
        p10Ms: 1,
        p90Ms: 1,
        madMs: 0,
        warmups: 0,
        inner: 1,
      },
    ]),
  );
  space.layers.forEach((_, l) =>
    space.tokens.forEach((_, c) => {
      entries[blockKey(space, l, c)] = {
        ...entries[blockKey(space, l, c)],
        medianMs: 0.1 + 0.05 * c,
      };
    }),
  );
  return {
    format: LATENCY_FORMAT,
    version: LATENCY_VERSION,
    batch: 1,
    adapter: {
      vendor: "synthetic",
      architecture: "none",
      description: "test table",
      backend: "none",
    },
    space: space.spec,
    spaceSignature: space.signature,
    entries,
  };
}

async function cli(args: string[]): Promise<{ code: number; text: string }> {
  const log = memoryLogger("info");
  const code = await main(args, log);
  return { code, text: log.text() };
}

describe("search flags", () => {
  it("refuses blank, repeated, signed and non-digit values, naming the flag", () => {
    for (const [args, msg] of [
      [["--val-images", " "], /--val-images needs a value, got ' '/],
      [["--seed", ""], /--seed needs a value, got ''/],
      [["--seed", "-5"], /--seed needs a non-negative value, got '-5'/],
      [["--population", "1e3"], /--population must be a non-negative integer, got '1e3'/],
      [["--generations", "0x10"], /--generations must be a non-negative integer, got '0x10'/],
      [["--algo", "nsga2", "--algo", "random"], /--algo is given twice/],
    ] as const) {
      expect(() => searchOptions(["--run", "r", ...args]), args.join(" ")).toThrow(msg);
    }
    expect(searchOptions(["--run", "r", "--seed", " 7 "]).opts.seed).toBe(7);
  });

  it("--val-images past the validation split warns with the value it is lowered to", () => {
    const log = memoryLogger("info");
    warnClamped(99999999, 128, log);
    warnClamped(128, 128, log);
    warnClamped(0, 128, log);
    warnClamped(undefined, 128, log);
    expect(log.text()).toBe(
      "warning: --val-images 99999999 exceeds the run's 128 validation images; " +
        "lowered to 128\n",
    );
  });
});

describe.skipIf(!gpu)("nas-cli search on a quick run", () => {
  beforeAll(async () => {
    const cfg = join(tmp, "small.json");
    writeFileSync(
      cfg,
      JSON.stringify({
        train: { trainLimit: 256, valSize: 128, checkpointEvery: 0 },
        eval: { recalBatches: 1 },
        search: { valImages: 64 },
      }),
    );
    const r = await cli(["train", "--preset", "quick", "--config", cfg, "--out", dir]);
    if (r.code !== 0) throw new Error(`training the test run failed:\n${r.text}`);
  });

  it(`nsga2 P4 G1 --max-madds ${budget} --json: front within budget, files written`, async () => {
    const log = memoryLogger("info");
    const out: string[] = [];
    await searchCommand(
      ["--run", dir, "--algo", "nsga2", ...SMALL, "--max-madds", String(budget), "--json"],
      log,
      { write: (t: string) => out.push(t) },
    );
    const printed = JSON.parse(out.join("")) as {
      arch: string;
      top1: number;
      madds: number;
      params: number;
      latencyMs: null;
    }[];
    expect(printed.length).toBeGreaterThan(0);
    for (const p of printed) {
      const c = costOf(space, parseArch(space, p.arch));
      expect(p.madds).toBe(c.madds);
      expect(p.params).toBe(c.params);
      expect(p.madds).toBeLessThanOrEqual(budget);
      expect(p.top1).toBeGreaterThanOrEqual(0);
      expect(p.top1).toBeLessThanOrEqual(1);
      // Scored on search.valImages 64 of the 128 validation images: whole images of 64.
      expect(p.top1 * 64).toBeCloseTo(Math.round(p.top1 * 64), 6);
      expect(p.latencyMs).toBeNull();
    }
    const stored = JSON.parse(readFileSync(join(dir, "pareto.json"), "utf8"));
    expect(stored.map((p: { arch: string }) => p.arch)).toEqual(printed.map((p) => p.arch));
    expect(stored.every((p: { algo: string }) => p.algo === "nsga2")).toBe(true);
    const csv = readFileSync(join(dir, "pareto.csv"), "utf8").trim().split("\n");
    expect(csv[0]).toBe("algo,arch,hash,top1,madds,params,latency_ms");
    expect(csv).toHaveLength(printed.length + 1);
    const gens = readFileSync(join(dir, "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
      .filter((r) => r.type === "search-generation");
    expect(gens.map((g) => g.generation)).toEqual([0, 1]);
    for (const g of gens) {
      expect(g).toMatchObject({ algo: "nsga2", seed: 1 });
      expect(g.hypervolume).toBeGreaterThan(0);
      expect(g.distinct).toBeGreaterThan(0);
    }
    expect(gens[1].evaluations).toBeGreaterThan(gens[0].evaluations);
  });

  it("a second nsga2 search warns it replaces the front, updates summary.json", async () => {
    writeFileSync(
      join(dir, "summary.json"),
      JSON.stringify({ preset: "quick", front: [{ arch: "stale" }], searchEvaluations: 1 }),
    );
    const log = memoryLogger("info");
    await searchCommand(["--run", dir, "--algo", "nsga2", ...SMALL, "--seed", "2"], log);
    expect(log.text()).toMatch(/replacing the earlier nsga2 front \(\d+ architectures\)/);
    const stored = JSON.parse(readFileSync(join(dir, "pareto.json"), "utf8")) as {
      arch: string;
      top1: number;
    }[];
    const summary = JSON.parse(readFileSync(join(dir, "summary.json"), "utf8"));
    expect(summary.preset).toBe("quick");
    expect(summary.front.map((p: { arch: string }) => p.arch)).toEqual(stored.map((p) => p.arch));
    expect(summary.front[0].top1).toBe(stored[0].top1);
    expect(summary.searchEvaluations).toBeGreaterThanOrEqual(4);
    expect(summary.frontFrom).toMatchObject({ command: "search", algo: "nsga2", seed: 2 });
  });

  for (const [what, text] of [
    ["not JSON", "{broken"],
    ["null", "null"],
    ["an array", "[1,2]"],
  ] as const) {
    it(`summary.json that is ${what}: named, left alone, front printed`, async () => {
      const path = join(dir, "summary.json");
      writeFileSync(path, text);
      const log = memoryLogger("info");
      const out: string[] = [];
      await searchCommand(["--run", dir, "--algo", "nsga2", ...SMALL, "--json"], log, {
        write: (t: string) => out.push(t),
      });
      expect(log.text()).toMatch(/summary\.json .*the search will not update it/);
      expect(readFileSync(path, "utf8")).toBe(text);
      expect(JSON.parse(out.join("")).length).toBeGreaterThan(0);
    });
  }

  const latencyTitle = "random P4 G1 --third latency --max-latency-ms 4.6 with a table";
  it(`${latencyTitle}: front within budget`, async () => {
    const table = join(tmp, "latency.json");
    writeFileSync(table, JSON.stringify(syntheticTable()));
    // 3 ms of fixed pieces + 8 blocks of 0.1..0.35 ms: 3.8..5.8 ms in all.
    const r = await cli([
      "search",
      "--run",
      dir,
      "--algo",
      "random",
      ...SMALL,
      "--third",
      "latency",
      "--latency-table",
      table,
      "--max-latency-ms",
      "4.6",
    ]);
    expect(r.code, r.text).toBe(0);
    expect(r.text).toMatch(/gen {3}1\/1 \| evals/);
    expect(r.text).toMatch(/measured on synthetic/);
    const stored = JSON.parse(readFileSync(join(dir, "pareto.json"), "utf8"));
    const rand = stored.filter((p: { algo: string }) => p.algo === "random");
    expect(rand.length).toBeGreaterThan(0);
    for (const p of rand) {
      const arch = parseArch(space, p.arch);
      const want = 3 + arch.reduce((s, c) => s + 0.1 + 0.05 * c, 0);
      expect(p.latencyMs).toBeCloseTo(want, 9);
      expect(p.latencyMs).toBeLessThanOrEqual(4.6);
    }
    // The nsga2 front of the previous test is kept beside this one.
    expect(stored.some((p: { algo: string }) => p.algo === "nsga2")).toBe(true);
  });

  it("an infeasible --max-madds fails naming the cheapest MAdds once, history kept", async () => {
    const metrics = join(dir, "metrics.jsonl");
    const gens = () =>
      readFileSync(metrics, "utf8")
        .split("\n")
        .filter((l) => l.includes('"search-generation"'));
    const before = gens();
    expect(before.some((l) => l.includes('"algo":"nsga2"'))).toBe(true);
    const r = await cli([
      "search",
      "--run",
      dir,
      ...SMALL,
      "--algo",
      "nsga2",
      "--max-madds",
      String(minMadds - 1),
    ]);
    expect(r.code).toBe(1);
    expect(r.text).toContain(`infeasible budget (madds <= ${minMadds - 1}); `);
    expect(r.text).toContain(`cheapest achievable: madds ${minMadds}`);
    expect(r.text.split(String(minMadds)).length - 1).toBe(1);
    // The earlier nsga2 search's generation records stay with its front.
    expect(gens()).toEqual(before);
  });

  it("a latency budget without a table is refused", async () => {
    const r = await cli(["search", "--run", dir, ...SMALL, "--max-latency-ms", "5"]);
    expect(r.code).toBe(1);
    expect(r.text).toMatch(/--latency-table/);
  });

  it("a pareto.json it cannot merge into is refused before the search", async () => {
    const path = join(dir, "pareto.json");
    const kept = readFileSync(path, "utf8");
    for (const [text, msg] of [
      ["[null]", /pareto\.json: entry 0 is not a front entry/],
      ['[{"algo":"random","arch":7,"top1":0.5}]', /pareto\.json: entry 0 is not a front entry/],
      ["{broken", /pareto\.json: not valid JSON/],
    ] as const) {
      writeFileSync(path, text);
      const r = await cli(["search", "--run", dir, ...SMALL]);
      expect(r.code).toBe(1);
      expect(r.text).toMatch(msg);
      expect(r.text).not.toMatch(/gen +0/);
      expect(readFileSync(path, "utf8")).toBe(text);
    }
    writeFileSync(path, kept);
  });

  it("nsga2-ppo seed 3 twice with one cache: same front, all cached, nothing written", async () => {
    const log = memoryLogger("warn");
    const files = ["pareto.json", "pareto.csv", "metrics.jsonl"].map((f) => join(dir, f));
    const snapshot = () => files.map((f) => (existsSync(f) ? readFileSync(f, "utf8") : null));
    const kept = snapshot();
    const run = await openRun(dir, log);
    try {
      const cache = new Map<string, number>();
      const opts = {
        algo: "nsga2-ppo" as const,
        generations: 1,
        population: 4,
        seed: 3,
        cache,
        write: false,
      };
      const a = await searchStage(run, opts, log);
      const b = await searchStage(run, opts, log);
      expect(a.evaluations).toBeGreaterThanOrEqual(4);
      expect(a.cacheHits).toBe(0);
      expect(cache.size).toBe(a.evaluations);
      expect(b.cacheHits).toBe(b.evaluations);
      expect(b.front).toEqual(a.front);
      // write: false leaves the run's front and generation records as they were.
      expect(snapshot()).toEqual(kept);
    } finally {
      run.close();
    }
  });
  it("--val-images 99999999 scores the 128 validation images and says so", async () => {
    const r = await cli([
      "search",
      "--run",
      dir,
      "--algo",
      "random",
      ...SMALL,
      "--val-images",
      "99999999",
    ]);
    expect(r.code).toBe(0);
    expect(r.text).toMatch(/warning: --val-images 99999999 exceeds .* lowered to 128/);
    expect(r.text).toMatch(/\| 128 validation images/);
  });
});
