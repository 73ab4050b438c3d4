// `nas-cli search`: multi-objective search on a trained run (see
// ../stages/search-stage.ts for objectives, budgets and the files written).
//
//   search --run DIR [--algo nsga2-ppo|nsga2|random] [--generations G]
//          [--population P] [--max-madds X] [--max-params Z]
//          [--max-latency-ms Y --latency-table FILE] [--third params|latency]
//          [--val-images N] [--seed N] [--json]
// (every option is listed with its default in ../help.ts)

import { accessSync, constants, existsSync, readFileSync, statSync } from "node:fs";
import type { Logger, Sink } from "@fairnas/kernels";
import { int, parse, UsageError } from "../args.ts";
import { MAX_POPULATION } from "../config.ts";
import { writeAtomic } from "../output.ts";
import { openRun, readRunConfig, runPath } from "../session.ts";
import {
  frontJson,
  SEARCH_ALGOS,
  searchStage,
  type SearchAlgo,
  type SearchStageOptions,
  type SearchStageResult,
} from "../stages/search-stage.ts";

const OPTIONS = {
  run: { type: "string" },
  algo: { type: "string" },
  generations: { type: "string" },
  population: { type: "string" },
  "max-madds": { type: "string" },
  "max-params": { type: "string" },
  "max-latency-ms": { type: "string" },
  "latency-table": { type: "string" },
  third: { type: "string" },
  "val-images": { type: "string" },
  seed: { type: "string" },
  json: { type: "boolean" },
  verbose: { type: "boolean", short: "v" },
} as const;

function budget(name: string, s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const n = Number(s);
  if (s.trim() === "" || !Number.isFinite(n) || n < 0) {
    throw new UsageError(`--${name} must be a number >= 0 (0: no budget), got '${s}'`);
  }
  return n;
}

function thirdObjective(s: string | undefined): SearchStageOptions["third"] {
  if (s === undefined) return undefined;
  if (s === "params") return "params";
  // The config spells it latencyMs; both spellings are accepted here.
  if (s === "latency" || s === "latencyMs") return "latencyMs";
  throw new UsageError(`--third must be params or latency (latencyMs), got '${s}'`);
}

export interface SearchArgs {
  readonly run: string;
  readonly json: boolean;
  readonly verbose: boolean;
  readonly opts: SearchStageOptions;
}

/** Flags to stage options; unset flags stay unset (the run's config decides). */
export function searchOptions(args: string[]): SearchArgs {
  const { values: v } = parse(args, OPTIONS);
  if (!v.run) throw new UsageError("search needs --run DIR (a trained run directory)");
  if (v.algo !== undefined && !SEARCH_ALGOS.includes(v.algo as SearchAlgo)) {
    throw new UsageError(`--algo must be one of ${SEARCH_ALGOS.join(", ")}, got '${v.algo}'`);
  }
  const third = thirdObjective(v.third);
  const population = int("population", v.population);
  if (population !== undefined && (population < 2 || population > MAX_POPULATION)) {
    throw new UsageError(`--population must be in [2, ${MAX_POPULATION}], got ${population}`);
  }
  return {
    run: v.run,
    json: v.json ?? false,
    verbose: v.verbose ?? false,
    opts: {
      algo: v.algo as SearchAlgo | undefined,
      generations: int("generations", v.generations),
      population,
      seed: int("seed", v.seed),
      maxMadds: budget("max-madds", v["max-madds"]),
      maxParams: budget("max-params", v["max-params"]),
      maxLatencyMs: budget("max-latency-ms", v["max-latency-ms"]),
      latencyTable: v["latency-table"],
      third,
      valImages: int("val-images", v["val-images"]),
    },
  };
}

/**
 * A run's summary.json (written by `run`), read before a search so that a
 * file the search could not update is said at the start: null, with a
 * warning naming the file, when it is not a writable JSON object; null
 * without one when there is none.
 */
export function readSummary(dir: string, log: Logger): Record<string, unknown> | null {
  const path = runPath(dir, "summary");
  if (!existsSync(path)) return null;
  const skip = (why: string): null => {
    log.warn(`${path} ${why}; the search will not update it`);
    return null;
  };
  try {
    if (!statSync(path).isFile()) return skip("is not a file");
    accessSync(path, constants.W_OK);
  } catch (e) {
    return skip(`cannot be written (${(e as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    return skip(`is not valid JSON (${(e as Error).message})`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    return skip("is not a JSON object");
  }
  return parsed as Record<string, unknown>;
}

/**
 * Replaces the search part of a summary read by readSummary (front,
 * evaluations, and frontFrom naming the search) so that summary.json and
 * pareto.json agree.
 */
export function updateSummary(
  dir: string,
  summary: Record<string, unknown>,
  r: SearchStageResult,
  log: Logger,
): void {
  const front = r.front.map((p) => ({
    arch: p.arch,
    top1: p.top1,
    madds: p.madds,
    params: p.params,
  }));
  const { algo, seed, third, constraints } = r;
  const next = {
    ...summary,
    front,
    searchEvaluations: r.evaluations,
    frontFrom: { command: "search", algo, seed, third, constraints },
  };
  writeAtomic(runPath(dir, "summary"), `${JSON.stringify(next, null, 2)}\n`);
  log.info(`summary.json: front replaced by this ${algo} search (${front.length} architectures)`);
}

/** --val-images past the run's validation split scores the whole split; said once. */
export function warnClamped(valImages: number | undefined, valSize: number, log: Logger): void {
  if (valImages !== undefined && valImages > valSize)
    log.warn(
      `--val-images ${valImages} exceeds the run's ${valSize} validation images; ` +
        `lowered to ${valSize}`,
    );
}

/** `out` receives the `--json` front (stdout unless a test hands a sink). */
export async function searchCommand(
  args: string[],
  log: Logger,
  out: Sink = process.stdout,
): Promise<void> {
  const { run: dir, json, verbose, opts } = searchOptions(args);
  if (verbose) log.level = "debug";
  if (json) log.level = "warn";
  readRunConfig(dir); // a clear error before any data or device work
  const run = await openRun(dir, log);
  try {
    warnClamped(opts.valImages, run.data.valOrder.length, log);
    const summary = readSummary(dir, log);
    const r = await searchStage(run, opts, log);
    if (json) out.write(`${frontJson(r.front)}\n`);
    if (summary) updateSummary(dir, summary, r, log);
  } finally {
    run.close();
  }
}
