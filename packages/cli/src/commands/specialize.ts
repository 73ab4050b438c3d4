// `nas-cli specialize`: a network for a hardware budget, answered from a
// run's saved PONAS table with no training or search: the exact knapsack
// optimum and the greedy swap answer, their predicted loss and costs, and
// the binding constraint. `--sweep` prints the whole budget-to-accuracy
// curve, scored on the run's fine-tuned supernet when its checkpoint and
// data are there, and records it in ponas.json only when the run has no
// sweep there yet: a recorded sweep and the search comparison made at its
// budgets are results, not to be replaced behind the user's back.

import { existsSync, readFileSync } from "node:fs";
import type { Logger } from "@fairnas/kernels";
import {
  latencyCostsFromJson,
  predictedTop1,
  restoreSupernet,
  specializeTable,
  Supernet,
  tableArchString,
  type Budget,
  type LatencyCosts,
  type PonasTableFile,
  type Specialized,
} from "@fairnas/nas";
import { int, parse, UsageError } from "../args.ts";
import { fmt, readJsonFile, writeAtomic } from "../output.ts";
import { loadSplits, openGpu, readRunConfig } from "../session.ts";
import { ponasPath, ponasSpace, readTable, tableEvalData } from "../stages/ponas-files.ts";
import {
  logSweep,
  tableClasses,
  warnBelowChance,
  recordFile,
  supernetScorer,
  sweepPoints,
  type SweepRecordPoint,
} from "../stages/ponas-sweep.ts";

/** A sweep is a curve to plot; more points than this is a typo. */
const MAX_SWEEP_POINTS = 1000;

const KEYS = [
  ["madds", "max-madds", "min-madds"],
  ["params", "max-params", "min-params"],
  ["latencyMs", "max-latency-ms", "min-latency-ms"],
] as const;

type Key = (typeof KEYS)[number][0];

function bound(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || n < 0)
    throw new UsageError(`--${flag} must be a number >= 0 (0: no budget), got '${v}'`);
  return n;
}

type Flags = Readonly<Record<string, string | boolean | undefined>>;

/**
 * Budgets from the flags, in the order madds, params, latencyMs. As in the
 * config and `search`, a maximum of 0 means no budget, so it is left out.
 */
function budgetsFrom(v: Flags): Budget[] {
  const out: Budget[] = [];
  for (const [key, maxFlag, minFlag] of KEYS) {
    const max = bound(maxFlag, v[maxFlag] as string | undefined) || undefined;
    const min = bound(minFlag, v[minFlag] as string | undefined);
    if (max !== undefined || min !== undefined)
      out.push({
        key,
        ...(max !== undefined ? { max } : {}),
        ...(min !== undefined ? { min } : {}),
      });
  }
  return out;
}

/**
 * A sweep takes no budget: it runs from the cheapest network to the
 * startpoint. A budget flag of 0 (no budget) only picks the cost it runs
 * along; any other value would be ignored, so it is refused.
 */
function checkSweepFlags(v: Flags): void {
  for (const [, maxFlag, minFlag] of KEYS)
    for (const flag of [maxFlag, minFlag]) {
      const n = bound(flag, v[flag] as string | undefined);
      if (n !== undefined && n !== 0)
        throw new UsageError(
          `--sweep runs from the cheapest network to the startpoint and takes no budget; ` +
            `drop --${flag} ${v[flag]} (a 0, e.g. --max-params 0, picks the cost it runs along)`,
        );
    }
}

/** The cost a sweep runs along: the first one any budget flag names (0 included). */
function sweepKey(v: Flags): Key {
  const named = KEYS.find(
    ([, maxFlag, minFlag]) => v[maxFlag] !== undefined || v[minFlag] !== undefined,
  );
  return named?.[0] ?? "madds";
}

/** The JSON answer for one solver's result. */
function answerJson(
  t: PonasTableFile,
  r: Specialized & { feasible: true },
): Record<string, unknown> {
  return {
    arch: tableArchString(t, r.arch),
    madds: r.costs.madds,
    params: r.costs.params,
    latencyMs: r.costs.latencyMs ?? null,
    predictedLoss: r.predictedLoss,
    predictedTop1: predictedTop1(t, r.predictedLoss),
    binding: r.binding,
  };
}

function answerLine(t: PonasTableFile, name: string, r: Specialized & { feasible: true }): string {
  const lat = r.costs.latencyMs === undefined ? "" : ` | ${fmt(r.costs.latencyMs, 3)} ms`;
  return (
    `${name.padEnd(6)} ${tableArchString(t, r.arch)} | ` +
    `predicted loss ${fmt(100 * r.predictedLoss, 2)} pts ` +
    `(top-1 ${fmt(100 * predictedTop1(t, r.predictedLoss), 2)}%) | ` +
    `${fmt(r.costs.madds / 1e6, 3)} M MAdds | ` +
    `${fmt(r.costs.params / 1e6, 3)} M params${lat} | binding ${r.binding ?? "none"}`
  );
}

function loadLatency(file: string | undefined, t: PonasTableFile): LatencyCosts | null {
  if (file === undefined) return null;
  if (!existsSync(file)) throw new Error(`latency table ${file} does not exist`);
  return latencyCostsFromJson(file, readFileSync(file, "utf8"), t);
}

export async function specializeCommand(args: string[], log: Logger): Promise<void> {
  const { values: v } = parse(args, {
    run: { type: "string" },
    "max-madds": { type: "string" },
    "min-madds": { type: "string" },
    "max-params": { type: "string" },
    "min-params": { type: "string" },
    "max-latency-ms": { type: "string" },
    "min-latency-ms": { type: "string" },
    "latency-table": { type: "string" },
    points: { type: "string" },
    json: { type: "boolean" },
    sweep: { type: "boolean" },
    "no-measure": { type: "boolean" },
  });
  if (!v.run) throw new UsageError("specialize needs --run DIR");
  if (v.sweep) checkSweepFlags(v);
  else if (v.points !== undefined || v["no-measure"])
    throw new UsageError("--points and --no-measure belong to --sweep");
  const budgets = budgetsFrom(v);
  const usesLatency =
    budgets.some((b) => b.key === "latencyMs") || (v.sweep && sweepKey(v) === "latencyMs");
  if (usesLatency && !v["latency-table"])
    throw new UsageError("--max-latency-ms/--min-latency-ms need --latency-table FILE");
  if (!v.sweep && budgets.length === 0) {
    throw new UsageError(
      "specialize needs a budget: --max-madds X, --max-params Z or --max-latency-ms Y " +
        "(X, Y, Z > 0; 0 means no budget) or --sweep",
    );
  }
  if (v.json) log.level = "warn";
  const table = readTable(v.run);
  const latency = loadLatency(v["latency-table"], table);

  if (v.sweep) {
    const key = sweepKey(v);
    const points = int("points", v.points) ?? readRunConfig(v.run).ponas.sweepPoints;
    if (points < 1 || points > MAX_SWEEP_POINTS)
      throw new UsageError(`--points must be in 1..${MAX_SWEEP_POINTS}, got ${points}`);
    await runSweep(v.run, table, key, points, latency, !v["no-measure"], v.json ?? false, log);
    return;
  }

  const ans = specializeTable(table, budgets, latency);
  if (!ans.exact.feasible) throw new Error(ans.exact.message);
  if (v.json) {
    const greedy = ans.greedy.feasible
      ? answerJson(table, ans.greedy)
      : { error: ans.greedy.message };
    process.stdout.write(
      `${JSON.stringify({ ...answerJson(table, ans.exact), greedy, ms: ans.ms })}\n`,
    );
    return;
  }
  log.info(answerLine(table, "exact", ans.exact));
  log.info(
    ans.greedy.feasible ? answerLine(table, "greedy", ans.greedy) : `greedy ${ans.greedy.message}`,
  );
  const answers = ans.greedy.feasible ? [ans.exact, ans.greedy] : [ans.exact];
  warnBelowChance(
    log,
    answers.map((a) => predictedTop1(table, a.predictedLoss)),
    tableClasses(table),
  );
  log.info(`specialized in ${fmt(ans.ms, 2)} ms from ${ponasPath(v.run, "table")}`);
}

/** The sweep, measured on the run's fine-tuned supernet when it is there. */
async function runSweep(
  dir: string,
  table: PonasTableFile,
  key: Key,
  points: number,
  latency: LatencyCosts | null,
  measure: boolean,
  json: boolean,
  log: Logger,
): Promise<void> {
  // Read first: a damaged record is said before any measuring, not after.
  const old = readRecord(dir);
  const ckpt = ponasPath(dir, "supernet");
  let result: SweepRecordPoint[];
  if (measure && existsSync(ckpt)) {
    const cfg = readRunConfig(dir);
    const space = ponasSpace(cfg);
    const data = await loadSplits(cfg, space);
    const gpu = await openGpu(log);
    const net = new Supernet(gpu, space, cfg.seed);
    try {
      await restoreSupernet(gpu, net, ckpt);
      const ev = tableEvalData(gpu, cfg, data, space);
      try {
        result = await sweepPoints(table, key, points, latency, supernetScorer(gpu, net, ev));
      } finally {
        ev.dispose();
      }
    } finally {
      net.dispose();
      gpu.destroy();
    }
  } else {
    if (measure) log.warn(`no fine-tuned supernet at ${ckpt}: sweep without measured accuracy`);
    result = await sweepPoints(table, key, points, latency, null);
  }
  if (json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    warnBelowChance(
      log,
      result.map((p) => p.predicted),
      tableClasses(table),
    );
  } else logSweep(log, result, tableClasses(table));
  record(dir, old, table, result, log);
}

/**
 * Writes the sweep into ponas.json when the run has none recorded (no
 * file, or `ponas --no-sweep`); otherwise leaves the file as it is and
 * says so, since its comparison with a search was made at its own budgets.
 */
function record(
  dir: string,
  old: Record<string, unknown>,
  table: PonasTableFile,
  result: SweepRecordPoint[],
  log: Logger,
): void {
  const path = ponasPath(dir, "record");
  const recorded = Array.isArray(old.sweep) ? old.sweep.length : 0;
  if (recorded > 0 || old.compare !== undefined) {
    const what = old.compare === undefined ? "" : " and the search comparison made at its budgets";
    log.warn(
      `${path} keeps its recorded sweep (${recorded} points)${what}; ` +
        "this sweep is printed only",
    );
    return;
  }
  writeAtomic(path, `${JSON.stringify({ ...old, ...recordFile(table, result) }, null, 1)}\n`);
  log.info(`sweep recorded in ${path}`);
}

/** The run's ponas.json ({} when there is none); errors name the file. */
function readRecord(dir: string): Record<string, unknown> {
  const path = ponasPath(dir, "record");
  if (!existsSync(path)) return {};
  const v = readJsonFile(path, "move it away to sweep anew");
  if (v === null || typeof v !== "object" || Array.isArray(v))
    throw new Error(`${path}: expected a JSON object; move it away to sweep anew`);
  return v as Record<string, unknown>;
}
