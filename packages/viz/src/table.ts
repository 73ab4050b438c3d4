// HTML tables built with arquero: rows in, a <table> string out, every
// cell formatted by a column's own function so precision is fixed.

import * as aq from "arquero";

export interface Column<R> {
  /** Header text. */
  readonly label: string;
  /** Cell text (escaped by arquero); numbers must be pre-formatted here. */
  readonly cell: (row: R) => string;
  /** Right-align numeric columns. */
  readonly numeric?: boolean;
}

/** A table of `rows` with the given columns, in row order. */
export function htmlTable<R>(
  rows: readonly R[],
  columns: readonly Column<R>[],
  cls = "data",
): string {
  const labels = new Set(columns.map((c) => c.label));
  if (labels.size !== columns.length) {
    throw new Error(
      `table columns need distinct labels, got ${columns.map((c) => c.label).join(", ")}`,
    );
  }
  // Columns are keyed c0, c1, ... then renamed, so labels may hold any text.
  const data: Record<string, string[]> = {};
  columns.forEach((c, j) => {
    data[`c${j}`] = rows.map((r) => c.cell(r));
  });
  const names = Object.fromEntries(columns.map((c, j) => [`c${j}`, c.label]));
  const align = Object.fromEntries(columns.map((c, j) => [c.label, c.numeric ? "r" : "l"]));
  const table = aq.table(data).rename(names);
  const html = table.toHTML({ align: align as Record<string, "l" | "r"> });
  return html.replace(/^<table>/, `<table class="${cls}">`);
}

/** A two-column key/value table. */
export function kvTable(pairs: readonly (readonly [string, string])[]): string {
  return htmlTable(
    pairs,
    [
      { label: "setting", cell: (p) => p[0] },
      { label: "value", cell: (p) => p[1] },
    ],
    "kv",
  );
}
