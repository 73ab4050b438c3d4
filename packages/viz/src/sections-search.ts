// Report sections about ranking and search: supernet vs stand-alone
// ranking, the sampler ablation, feature similarity, the Pareto front and
// hypervolume, and PONAS specialisation.

import { chartFigure, type ChartSpec } from "./chart.ts";
import { esc, fixed, millions, pct, round } from "./format.ts";
import type {
  PonasCompareRecord,
  PonasSweepPoint,
  RankingPanel,
  RunRecords,
  SimilarityRecord,
} from "./records.ts";
import { distinct, n, q, sideBySide, type Section } from "./section.ts";
import { htmlTable } from "./table.ts";

function tauText(p: RankingPanel): string {
  const t = p.tauB;
  return (
    `tau-b ${fixed(t.value, 3)} [${fixed(t.lo, 3)}, ${fixed(t.hi, 3)}]` +
    ` · Spearman ${fixed(p.spearman, 3)} · n ${p.n}`
  );
}

function rankingPanel(p: RankingPanel): ChartSpec {
  const values = p.points.map((x) => ({
    arch: x.arch,
    supernet: round(100 * x.supernet, 3),
    standalone: round(100 * x.standalone, 3),
  }));
  return {
    title: { text: `BN ${p.bn}`, subtitle: tauText(p) },
    data: { values },
    mark: { type: "point", filled: true, size: 40 },
    encoding: {
      x: q("supernet", "supernet top-1, inherited weights (%)", { scale: { zero: false } }),
      y: q("standalone", "stand-alone top-1 (%)", { scale: { zero: false } }),
    },
  };
}

export function rankingSection(run: RunRecords): Section | null {
  const panels = run.ranking ?? [];
  if (panels.length === 0) return null;
  const spec = sideBySide(panels.map(rankingPanel));
  const stats = htmlTable(panels, [
    { label: "BN", cell: (p) => p.bn },
    { label: "tau-b", cell: (p) => fixed(p.tauB.value, 3), numeric: true },
    {
      label: "95% CI",
      cell: (p) => `[${fixed(p.tauB.lo, 3)}, ${fixed(p.tauB.hi, 3)}]`,
      numeric: true,
    },
    { label: "Spearman", cell: (p) => fixed(p.spearman, 3), numeric: true },
    { label: "n", cell: (p) => String(p.n), numeric: true },
  ]);
  const caption = "tau-b: Kendall rank correlation, with its 95% confidence interval in brackets.";
  const html = `${chartFigure("chart-ranking", spec, caption)}\n${stats}`;
  return { id: "ranking", title: "Supernet vs stand-alone ranking", html };
}

export function ablationSection(run: RunRecords): Section | null {
  const rows = run.ablation?.rows ?? [];
  if (rows.length === 0) return null;
  const table = htmlTable(rows, [
    { label: "sampler", cell: (r) => r.sampler },
    { label: "BN", cell: (r) => r.bn },
    { label: "tau-b", cell: (r) => fixed(r.tauB, 3), numeric: true },
    { label: "95% CI", cell: (r) => `[${fixed(r.tauLo, 3)}, ${fixed(r.tauHi, 3)}]`, numeric: true },
    { label: "Spearman", cell: (r) => fixed(r.spearman, 3), numeric: true },
    { label: "gap (pp)", cell: (r) => fixed(100 * r.gap, 2), numeric: true },
    { label: "n", cell: (r) => String(r.n), numeric: true },
  ]);
  const note = "<p>gap: mean stand-alone minus supernet top-1, in percentage points.</p>";
  return { id: "ablation", title: "Sampler ablation", html: `${table}\n${note}` };
}

function similarityPanel(s: SimilarityRecord): ChartSpec {
  const values = s.matrix.flatMap((row, i) =>
    row.map((v, j) => ({ a: s.choices[i], b: s.choices[j], sim: round(v, 4) })),
  );
  const order = [...s.choices];
  return {
    title: { text: s.layer },
    data: { values },
    width: { step: 26 },
    height: { step: 26 },
    mark: { type: "rect" },
    encoding: {
      x: n("b", "choice", { sort: order }),
      y: n("a", "choice", { sort: order }),
      color: q("sim", "similarity (0-1)", { scale: { scheme: "viridis", domain: [0, 1] } }),
    },
  };
}

export function similaritySection(run: RunRecords): Section | null {
  const layers = run.similarity ?? [];
  if (layers.length === 0) return null;
  const spec = sideBySide(layers.map(similarityPanel), {
    title: { text: "Feature similarity between choices", subtitle: "one panel per layer" },
  });
  return {
    id: "similarity",
    title: "Feature similarity",
    html: chartFigure("chart-similarity", spec),
  };
}

function paretoChart(run: RunRecords): ChartSpec {
  const values = [...(run.pareto ?? [])]
    .sort((a, b) => (a.algo < b.algo ? -1 : a.algo > b.algo ? 1 : a.madds - b.madds))
    .map((p) => ({
      algo: p.algo,
      arch: p.arch,
      madds: round(p.madds / 1e6, 4),
      top1: round(100 * p.top1, 3),
    }));
  const x = q("madds", "multiply-adds (millions)", { scale: { zero: false } });
  const y = q("top1", "validation top-1 (%)", { scale: { zero: false } });
  const color = n("algo", "algorithm");
  return {
    title: { text: "Pareto front", subtitle: "top-1 vs MAdds, one front per algorithm" },
    data: { values },
    layer: [
      {
        mark: { type: "line", interpolate: "step-after", strokeWidth: 1, opacity: 0.6 },
        encoding: { x, y, color, order: { field: "madds", type: "quantitative" } },
      },
      { mark: { type: "point", filled: true, size: 45 }, encoding: { x, y, color } },
    ],
  };
}

function hypervolumeChart(run: RunRecords): ChartSpec {
  const values = (run.metrics?.generations ?? []).map((g) => ({
    algo: g.algo,
    seed: g.seed,
    generation: g.generation,
    hypervolume: round(g.hypervolume, 5),
  }));
  return {
    title: { text: "Hypervolume per generation", subtitle: "one line per algorithm and seed" },
    data: { values },
    mark: { type: "line", point: true, strokeWidth: 1.5 },
    encoding: {
      x: q("generation", "generation (count)", { axis: { tickMinStep: 1, format: "d" } }),
      y: q("hypervolume", "hypervolume (top-1 x normalised MAdds)", { scale: { zero: false } }),
      color: n("algo", "algorithm"),
      detail: n("seed", "seed"),
    },
  };
}

export function paretoSection(run: RunRecords): Section | null {
  const points = run.pareto ?? [];
  const gens = run.metrics?.generations ?? [];
  if (points.length === 0 && gens.length === 0) return null;
  const parts: string[] = [];
  if (points.length > 0) {
    parts.push(chartFigure("chart-pareto", paretoChart(run)));
    const sorted = [...points].sort((a, b) =>
      a.algo < b.algo ? -1 : a.algo > b.algo ? 1 : a.madds - b.madds,
    );
    parts.push(
      htmlTable(sorted, [
        { label: "algorithm", cell: (p) => p.algo },
        { label: "arch", cell: (p) => p.arch },
        { label: "top-1", cell: (p) => pct(p.top1), numeric: true },
        { label: "MAdds", cell: (p) => millions(p.madds), numeric: true },
        { label: "params", cell: (p) => millions(p.params, 3), numeric: true },
        { label: "latency", cell: (p) => `${fixed(p.latencyMs, 2)} ms`, numeric: true },
      ]),
    );
  }
  if (gens.length > 0) parts.push(chartFigure("chart-hypervolume", hypervolumeChart(run)));
  return { id: "pareto", title: "Search: Pareto front and hypervolume", html: parts.join("\n") };
}

const BUDGET_TITLES: Readonly<Record<string, [scale: number, title: string]>> = {
  madds: [1e-6, "MAdds budget (millions)"],
  latencyMs: [1, "latency budget (ms)"],
  params: [1e-6, "parameter budget (millions)"],
};

/** Axis scale and title for a sweep keyed by the budgeted quantity. */
function budgetAxis(keys: readonly string[]): [number, string] {
  if (keys.length === 1 && BUDGET_TITLES[keys[0]!]) return BUDGET_TITLES[keys[0]!]!;
  return [1, `budget (${keys.join(", ")}, units as recorded)`];
}

function sweepChart(sweep: readonly PonasSweepPoint[]): ChartSpec {
  const [scale, title] = budgetAxis(distinct(sweep, (s) => s.key));
  const values = sweep.flatMap((s) => {
    const budget = round(s.budget * scale, 4);
    const rows = [{ key: s.key, budget, kind: "predicted", top1: round(100 * s.predicted, 3) }];
    if (s.measured !== undefined)
      rows.push({ key: s.key, budget, kind: "measured", top1: round(100 * s.measured, 3) });
    return rows;
  });
  const x = q("budget", title);
  const y = q("top1", "top-1 (%)", { scale: { zero: false } });
  const color = n("kind", "value");
  return {
    title: { text: "Specialisation curve", subtitle: "best predicted top-1 under each budget" },
    data: { values },
    layer: [
      {
        transform: [{ filter: "datum.kind === 'predicted'" }],
        mark: { type: "line", strokeWidth: 1.5 },
        encoding: { x, y, color, detail: n("key", "budget") },
      },
      { mark: { type: "point", filled: true, size: 40 }, encoding: { x, y, color } },
    ],
  };
}

function ponasTableChart(run: RunRecords): ChartSpec {
  const t = run.ponas!.table;
  const values = t.top1.flatMap((row, l) =>
    row.map((v, c) => ({ layer: t.layers[l], choice: t.choices[c], top1: round(100 * v, 2) })),
  );
  const enc = {
    x: n("choice", "choice", { sort: [...t.choices] }),
    y: n("layer", "layer", { sort: [...t.layers] }),
  };
  return {
    title: { text: "Accuracy table", subtitle: "top-1 with one layer switched to each choice" },
    data: { values },
    width: { step: 40 },
    height: { step: 18 },
    encoding: enc,
    layer: [
      {
        mark: "rect",
        encoding: { color: q("top1", "top-1 (%)", { scale: { scheme: "greens", zero: false } }) },
      },
      {
        mark: { type: "text", fontSize: 8 },
        encoding: { text: q("top1", "top-1 (%)", { format: ".1f" }) },
      },
    ],
  };
}

function maxLossChart(run: RunRecords): ChartSpec {
  const p = run.ponas!;
  const values = p.maxLoss.map((v, l) => ({
    layer: p.table.layers[l] ?? String(l),
    loss: round(100 * v, 3),
  }));
  return {
    title: {
      text: "Max accuracy loss per layer",
      subtitle: "largest top-1 drop over the layer's choices",
    },
    data: { values },
    width: 260,
    height: { step: 16 },
    mark: { type: "bar" },
    encoding: {
      y: n("layer", "layer", { sort: [...p.table.layers] }),
      x: q("loss", "max top-1 loss (percentage points)"),
    },
  };
}

export function ponasSection(run: RunRecords): Section | null {
  const p = run.ponas;
  if (!p) return null;
  const parts = [
    `<p>Start point: <code>${esc(p.startpoint)}</code></p>`,
    chartFigure("chart-ponas-table", ponasTableChart(run)),
    chartFigure("chart-ponas-maxloss", maxLossChart(run)),
  ];
  if (p.sweep.length > 0) {
    parts.push(chartFigure("chart-ponas-sweep", sweepChart(p.sweep)));
    const [scale] = budgetAxis(distinct(p.sweep, (s) => s.key));
    parts.push(
      htmlTable(p.sweep, [
        { label: "key", cell: (s) => s.key },
        { label: "budget", cell: (s) => fixed(s.budget * scale, 3), numeric: true },
        { label: "predicted top-1", cell: (s) => pct(s.predicted), numeric: true },
        { label: "measured top-1", cell: (s) => pct(s.measured), numeric: true },
      ]),
    );
  }
  if (p.compare) parts.push(compareHtml(p.compare));
  return { id: "ponas", title: "PONAS specialisation", html: parts.join("\n") };
}

function compareHtml(c: PonasCompareRecord): string {
  const s = c.search;
  const head =
    `<h3>Specialization against ${esc(s.algo)} search ` +
    `(same supernet, ${c.valImages} validation images)</h3>\n` +
    `<p>One specialization: ${fixed(c.specializeMs, 3)} ms ` +
    `(the table took ${fixed(c.tableSeconds, 1)} s once). ` +
    `One ${esc(s.algo)} search: ${fixed(s.seconds, 1)} s, ${s.evaluations} evaluations, ` +
    `population ${s.population}, ${s.generations} generations, front of ${s.front}.</p>`;
  return `${head}\n${htmlTable(c.points, [
    { label: "MAdds budget (M)", cell: (p) => fixed(p.budget / 1e6, 3), numeric: true },
    { label: "PONAS arch", cell: (p) => p.ponas.arch },
    { label: "PONAS MAdds (M)", cell: (p) => fixed(p.ponas.madds / 1e6, 3), numeric: true },
    { label: "PONAS predicted", cell: (p) => pct(p.ponas.predicted), numeric: true },
    { label: "PONAS measured", cell: (p) => pct(p.ponas.measured), numeric: true },
    { label: "search arch", cell: (p) => p.search?.arch ?? "none within budget" },
    {
      label: "MAdds (M)",
      cell: (p) => fixed(p.search ? p.search.madds / 1e6 : null, 3),
      numeric: true,
    },
    { label: "search measured", cell: (p) => pct(p.search?.measured), numeric: true },
    {
      label: "search - PONAS (pp)",
      cell: (p) => fixed(p.delta === null ? null : 100 * p.delta, 2),
      numeric: true,
    },
  ])}`;
}
