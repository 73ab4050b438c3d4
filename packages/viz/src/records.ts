// Run-directory records as the report reads them, and readRun, which loads
// whichever of them a run directory holds. Only config.json is required;
// every other file is optional and missing ones come back as null.
// A malformed file throws a RecordError naming the file and the line.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { jsonErrorOffset } from "./json-locate.ts";
import type {
  SummaryRecord,
  StepRecord,
  FairnessRecord,
  SearchGenerationRecord,
  MetricsRecords,
  ArchitectureRow,
  ParetoPoint,
  RankingPanel,
  AblationRecord,
  SimilarityRecord,
  PonasRecord,
  LatencyRecord,
  BenchRecord,
  RunRecords,
} from "./record-types.ts";

export type * from "./record-types.ts";

export const RUN_RECORD_FILES = [
  "config.json",
  "summary.json",
  "metrics.jsonl",
  "architectures.csv",
  "pareto.json",
  "ranking.json",
  "ablation.json",
  "similarity.json",
  "ponas.json",
  "latency.json",
  "bench.json",
] as const;

/** A record file that cannot be read as its format says. */
export class RecordError extends Error {
  override name = "RecordError";

  constructor(
    readonly file: string,
    readonly line: number,
    detail: string,
  ) {
    // line 0: the file as a whole (for example, a missing one).
    super(`${line > 0 ? `${file}:${line}` : file}: ${detail}`);
  }
}

/** 1-based line of a character offset in `text`. */
function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) line++;
  }
  return line;
}

/** JSON.parse whose errors carry the file name and line. */
export function parseJsonText(file: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    const at = jsonErrorOffset(text);
    const line = lineAt(text, at < 0 ? text.length : at);
    const msg = (e as Error).message.split("\n")[0]!;
    throw new RecordError(file, line, `invalid JSON: ${msg}`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Throws unless every named field of `o` is a finite number. */
function needNumbers(
  file: string,
  line: number,
  o: unknown,
  where: string,
  keys: readonly string[],
): void {
  if (!isObject(o)) throw new RecordError(file, line, `${where}: expected an object`);
  for (const k of keys) {
    const v = o[k];
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new RecordError(
        file,
        line,
        `${where}.${k}: expected a finite number, got ${JSON.stringify(v)}`,
      );
    }
  }
}

/** Throws unless every named field of `o` is a string. */
function needStrings(
  file: string,
  o: Record<string, unknown>,
  where: string,
  keys: readonly string[],
): void {
  for (const k of keys) {
    if (typeof o[k] !== "string") {
      throw new RecordError(
        file,
        1,
        `${where}.${k}: expected a string, got ${JSON.stringify(o[k])}`,
      );
    }
  }
}

function needArray(file: string, v: unknown, where: string): readonly unknown[] {
  if (!Array.isArray(v)) throw new RecordError(file, 1, `${where}: expected an array`);
  return v;
}

/**
 * One JSON-lines file: blank lines skipped, others must be objects with a
 * string `type`. A last line without its newline that does not parse is
 * what a run stopped mid-append leaves (`--resume` drops it too): it is
 * skipped and reported as `cutLastLine`. Anywhere else bad JSON is an error.
 */
export function parseMetricsText(file: string, text: string): MetricsRecords {
  const steps: StepRecord[] = [];
  const fairness: FairnessRecord[] = [];
  const generations: SearchGenerationRecord[] = [];
  const other = new Map<string, number>();
  const lines = text.split("\n");
  let cutLastLine: number | null = null;
  for (const [i, raw] of lines.entries()) {
    if (raw.trim() === "") continue;
    const line = i + 1;
    if (i === lines.length - 1 && !isJson(raw)) {
      cutLastLine = line;
      continue;
    }
    const r = parseJsonLine(file, line, raw);
    if (r.type === "step") {
      needNumbers(file, line, r, "step", ["step", "loss", "top1", "lr"]);
      steps.push(r as unknown as StepRecord);
    } else if (r.type === "fairness") {
      needNumbers(file, line, r, "fairness", ["step"]);
      if (!Array.isArray(r.counts) || !Array.isArray(r.spread)) {
        throw new RecordError(file, line, "fairness: counts and spread must be arrays");
      }
      fairness.push(r as unknown as FairnessRecord);
    } else if (r.type === "search-generation") {
      needNumbers(file, line, r, "search-generation", ["generation", "hypervolume"]);
      generations.push(r as unknown as SearchGenerationRecord);
    } else {
      const t = String(r.type);
      other.set(t, (other.get(t) ?? 0) + 1);
    }
  }
  const otherTypes = Object.fromEntries([...other].sort(([a], [b]) => (a < b ? -1 : 1)));
  return { steps, fairness, generations, otherTypes, cutLastLine };
}

function isJson(raw: string): boolean {
  try {
    JSON.parse(raw);
    return true;
  } catch {
    return false;
  }
}

function parseJsonLine(file: string, line: number, raw: string): Record<string, unknown> {
  let r: unknown;
  try {
    r = JSON.parse(raw) as unknown;
  } catch (e) {
    throw new RecordError(file, line, `invalid JSON: ${(e as Error).message}`);
  }
  if (!isObject(r)) throw new RecordError(file, line, "expected a JSON object");
  if (typeof r.type !== "string") throw new RecordError(file, line, "missing string field 'type'");
  return r;
}

const CSV_HEAD = "arch,hash,val_top1,val_loss,bn,images,madds,params";

/** architectures.csv as written by `nas-cli run`. */
export function parseArchitecturesText(file: string, text: string): ArchitectureRow[] {
  const lines = text.split("\n");
  if (lines[0]?.trim() !== CSV_HEAD) {
    throw new RecordError(file, 1, `expected header '${CSV_HEAD}', got '${lines[0] ?? ""}'`);
  }
  const rows: ArchitectureRow[] = [];
  for (const [i, raw] of lines.entries()) {
    if (i === 0 || raw.trim() === "") continue;
    const f = raw.split(",");
    if (f.length !== 8) throw new RecordError(file, i + 1, `expected 8 fields, got ${f.length}`);
    const num = (k: number, name: string) => {
      const v = Number(f[k]);
      if (f[k]!.trim() === "" || !Number.isFinite(v)) {
        throw new RecordError(file, i + 1, `${name}: expected a number, got '${f[k]}'`);
      }
      return v;
    };
    rows.push({
      arch: f[0]!,
      hash: f[1]!,
      valTop1: num(2, "val_top1"),
      valLoss: num(3, "val_loss"),
      bn: f[4]!,
      images: num(5, "images"),
      madds: num(6, "madds"),
      params: num(7, "params"),
    });
  }
  return rows;
}

/** Shape checks for the JSON files; each returns the value typed. */
const JSON_CHECKS = {
  summary(file: string, v: unknown): SummaryRecord {
    needNumbers(file, 1, v, "summary", [
      "trainSteps",
      "trainSeconds",
      "pathImagesPerSec",
      "poolHighWaterBytes",
      "totalSeconds",
    ]);
    const o = v as Record<string, unknown>;
    needStrings(file, o, "summary", ["device"]);
    needArray(file, o.best, "summary.best").forEach((b, i) => {
      const where = `summary.best[${i}]`;
      needNumbers(file, 1, b, where, ["top1", "loss", "madds"]);
      needStrings(file, b as Record<string, unknown>, where, ["arch", "bn"]);
    });
    if (o.standalone !== undefined) {
      needArray(file, o.standalone, "summary.standalone").forEach((g, i) => {
        const where = `summary.standalone[${i}]`;
        needNumbers(file, 1, g, where, ["testTop1", "valTop1", "epochs"]);
        if (typeof (g as Record<string, unknown>).arch !== "string")
          throw new RecordError(file, 1, `${where}.arch: expected a string`);
      });
    }
    return v as SummaryRecord;
  },
  pareto(file: string, v: unknown): ParetoPoint[] {
    const a = needArray(file, v, "pareto");
    a.forEach((p, i) => needNumbers(file, 1, p, `pareto[${i}]`, ["top1", "madds"]));
    return a as ParetoPoint[];
  },
  ranking(file: string, v: unknown): RankingPanel[] {
    const a = needArray(file, v, "ranking");
    for (const [i, p] of a.entries()) {
      needNumbers(file, 1, p, `ranking[${i}]`, ["spearman", "n"]);
      const r = p as Record<string, unknown>;
      needNumbers(file, 1, r.tauB, `ranking[${i}].tauB`, ["value", "lo", "hi"]);
      needArray(file, r.points, `ranking[${i}].points`);
    }
    return a as RankingPanel[];
  },
  ablation(file: string, v: unknown): AblationRecord {
    if (!isObject(v)) throw new RecordError(file, 1, "ablation: expected an object");
    needArray(file, v.rows, "ablation.rows");
    return v as unknown as AblationRecord;
  },
  similarity(file: string, v: unknown): SimilarityRecord[] {
    const a = needArray(file, v, "similarity");
    for (const [i, s] of a.entries()) {
      const r = s as Record<string, unknown>;
      const m = needArray(file, r?.matrix, `similarity[${i}].matrix`);
      const c = needArray(file, r?.choices, `similarity[${i}].choices`);
      if (m.length !== c.length) {
        throw new RecordError(
          file,
          1,
          `similarity[${i}]: matrix has ${m.length} rows for ${c.length} choices`,
        );
      }
    }
    return a as SimilarityRecord[];
  },
  ponas(file: string, v: unknown): PonasRecord {
    if (!isObject(v) || !isObject(v.table))
      throw new RecordError(file, 1, "ponas: expected {table, ...}");
    needArray(file, v.table.top1, "ponas.table.top1");
    needArray(file, v.maxLoss, "ponas.maxLoss");
    needArray(file, v.sweep, "ponas.sweep");
    if (v.compare !== undefined) {
      if (!isObject(v.compare) || !isObject(v.compare.search))
        throw new RecordError(file, 1, "ponas.compare: expected {search, points, ...}");
      needArray(file, v.compare.points, "ponas.compare.points");
    }
    return v as unknown as PonasRecord;
  },
  latency(file: string, v: unknown): LatencyRecord {
    if (!isObject(v) || !isObject(v.adapter))
      throw new RecordError(file, 1, "latency: expected {adapter, checks}");
    needArray(file, v.checks, "latency.checks");
    return v as unknown as LatencyRecord;
  },
  bench(file: string, v: unknown): BenchRecord {
    if (!isObject(v)) throw new RecordError(file, 1, "bench: expected an object");
    needNumbers(file, 1, v.ceilings, "bench.ceilings", ["gflops", "gbps"]);
    needArray(file, v.kernels, "bench.kernels");
    needArray(file, v.blocks, "bench.blocks");
    return v as unknown as BenchRecord;
  },
} as const;

function readText(dir: string, file: string): string | null {
  const path = join(dir, file);
  return existsSync(path) ? readFileSync(path, "utf8") : null;
}

function readJson<T>(dir: string, file: string, check: (file: string, v: unknown) => T): T | null {
  const text = readText(dir, file);
  return text === null ? null : check(file, parseJsonText(file, text));
}

/** Loads the records of one run directory; only config.json must exist. */
export function readRun(dir: string): RunRecords {
  const configText = readText(dir, "config.json");
  if (configText === null) {
    throw new RecordError("config.json", 0, `no config.json in run directory ${dir}`);
  }
  const config = parseJsonText("config.json", configText);
  if (!isObject(config)) throw new RecordError("config.json", 1, "expected a JSON object");
  const metricsText = readText(dir, "metrics.jsonl");
  const csvText = readText(dir, "architectures.csv");
  return {
    name: dirName(dir),
    config,
    summary: readJson(dir, "summary.json", JSON_CHECKS.summary),
    metrics: metricsText === null ? null : parseMetricsText("metrics.jsonl", metricsText),
    architectures: csvText === null ? null : parseArchitecturesText("architectures.csv", csvText),
    pareto: readJson(dir, "pareto.json", JSON_CHECKS.pareto),
    ranking: readJson(dir, "ranking.json", JSON_CHECKS.ranking),
    ablation: readJson(dir, "ablation.json", JSON_CHECKS.ablation),
    similarity: readJson(dir, "similarity.json", JSON_CHECKS.similarity),
    ponas: readJson(dir, "ponas.json", JSON_CHECKS.ponas),
    latency: readJson(dir, "latency.json", JSON_CHECKS.latency),
    bench: readJson(dir, "bench.json", JSON_CHECKS.bench),
  };
}

/** Last path component, so no absolute path reaches the report. */
function dirName(dir: string): string {
  const parts = dir.split(/[\\/]+/).filter((p) => p !== "" && p !== ".");
  return parts[parts.length - 1] ?? "run";
}
