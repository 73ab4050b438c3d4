// What every report section is, and small spec pieces the sections share.

import type { ChartSpec } from "./chart.ts";

export interface Section {
  /** Anchor id, also the prefix of the section's chart ids. */
  readonly id: string;
  readonly title: string;
  readonly html: string;
}

/** A quantitative axis field with a title that names its unit. */
export function q(
  field: string,
  title: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { field, type: "quantitative", title, ...extra };
}

/** A nominal field, with its legend or axis title. */
export function n(
  field: string,
  title: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { field, type: "nominal", title, ...extra };
}

/** An ordinal field (sorted by value, so layer 10 follows layer 9). */
export function o(
  field: string,
  title: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { field, type: "ordinal", title, ...extra };
}

/** Panels side by side sharing nothing but the legend. */
export function sideBySide(
  panels: readonly ChartSpec[],
  extra: Record<string, unknown> = {},
): ChartSpec {
  return { hconcat: panels, spacing: 28, ...extra };
}

/** Distinct values of `key` in first-seen order. */
export function distinct<T, K>(rows: readonly T[], key: (r: T) => K): K[] {
  const seen = new Set<K>();
  for (const r of rows) seen.add(key(r));
  return [...seen];
}
