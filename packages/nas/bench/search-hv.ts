// Hypervolume of the searchers' fronts at equal evaluation budget, on a
// trained supernet run directory:
//
//   npx tsx packages/nas/bench/search-hv.ts RUN_DIR [--seeds 3]
//       [--generations 4] [--population 8] [--val-images 256] [--record]
//
// Every algorithm runs with the same population and generations, so each
// spends population * (generations + 1) distinct evaluations (random draws
// the same number per generation). The front is the non-dominated feasible
// set of everything evaluated; its hypervolume is taken in one space for
// all runs: [-top1, MAdds, params], each cost scaled to 0 at its cheapest
// achievable value and 1 at 1.1x its largest, reference point [0, 1, 1].
// Larger is better; the unit is top-1 x normalized MAdds x normalized params.
//
// Scores are cached by architecture hash across all runs (they depend only
// on the supernet and the validation images), so shared architectures are
// scored once. --record also writes each run's search-generation records
// and fronts to the run directory, for the report.
//
// NOTE: this script restores the run through the CLI's session and search
// stage (packages/cli), the one place that rebuilds a run's data split; it
// is a script, not part of the nas package's API, so the package's own
// dependency direction (cli -> nas) is unchanged.

import { parseArgs } from "node:util";
import { Logger } from "@fairnas/kernels";
import { openRun, searchStage, type ParetoEntry, type SearchAlgo } from "@fairnas/cli";
import { blockCost, costOf, hypervolume, type ResolvedSpace } from "../mod.ts";

const ALGOS: readonly SearchAlgo[] = ["nsga2-ppo", "nsga2", "random"];

interface Options {
  readonly dir: string;
  readonly seeds: number;
  readonly generations: number;
  readonly population: number;
  readonly valImages: number;
  readonly record: boolean;
}

function options(argv: string[]): Options {
  const { values: v, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      seeds: { type: "string" },
      generations: { type: "string" },
      population: { type: "string" },
      "val-images": { type: "string" },
      record: { type: "boolean" },
    },
  });
  const dir = positionals[0];
  if (!dir) {
    throw new Error(
      "usage: search-hv.ts RUN_DIR [--seeds N] [--generations G] " +
        "[--population P] [--val-images N] [--record]",
    );
  }
  const num = (s: string | undefined, d: number): number => (s === undefined ? d : Number(s));
  return {
    dir,
    seeds: num(v.seeds, 3),
    generations: num(v.generations, 4),
    population: num(v.population, 8),
    valImages: num(v["val-images"], 256),
    record: v.record ?? false,
  };
}

/** Cheapest and largest achievable MAdds and params (costs are per-layer sums). */
function costRange(space: ResolvedSpace): { lo: number[]; hi: number[] } {
  const pick = (key: "madds" | "params", sign: 1 | -1): number => {
    const arch = space.layers.map((_, l) => {
      let best = 0;
      for (let c = 1; c < space.tokens.length; c++) {
        if (sign * blockCost(space, l, c)[key] < sign * blockCost(space, l, best)[key]) best = c;
      }
      return best;
    });
    return costOf(space, arch)[key];
  };
  return { lo: [pick("madds", 1), pick("params", 1)], hi: [pick("madds", -1), pick("params", -1)] };
}

function frontHypervolume(space: ResolvedSpace, front: readonly ParetoEntry[]): number {
  const { lo, hi } = costRange(space);
  const scale = (x: number, k: number): number => (x - lo[k]) / (1.1 * hi[k] - lo[k]);
  const points = front.map((p) => [-p.top1, scale(p.madds, 0), scale(p.params, 1)]);
  return hypervolume(points, [0, 1, 1]);
}

function meanStd(xs: readonly number[]): { mean: number; std: number } {
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  const v = xs.length > 1 ? xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1) : 0;
  return { mean, std: Math.sqrt(v) };
}

interface AlgoRow {
  readonly algo: SearchAlgo;
  readonly hv: number[];
  readonly evals: number[];
  readonly frontSize: number[];
}

async function main(): Promise<void> {
  const o = options(process.argv.slice(2));
  const log = new Logger(process.stdout, process.stderr, "info");
  const run = await openRun(o.dir, log);
  const cache = new Map<string, number>();
  const rows: AlgoRow[] = ALGOS.map((algo) => ({ algo, hv: [], evals: [], frontSize: [] }));
  const t0 = performance.now();
  try {
    for (let seed = 1; seed <= o.seeds; seed++) {
      for (const row of rows) {
        const r = await searchStage(
          run,
          {
            algo: row.algo,
            seed,
            generations: o.generations,
            population: o.population,
            valImages: o.valImages,
            cache,
            write: o.record,
            print: false,
            maxMadds: 0,
            maxParams: 0,
            maxLatencyMs: 0,
            third: "params",
          },
          log,
        );
        row.hv.push(frontHypervolume(run.space, r.front));
        row.evals.push(r.evaluations);
        row.frontSize.push(r.front.length);
        log.info(
          `seed ${seed} | ${row.algo.padEnd(9)} | HV ${row.hv.at(-1)!.toFixed(5)} | ` +
            `evals ${r.evaluations} | front ${r.front.length} | scored so far ${cache.size}`,
        );
      }
    }
  } finally {
    run.close();
  }
  report(log, o, rows, cache.size, (performance.now() - t0) / 1000);
}

function report(
  log: Logger,
  o: Options,
  rows: readonly AlgoRow[],
  scored: number,
  seconds: number,
): void {
  log.info("");
  log.info(`hypervolume of the final front (top-1 x norm. MAdds x norm. params; higher is better)`);
  log.info(
    `population ${o.population} | generations ${o.generations} | seeds ${o.seeds} | ` +
      `${o.valImages} validation images | ${scored} distinct archs scored | ${seconds.toFixed(0)} s`,
  );
  const random = meanStd(rows.find((r) => r.algo === "random")!.hv).mean;
  for (const r of rows) {
    const hv = meanStd(r.hv);
    const ev = meanStd(r.evals);
    const vsRandom =
      random > 0 ? `${(100 * (hv.mean / random - 1)).toFixed(1).padStart(6)}%` : "     -";
    log.info(
      `${r.algo.padEnd(9)} | HV mean ${hv.mean.toFixed(5)} | std ${hv.std.toFixed(5)} | ` +
        `min ${Math.min(...r.hv).toFixed(5)} | max ${Math.max(...r.hv).toFixed(5)} | ` +
        `vs random ${vsRandom} | evals ${ev.mean.toFixed(1).padStart(5)} | ` +
        `front ${meanStd(r.frontSize).mean.toFixed(1).padStart(4)}`,
    );
  }
}

await main();
