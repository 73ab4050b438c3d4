// `nas-cli specialize` on a small saved table made here (3 layers x 3
// choices, answers checked against brute force over all 27 networks), and
// on a table of the real fmnist-ponas space for a latency budget.

import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Logger } from "@fairnas/kernels";
import {
  getSpace,
  PONAS_TABLE_FORMAT,
  resolveSpace,
  tableFile,
  type PonasTableFile,
} from "@fairnas/nas";
import { readRun } from "@fairnas/viz";
import { main } from "../main.ts";
import { RUN_PRESETS } from "../config.ts";

// Row bests: layer 0 -> c2 (0.80), layer 1 -> c1 (0.78), layer 2 -> c2 (0.81).
const TOP1 = [
  [0.7, 0.75, 0.8],
  [0.74, 0.78, 0.6],
  [0.79, 0.77, 0.81],
];
const MADDS = [
  [100, 200, 400],
  [50, 150, 300],
  [120, 180, 260],
];
const PARAMS = [
  [10, 20, 40],
  [5, 15, 30],
  [12, 18, 26],
];
const BASE = { madds: 1000, params: 100 };

function fixture(): PonasTableFile {
  return {
    format: PONAS_TABLE_FORMAT,
    space: "toy",
    signature: "toy0000000000000",
    tokens: ["a", "b", "c"],
    layers: ["l1", "l2", "l3"],
    top1: TOP1,
    valLoss: TOP1.map((r) => r.map(() => 1)),
    best: [2, 1, 2],
    startTop1: 0.81,
    costs: { madds: MADDS, params: PARAMS },
    base: BASE,
  };
}

function makeRun(table: PonasTableFile): string {
  const dir = mkdtempSync(join(tmpdir(), "ponas-spec-"));
  writeFileSync(join(dir, "config.json"), JSON.stringify(RUN_PRESETS.quick));
  writeFileSync(join(dir, "ponas-table.json"), JSON.stringify(table));
  return dir;
}

interface Brute {
  arch: string;
  loss: number;
  madds: number;
  params: number;
}

/** Least-loss network within a MAdds (or params) budget, by enumeration. */
function bruteForce(max: number, key: "madds" | "params" = "madds"): Brute | null {
  let best: Brute | null = null;
  for (let i = 0; i < 27; i++) {
    const a = [i % 3, Math.floor(i / 3) % 3, Math.floor(i / 9)];
    const madds = BASE.madds + a.reduce((s, c, l) => s + MADDS[l][c], 0);
    const params = BASE.params + a.reduce((s, c, l) => s + PARAMS[l][c], 0);
    const loss = a.reduce((s, c, l) => s + Math.max(...TOP1[l]) - TOP1[l][c], 0);
    const cost = key === "madds" ? madds : params;
    if (cost <= max && (!best || loss < best.loss - 1e-12))
      best = { arch: a.map((c) => "abc"[c]).join("-"), loss, madds, params };
  }
  return best;
}

interface Captured {
  code: number;
  out: string;
  err: string;
}

async function cli(args: string[]): Promise<Captured> {
  let out = "";
  let err = "";
  const sink = (f: (s: string) => void) => ({ write: (s: string) => (f(s), true) });
  const log = new Logger(sink((s) => (out += s)) as never, sink((s) => (err += s)) as never);
  const spy = vi
    .spyOn(process.stdout, "write")
    .mockImplementation((s) => ((out += String(s)), true));
  try {
    const code = await main(args, log);
    return { code, out, err };
  } finally {
    spy.mockRestore();
  }
}

afterEach(() => vi.restoreAllMocks());

describe("nas-cli specialize on a 3x3 table", () => {
  const dir = makeRun(fixture());

  for (const budget of [1270, 1400, 1500, 1700, 2000]) {
    it(`--max-madds ${budget} --json equals brute force`, async () => {
      const r = await cli(["specialize", "--run", dir, "--max-madds", String(budget), "--json"]);
      expect(r.err).toBe("");
      expect(r.code).toBe(0);
      const ans = JSON.parse(r.out.trim());
      const want = bruteForce(budget)!;
      expect(ans.arch).toBe(want.arch);
      expect(ans.predictedLoss).toBeCloseTo(want.loss, 12);
      expect(ans.madds).toBe(want.madds);
      expect(ans.madds).toBeLessThanOrEqual(budget);
      expect(ans.params).toBe(
        BASE.params +
          [...ans.arch.split("-")].reduce(
            (s: number, t: string, l: number) => s + PARAMS[l]["abc".indexOf(t)],
            0,
          ),
      );
      expect(ans.latencyMs).toBeNull();
      expect(ans.greedy.madds).toBeLessThanOrEqual(budget);
      expect(ans.greedy.predictedLoss).toBeGreaterThanOrEqual(ans.predictedLoss - 1e-12);
      expect(ans.ms).toBeLessThan(1000);
    });
  }

  it("--max-madds 1400: the budget binds (startpoint costs 1810)", async () => {
    const r = await cli(["specialize", "--run", dir, "--max-madds", "1400", "--json"]);
    expect(JSON.parse(r.out.trim()).binding).toBe("madds");
  });

  it("--max-madds 5000: no budget binds, the startpoint c-b-c is returned", async () => {
    const r = await cli(["specialize", "--run", dir, "--max-madds", "5000", "--json"]);
    const ans = JSON.parse(r.out.trim());
    expect(ans).toMatchObject({ arch: "c-b-c", madds: 1810, predictedLoss: 0, binding: null });
  });

  it("--max-params 160 prints both answers and the binding constraint", async () => {
    const r = await cli(["specialize", "--run", dir, "--max-params", "160"]);
    expect(r.code).toBe(0);
    // The exact answer is the brute-force optimum, its loss in points of top-1.
    const want = bruteForce(160, "params")!;
    expect(want.params).toBeLessThanOrEqual(160);
    const pts = (100 * want.loss).toFixed(2);
    const top1 = (100 * (0.81 - want.loss)).toFixed(2);
    expect(r.out).toMatch(
      new RegExp(`^exact +${want.arch} \\| predicted loss ${pts} pts \\(top-1 ${top1}%\\)`, "m"),
    );
    expect(r.out).toContain(`| ${(want.params / 1e6).toFixed(3)} M params |`);
    expect(r.out).toMatch(/^greedy +\S+ \| predicted loss/m);
    expect(r.out).toMatch(/binding params/);
    expect(r.out).toMatch(/specialized in [0-9.]+ ms/);
  });

  it("--max-madds 1200 (below the cheapest 1270) fails naming the minimum", async () => {
    const r = await cli(["specialize", "--run", dir, "--max-madds", "1200"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/minimum achievable madds 1270/);
  });

  it("no budget and no --sweep is a usage error", async () => {
    const r = await cli(["specialize", "--run", dir]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^error: specialize needs a budget: --max-madds X/);
    expect(r.out).not.toMatch(/^exact /m);
  });

  it("--max-madds 0 means no MAdds budget, as in the config and search", async () => {
    const pick = (text: string) => {
      const { arch, madds, params, predictedLoss, binding } = JSON.parse(text.trim());
      return { arch, madds, params, predictedLoss, binding };
    };
    const alone = await cli(["specialize", "--run", dir, "--max-params", "160", "--json"]);
    const zero = await cli([
      "specialize",
      "--run",
      dir,
      "--max-madds",
      "0",
      "--max-params",
      "160",
      "--json",
    ]);
    expect(zero.err).toBe("");
    expect(zero.code).toBe(0);
    expect(pick(zero.out)).toEqual(pick(alone.out));
    expect(pick(zero.out).binding).toBe("params");

    const only = await cli(["specialize", "--run", dir, "--max-madds", "0"]);
    expect(only.code).toBe(2);
    expect(only.err).toMatch(/specialize needs a budget: .*\(X, Y, Z > 0; 0 means no budget\)/);
  });

  it("--sweep --max-params 0 sweeps along params", async () => {
    const r = await cli([
      "specialize",
      "--run",
      dir,
      "--sweep",
      "--max-params",
      "0",
      "--points",
      "2",
      "--no-measure",
      "--json",
    ]);
    expect(r.code).toBe(0);
    const pts = JSON.parse(r.out.trim().split("\n").pop()!);
    // The cheapest network (a-a-a) and the startpoint c-b-c, in params.
    expect(pts.map((p: { budget: number }) => p.budget)).toEqual([127, 181]);
  });

  it("--sweep --points 4 --no-measure records a sweep the report can read", async () => {
    // A run of its own: the sweep is recorded only where none is yet.
    const fresh = makeRun(fixture());
    const r = await cli([
      "specialize",
      "--run",
      fresh,
      "--sweep",
      "--points",
      "4",
      "--no-measure",
      "--json",
    ]);
    expect(r.code).toBe(0);
    const pts = JSON.parse(r.out.trim().split("\n").pop()!);
    expect(pts.map((p: { budget: number }) => p.budget)).toEqual([
      1270,
      1270 + 540 / 3,
      1270 + 1080 / 3,
      1810,
    ]);
    const rec = readRun(fresh).ponas!;
    expect(rec.startpoint).toBe("c-b-c");
    expect(rec.maxLoss.map((v) => Number(v.toFixed(6)))).toEqual([0.1, 0.18, 0.04]);
    expect(rec.sweep).toHaveLength(4);
    for (const [i, p] of rec.sweep.entries()) {
      expect(p.predicted).toBeCloseTo(0.81 - bruteForce(p.budget)!.loss, 12);
      if (i > 0) expect(p.predicted).toBeGreaterThanOrEqual(rec.sweep[i - 1].predicted);
      expect(p.measured).toBeUndefined();
    }
  });
});

describe("nas-cli specialize --sweep and the run's recorded results", () => {
  const sweep = ["--sweep", "--points", "2", "--no-measure"];

  it("refuses a budget it would ignore, and sweep options without --sweep", async () => {
    const dir = makeRun(fixture());
    for (const [args, msg] of [
      [["--sweep", "--max-madds", "1200000"], /takes no budget; drop --max-madds 1200000/],
      [["--sweep", "--min-params", "130"], /takes no budget; drop --min-params 130/],
      [["--max-madds", "1400", "--points", "3"], /--points and --no-measure belong to --sweep/],
    ] as const) {
      const r = await cli(["specialize", "--run", dir, ...args]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.err).toMatch(msg);
    }
    expect(existsSync(join(dir, "ponas.json"))).toBe(false);
  });

  it("leaves a recorded sweep and its comparison as they are, and says so", async () => {
    const dir = makeRun(fixture());
    const path = join(dir, "ponas.json");
    const first = await cli([
      "specialize",
      "--run",
      dir,
      "--sweep",
      "--points",
      "4",
      "--no-measure",
    ]);
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/sweep recorded in .*ponas\.json/);
    // As `ponas` leaves it: a sweep and a comparison made at its budgets.
    const text = readFileSync(path, "utf8").replace(/\n}\n$/, ',\n "compare": {"points": []}\n}\n');
    writeFileSync(path, text);
    const again = await cli(["specialize", "--run", dir, ...sweep, "--json"]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.out.trim().split("\n").pop()!)).toHaveLength(2);
    expect(again.err).toContain(
      `warning: ${path} keeps its recorded sweep (4 points) and the search comparison ` +
        "made at its budgets; this sweep is printed only",
    );
    expect(readFileSync(path, "utf8")).toBe(text);
  });

  it("fills in the sweep of a run made with `ponas --no-sweep`", async () => {
    const dir = makeRun(fixture());
    const path = join(dir, "ponas.json");
    writeFileSync(path, JSON.stringify({ startpoint: "c-b-c", sweep: [] }));
    const r = await cli(["specialize", "--run", dir, ...sweep]);
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(path, "utf8")).sweep).toHaveLength(2);
  });
});

describe("nas-cli specialize --sweep with a damaged ponas.json", () => {
  it("names the file and leaves it as it was", async () => {
    for (const [text, why] of [
      ['{"table": {"choi', "not valid JSON"],
      ["[1, 2, 3]\n", "expected a JSON object"],
      ["null\n", "expected a JSON object"],
    ]) {
      const dir = makeRun(fixture());
      const path = join(dir, "ponas.json");
      writeFileSync(path, text);
      const r = await cli(["specialize", "--run", dir, "--sweep", "--points", "2", "--no-measure"]);
      expect(r.code, text).toBe(1);
      expect(r.err, text).toContain(`error: ${path}: ${why}`);
      expect(readFileSync(path, "utf8")).toBe(text);
    }
  });
});

describe("nas-cli specialize on an fmnist-ponas table", () => {
  const space = resolveSpace(getSpace("fmnist-ponas"));
  // Bigger kernels and SE score a little better in this made-up table.
  const top1 = space.layers.map((_, l) =>
    space.spec.choices.map(
      (c) => 0.8 + 0.002 * c.kernel + 0.003 * c.expand + (c.se ? 0.001 : 0) - 0.001 * l,
    ),
  );
  const table = tableFile(
    space,
    top1,
    top1.map((r) => r.map(() => 0.5)),
  );
  const dir = makeRun(table);
  // Latency: 1 ms fixed plus 0.01 ms per kernel tap times expansion.
  const entries: Record<string, { medianMs: number }> = {
    stem: { medianMs: 0.4 },
    first: { medianMs: 0.3 },
    head: { medianMs: 0.3 },
  };
  space.layers.forEach((g) =>
    space.spec.choices.forEach((c, i) => {
      entries[`${g.label}/${space.tokens[i]}`] = {
        medianMs: (0.01 * c.kernel * c.kernel * c.expand) / 9,
      };
    }),
  );
  const lut = join(dir, "lut.json");
  writeFileSync(
    lut,
    JSON.stringify({
      format: "fairnas-latency-table",
      version: 1,
      spaceSignature: space.signature,
      entries,
    }),
  );

  it("startpoint of the made-up table is k7e6s in all 8 layers", () => {
    expect(table.best.map((c) => space.tokens[c])).toEqual(space.layers.map(() => "k7e6s"));
  });

  it("--max-latency-ms 2.5 --latency-table: within the budget, latency binds", async () => {
    const r = await cli([
      "specialize",
      "--run",
      dir,
      "--max-latency-ms",
      "2.5",
      "--latency-table",
      lut,
      "--json",
    ]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const ans = JSON.parse(r.out.trim());
    expect(ans.latencyMs).toBeLessThanOrEqual(2.5 + 1e-9);
    const tokens = ans.arch.split("-");
    const sum =
      1 +
      tokens.reduce(
        (s: number, t: string, l: number) => s + entries[`${space.layers[l].label}/${t}`].medianMs,
        0,
      );
    expect(ans.latencyMs).toBeCloseTo(sum, 9);
    expect(ans.binding).toBe("latencyMs");
    expect(ans.ms).toBeLessThan(1000);
  });

  it("--max-latency-ms 0.5 fails naming the minimum achievable latency", async () => {
    const r = await cli([
      "specialize",
      "--run",
      dir,
      "--max-latency-ms",
      "0.5",
      "--latency-table",
      lut,
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/minimum achievable latencyMs 1\.24/);
  });

  it("a latency table of another space is refused", async () => {
    const other = join(dir, "other.json");
    writeFileSync(
      other,
      JSON.stringify({ format: "fairnas-latency-table", spaceSignature: "0123", entries }),
    );
    const r = await cli([
      "specialize",
      "--run",
      dir,
      "--max-latency-ms",
      "2",
      "--latency-table",
      other,
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/signature 0123/);
  });

  it("leaves the saved table as it was written", () => {
    // specialize only reads ponas-table.json: after the runs above it is byte for byte
    // what makeRun wrote, 12 choices in each of the 8 layers.
    const text = readFileSync(join(dir, "ponas-table.json"), "utf8");
    expect(text).toBe(JSON.stringify(table));
    const saved = JSON.parse(text);
    expect(saved.costs.madds.map((r: number[]) => r.length)).toEqual(new Array(8).fill(12));
  });
});
