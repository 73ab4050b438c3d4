// Latency lookup table: one measured forward time per network piece (stem,
// fixed first block, every (layer, choice) block, head) on one adapter at
// one batch size. A network's predicted latency is the sum of its pieces.
// The file is JSON with a format version; it names the adapter it was
// measured on, and loading it for another adapter warns.

import { readFileSync } from "node:fs";
import type { Logger } from "@fairnas/kernels";
import { checkArch, type Arch } from "../space/arch.ts";
import { resolveSpace, validateSpace, type ResolvedSpace, type SpaceSpec } from "../space/spec.ts";

export const LATENCY_FORMAT = "fairnas-latency-table";
export const LATENCY_VERSION = 1;

/** Keys of the fixed pieces; blocks are keyed "<layer label>/<token>". */
export const STEM_KEY = "stem";
export const FIRST_KEY = "first";
export const HEAD_KEY = "head";

/** The adapter fields a table is tied to (from `gpu.adapter`). */
export interface AdapterFingerprint {
  readonly vendor: string;
  readonly architecture: string;
  readonly description: string;
  readonly backend: string;
}

/** One timed piece, times in milliseconds per forward pass. */
export interface LatencyStats {
  readonly medianMs: number;
  /** Timed samples behind the median. */
  readonly count: number;
  readonly p10Ms: number;
  readonly p90Ms: number;
  /** Median absolute deviation from the median. */
  readonly madMs: number;
  /** Untimed runs before the samples (the first run compiles pipelines). */
  readonly warmups: number;
  /** Runs submitted back to back per sample; a sample is their mean. */
  readonly inner: number;
}

export interface LatencyTable {
  readonly format: typeof LATENCY_FORMAT;
  readonly version: number;
  readonly adapter: AdapterFingerprint;
  /** Images per forward pass. */
  readonly batch: number;
  /** The space the table was measured for, so `check` can rebuild it. */
  readonly space: SpaceSpec;
  readonly spaceSignature: string;
  readonly entries: Readonly<Record<string, LatencyStats>>;
}

export function blockKey(space: ResolvedSpace, layer: number, choice: number): string {
  const label = space.layers[layer]?.label ?? `layer#${layer}`;
  const token = space.tokens[choice] ?? `choice#${choice}`;
  return `${label}/${token}`;
}

/** Every key a complete table for `space` holds, fixed pieces first. */
export function latencyKeys(space: ResolvedSpace): string[] {
  const keys = [STEM_KEY, ...(space.firstBlock ? [FIRST_KEY] : [])];
  space.layers.forEach((_, l) => {
    space.tokens.forEach((_, c) => keys.push(blockKey(space, l, c)));
  });
  keys.push(HEAD_KEY);
  return keys;
}

/** Median, p10/p90 (linear interpolation) and MAD of `samples`. */
export function summarize(
  samples: readonly number[],
  warmups: number,
  inner: number,
): LatencyStats {
  if (samples.length === 0) throw new Error("summarize: no latency samples");
  const sorted = [...samples].sort((a, b) => a - b);
  const median = quantile(sorted, 0.5);
  const dev = sorted.map((x) => Math.abs(x - median)).sort((a, b) => a - b);
  return {
    medianMs: median,
    count: samples.length,
    p10Ms: quantile(sorted, 0.1),
    p90Ms: quantile(sorted, 0.9),
    madMs: quantile(dev, 0.5),
    warmups,
    inner,
  };
}

function quantile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function sameAdapter(a: AdapterFingerprint, b: AdapterFingerprint): boolean {
  return (
    a.vendor === b.vendor &&
    a.architecture === b.architecture &&
    a.description === b.description &&
    a.backend === b.backend
  );
}

export function adapterText(a: AdapterFingerprint): string {
  return `${a.vendor} / ${a.architecture} / ${a.description} / ${a.backend}`;
}

/** The fingerprint fields only (a `gpu.adapter` carries more). */
export function fingerprintOf(a: AdapterFingerprint): AdapterFingerprint {
  const { vendor, architecture, description, backend } = a;
  return { vendor, architecture, description, backend };
}

export function latencyTableJson(t: LatencyTable): string {
  return `${JSON.stringify(t, null, 1)}\n`;
}

/**
 * Parses and checks a table file. With `adapter`, a table measured on a
 * different adapter is still returned, with a warning on `log`.
 */
export function parseLatencyTable(
  file: string,
  text: string,
  adapter?: AdapterFingerprint,
  log?: Logger,
): LatencyTable {
  let v: unknown;
  try {
    v = JSON.parse(text) as unknown;
  } catch (e) {
    throw new Error(`latency table ${file}: invalid JSON (${(e as Error).message})`);
  }
  const t = v as Partial<LatencyTable> | null;
  if (t === null || typeof t !== "object" || t.format !== LATENCY_FORMAT) {
    throw new Error(`latency table ${file}: not a ${LATENCY_FORMAT} file`);
  }
  if (t.version !== LATENCY_VERSION) {
    throw new Error(
      `latency table ${file}: format version ${t.version}, this build ` +
        `reads ${LATENCY_VERSION}; rebuild it with \`nas-cli latency build\``,
    );
  }
  checkFields(file, t);
  const table = t as LatencyTable;
  if (adapter && !sameAdapter(table.adapter, adapter)) {
    log?.warn(
      `latency table ${file} was measured on ${adapterText(table.adapter)}, ` +
        `but this adapter is ${adapterText(adapter)}: its latencies may not apply`,
    );
  }
  return table;
}

function checkFields(file: string, t: Partial<LatencyTable>): void {
  const a = t.adapter as Partial<AdapterFingerprint> | undefined;
  const adapterOk =
    a !== undefined &&
    ["vendor", "architecture", "description", "backend"].every(
      (k) => typeof a[k as keyof AdapterFingerprint] === "string",
    );
  if (!adapterOk) throw new Error(`latency table ${file}: adapter fingerprint is incomplete`);
  if (!Number.isInteger(t.batch) || (t.batch ?? 0) < 1) {
    throw new Error(`latency table ${file}: batch must be a positive integer, got ${t.batch}`);
  }
  if (t.entries === null || typeof t.entries !== "object" || !t.space) {
    throw new Error(`latency table ${file}: missing entries or space`);
  }
  for (const [k, e] of Object.entries(t.entries)) {
    if (typeof e?.medianMs !== "number" || !Number.isFinite(e.medianMs) || e.medianMs < 0) {
      throw new Error(`latency table ${file}: entry '${k}' has no valid medianMs`);
    }
  }
}

export function loadLatencyTable(
  path: string,
  adapter?: AdapterFingerprint,
  log?: Logger,
): LatencyTable {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`latency table ${path}: cannot read (${(e as Error).message})`);
  }
  return parseLatencyTable(path, text, adapter, log);
}

/** The resolved space a table was measured for. */
export function tableSpace(t: LatencyTable): ResolvedSpace {
  return resolveSpace(validateSpace(t.space));
}

/** Median of one entry; a missing key is an error naming it. */
export function lookupLatency(t: LatencyTable, key: string): number {
  const e = t.entries[key];
  if (e === undefined) {
    throw new Error(
      `latency table for space '${t.space.name}' (batch ${t.batch}) ` + `has no entry '${key}'`,
    );
  }
  return e.medianMs;
}

/** Table bound to a space: per-block lookups and whole-network predictions. */
export interface LatencyModel {
  readonly table: LatencyTable;
  /** Stem + first block + head, in ms. */
  readonly fixedMs: number;
  blockMs(layer: number, choice: number): number;
  /** Sum of the network's entries, in ms. */
  predict(arch: Arch): number;
}

export function latencyModel(t: LatencyTable, space: ResolvedSpace): LatencyModel {
  if (t.spaceSignature !== space.signature) {
    throw new Error(
      `latency table was measured for space '${t.space.name}' ` +
        `(signature ${t.spaceSignature}), not for '${space.spec.name}' ` +
        `(signature ${space.signature}); build one with \`nas-cli latency build\``,
    );
  }
  const fixedKeys = [STEM_KEY, ...(space.firstBlock ? [FIRST_KEY] : []), HEAD_KEY];
  const fixedMs = fixedKeys.reduce((s, k) => s + lookupLatency(t, k), 0);
  const blockMs = (l: number, c: number): number => lookupLatency(t, blockKey(space, l, c));
  return {
    table: t,
    fixedMs,
    blockMs,
    predict(arch) {
      checkArch(space, arch);
      return arch.reduce((s, c, l) => s + blockMs(l, c), fixedMs);
    },
  };
}
