// `nas-cli latency`: build a latency lookup table on this adapter, or check
// a table's predictions against whole networks timed end to end.
//
//   latency build --space SPACE [--batch 1] [--out FILE] [--repeats N]
//   latency check --table FILE [--archs N] [--run DIR] [--repeats N] [--seed N]
//
// Both time the same way (see packages/nas/src/latency/measure.ts): forward
// only, BN from running statistics, warm-ups first, then `repeats` samples
// of `inner` back-to-back runs each; the median sample is kept.

import { Rng, type Gpu, type Logger } from "@fairnas/kernels";
import {
  archToString,
  buildLatencyTable,
  DEFAULT_TIMING,
  getSpace,
  largestArch,
  latencyModel,
  LATENCY_FORMAT,
  latencyTableJson,
  loadLatencyTable,
  measureNetwork,
  randomArch,
  resolveSpace,
  smallestArch,
  Supernet,
  tableSpace,
  type Arch,
  type LatencyTable,
  type ResolvedSpace,
  type TimingOptions,
} from "@fairnas/nas";
import { int, parse, UsageError } from "../args.ts";
import { checkOutFile, fmt, writeAtomic, type OutKind } from "../output.ts";
import { loadSpace, openGpu, readRunConfig } from "../session.ts";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

/** Relative errors above this are flagged by `latency check`. */
export const LATENCY_FLAG = 0.15;
const CHECK_STREAM = 0x1a7c;

const OPTIONS = {
  space: { type: "string" },
  batch: { type: "string" },
  out: { type: "string" },
  repeats: { type: "string" },
  warmups: { type: "string" },
  inner: { type: "string" },
  table: { type: "string" },
  archs: { type: "string" },
  run: { type: "string" },
  seed: { type: "string" },
} as const;

export async function latencyCommand(args: string[], log: Logger): Promise<void> {
  const [sub, ...rest] = args;
  if (sub !== "build" && sub !== "check")
    throw new UsageError(`latency needs a subcommand: build or check (got '${sub ?? ""}')`);
  const { values: v } = parse(rest, OPTIONS);
  const timing = timingFrom(v);
  if (sub === "build") {
    if (!v.space)
      throw new UsageError(
        "latency build needs --space SPACE (a preset name or a space JSON file)",
      );
    const space = resolveSpace(getSpace(v.space));
    const batch = positive("batch", v.batch) ?? 1;
    const out = v.out ?? `latency-${space.spec.name}-batch${batch}.json`;
    // Said before the measuring, not when the table is written.
    checkOutFile(out, TABLE_OUT);
    if (existsSync(out)) log.info(`${out} exists; it is replaced when the new table is complete`);
    await latencyBuild(space, batch, out, timing, log);
    return;
  }
  if (!v.table) throw new UsageError("latency check needs --table FILE");
  const archs = positive("archs", v.archs) ?? 8;
  await latencyCheck(v.table, { archs, timing, run: v.run, seed: int("seed", v.seed) ?? 1 }, log);
}

/** A latency table is a few hundred entries; a larger file is something else. */
const MAX_TABLE_BYTES = 16 * 2 ** 20;

/** --out may replace an earlier latency table only (checkOutFile). */
const TABLE_OUT: OutKind = {
  what: "latency table",
  noun: "table",
  ours: (path) => isLatencyTable(path, statSync(path).size),
};

/** Whether `path` holds JSON marked as a latency table (any format version). */
function isLatencyTable(path: string, bytes: number): boolean {
  if (bytes > MAX_TABLE_BYTES) return false;
  try {
    const v = JSON.parse(readFileSync(path, "utf8")) as { format?: unknown } | null;
    return v !== null && typeof v === "object" && v.format === LATENCY_FORMAT;
  } catch {
    return false;
  }
}

function positive(name: string, s: string | undefined): number | undefined {
  const n = int(name, s);
  if (n === 0) throw new UsageError(`--${name} must be at least 1`);
  return n;
}

function timingFrom(v: { repeats?: string; warmups?: string; inner?: string }): TimingOptions {
  return {
    repeats: positive("repeats", v.repeats) ?? DEFAULT_TIMING.repeats,
    warmups: int("warmups", v.warmups) ?? DEFAULT_TIMING.warmups,
    inner: positive("inner", v.inner) ?? DEFAULT_TIMING.inner,
  };
}

/** Times every piece of `space` and writes the table to `out`. */
export async function latencyBuild(
  space: ResolvedSpace,
  batch: number,
  out: string,
  timing: TimingOptions,
  log: Logger,
): Promise<LatencyTable> {
  const gpu = await openGpu(log);
  try {
    log.info(
      `latency table: space ${space.spec.name} | batch ${batch} | ${gpu.adapter.description}`,
    );
    log.info(
      `timing: ${timing.warmups} warm-ups, ${timing.repeats} samples of ${timing.inner} runs each`,
    );
    const t0 = performance.now();
    const table = await buildLatencyTable(gpu, space, {
      batch,
      ...timing,
      onEntry: (key, s, done, total) =>
        log.info(
          `entry ${String(done).padStart(3)}/${total} | ${key.padEnd(22)} | ` +
            `${fmt(s.medianMs, 3, 8)} ms | p10 ${fmt(s.p10Ms, 3)} p90 ${fmt(s.p90Ms, 3)} | ` +
            `n ${s.count}`,
        ),
    });
    // A rebuilt table replaces the old one whole (atomically); say so. The
    // check is made again: something else may have taken `out` meanwhile.
    checkOutFile(out, TABLE_OUT);
    const replaced = existsSync(out);
    writeAtomic(out, latencyTableJson(table));
    log.info(
      `${replaced ? "replaced" : "wrote"} ${out} (${Object.keys(table.entries).length} entries, ` +
        `${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    );
    return table;
  } finally {
    gpu.destroy();
  }
}

export interface CheckOptions {
  readonly archs: number;
  readonly timing: TimingOptions;
  /** Run directory to receive latency.json (its space must match the table's). */
  readonly run?: string;
  readonly seed: number;
}

export interface LatencyCheck {
  readonly arch: string;
  readonly predictedMs: number;
  readonly measuredMs: number;
  /** (predicted - measured) / measured. */
  readonly relError: number;
}

/** Smallest, largest, then seeded random architectures, distinct, `count` in all. */
export function checkArchs(space: ResolvedSpace, count: number, seed: number): Arch[] {
  const rng = Rng.derive(seed, CHECK_STREAM);
  const seen = new Map<string, Arch>();
  const total = space.tokens.length ** space.layers.length;
  const want = Math.min(count, total);
  for (const a of [smallestArch(space), largestArch(space)]) {
    if (seen.size < want) seen.set(archToString(space, a), a);
  }
  for (let tries = 0; seen.size < want && tries < 100 * want; tries++) {
    const a = randomArch(space, rng);
    seen.set(archToString(space, a), a);
  }
  return [...seen.values()];
}

/** Measures networks end to end and compares with the table's predictions. */
export async function latencyCheck(
  file: string,
  opts: CheckOptions,
  log: Logger,
): Promise<LatencyCheck[]> {
  const gpu = await openGpu(log);
  try {
    const table = loadLatencyTable(file, gpu.adapter, log);
    const space = tableSpace(table);
    if (opts.run) sameSpaceAsRun(opts.run, space);
    const checks = await measureChecks(gpu, table, space, opts, log);
    const bad = checks.filter((c) => Math.abs(c.relError) > LATENCY_FLAG);
    const mean = checks.reduce((s, c) => s + Math.abs(c.relError), 0) / checks.length;
    log.info(
      `mean |relative error| ${(100 * mean).toFixed(1)}% over ${checks.length} networks; ` +
        `${bad.length} above ${100 * LATENCY_FLAG}%`,
    );
    if (bad.length > 0) {
      log.warn(
        `${bad.length} of ${checks.length} networks predicted with error above ` +
          `${100 * LATENCY_FLAG}% (table ${file})`,
      );
    }
    if (opts.run) {
      const rec = { adapter: table.adapter, batch: table.batch, checks };
      writeAtomic(join(opts.run, "latency.json"), `${JSON.stringify(rec, null, 1)}\n`);
      log.info(`wrote ${join(opts.run, "latency.json")}`);
    }
    return checks;
  } finally {
    gpu.destroy();
  }
}

function sameSpaceAsRun(dir: string, space: ResolvedSpace): void {
  const runSpace = loadSpace(readRunConfig(dir));
  if (runSpace.signature !== space.signature) {
    throw new Error(
      `latency table is for space '${space.spec.name}' but run ${dir} ` +
        `uses '${runSpace.spec.name}'; build a table with --space ${runSpace.spec.name}`,
    );
  }
}

async function measureChecks(
  gpu: Gpu,
  table: LatencyTable,
  space: ResolvedSpace,
  opts: CheckOptions,
  log: Logger,
): Promise<LatencyCheck[]> {
  const model = latencyModel(table, space);
  const net = new Supernet(gpu, space, 1);
  const out: LatencyCheck[] = [];
  try {
    for (const arch of checkArchs(space, opts.archs, opts.seed)) {
      const s = await measureNetwork(gpu, net, arch, table.batch, opts.timing);
      const predictedMs = model.predict(arch);
      const relError = (predictedMs - s.medianMs) / s.medianMs;
      const c = { arch: archToString(space, arch), predictedMs, measuredMs: s.medianMs, relError };
      out.push(c);
      const flag = Math.abs(relError) > LATENCY_FLAG ? " | FLAG > 15%" : "";
      log.info(
        `${c.arch} | predicted ${fmt(predictedMs, 3, 8)} ms | measured ` +
          `${fmt(s.medianMs, 3, 8)} ms (p10 ${fmt(s.p10Ms, 3)} p90 ${fmt(s.p90Ms, 3)}) | ` +
          `error ${fmt(100 * relError, 1, 6)}%${flag}`,
      );
    }
  } finally {
    net.dispose();
  }
  return out;
}
