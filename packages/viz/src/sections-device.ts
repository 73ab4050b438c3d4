// Report sections about the device: where latency numbers came from and
// how well the predictor did, and kernel benchmarks against ceilings.

import { chartFigure, type ChartSpec } from "./chart.ts";
import { fixed, mib, pct, round } from "./format.ts";
import type { BenchRecord, LatencyRecord, RunRecords } from "./records.ts";
import { q, type Section } from "./section.ts";
import { htmlTable, kvTable } from "./table.ts";

function latencyChart(lat: LatencyRecord): ChartSpec {
  const values = lat.checks.map((c) => ({
    arch: c.arch,
    predicted: round(c.predictedMs, 4),
    measured: round(c.measuredMs, 4),
  }));
  const all = values.flatMap((v) => [v.predicted, v.measured]);
  const lo = Math.min(...all);
  const hi = Math.max(...all);
  const x = q("measured", "measured latency (ms)", { scale: { zero: false } });
  const y = q("predicted", "predicted latency (ms)", { scale: { zero: false } });
  return {
    title: { text: "Predicted vs measured latency", subtitle: "dashed: predicted = measured" },
    layer: [
      {
        data: {
          values: [
            { measured: lo, predicted: lo },
            { measured: hi, predicted: hi },
          ],
        },
        mark: { type: "line", strokeDash: [4, 3], color: "#888", strokeWidth: 1 },
        encoding: { x, y },
      },
      { data: { values }, mark: { type: "point", filled: true, size: 45 }, encoding: { x, y } },
    ],
  };
}

export function latencySection(run: RunRecords): Section | null {
  const lat = run.latency;
  if (!lat) return null;
  const a = lat.adapter;
  const parts = [
    "<h3>Provenance</h3>",
    kvTable([
      ["vendor", a.vendor],
      ["architecture", a.architecture],
      ["description", a.description],
      ["backend", a.backend],
    ]),
  ];
  if (lat.checks.length > 0) {
    const mean = lat.checks.reduce((s, c) => s + Math.abs(c.relError), 0) / lat.checks.length;
    parts.push(
      chartFigure(
        "chart-latency",
        latencyChart(lat),
        `mean |relative error| ${pct(mean, 1)} over ${lat.checks.length} architectures`,
      ),
    );
    parts.push(
      htmlTable(lat.checks, [
        { label: "arch", cell: (c) => c.arch },
        { label: "predicted", cell: (c) => `${fixed(c.predictedMs, 3)} ms`, numeric: true },
        { label: "measured", cell: (c) => `${fixed(c.measuredMs, 3)} ms`, numeric: true },
        { label: "relative error", cell: (c) => pct(c.relError, 1), numeric: true },
      ]),
    );
  }
  return {
    id: "latency",
    title: "Latency provenance and prediction error",
    html: parts.join("\n"),
  };
}

function benchChart(b: BenchRecord): ChartSpec {
  const values = b.kernels.map((k) => ({
    kernel: `${k.name} ${k.shape}`,
    ratio: round(100 * k.ratio, 2),
  }));
  // No axis title: vega estimates label widths without a font, and long
  // kernel labels would run into it. The subtitle names the axis instead.
  const y = {
    field: "kernel",
    type: "nominal",
    title: null,
    sort: null,
    axis: { labelLimit: 360 },
  };
  return {
    title: {
      text: "Kernels against the roofline",
      subtitle: "rows: kernel and shape; bars: achieved fraction of the device ceiling",
    },
    width: 300,
    height: { step: 18 },
    layer: [
      {
        data: { values },
        mark: { type: "bar" },
        encoding: { y, x: q("ratio", "fraction of ceiling (%)", { scale: { domain: [0, 100] } }) },
      },
      {
        data: { values: [{ ratio: 100 }] },
        mark: { type: "rule", color: "#c00" },
        encoding: { x: q("ratio", "fraction of ceiling (%)") },
      },
    ],
  };
}

/** A pool high-water mark, or a dash where the record predates it. */
const pool = (bytes: number | undefined): string => (bytes === undefined ? "–" : mib(bytes));

export function benchSection(run: RunRecords): Section | null {
  const b = run.bench;
  if (!b) return null;
  const parts = [
    kvTable([
      ["device", b.device],
      ["compute ceiling", `${fixed(b.ceilings.gflops, 1)} GFLOP/s`],
      ["memory ceiling", `${fixed(b.ceilings.gbps, 1)} GB/s`],
      ["GPU pool high-water", pool(b.poolHighWaterBytes)],
    ]),
  ];
  if (b.kernels.length > 0) {
    parts.push(chartFigure("chart-bench", benchChart(b)));
    parts.push(
      htmlTable(b.kernels, [
        { label: "kernel", cell: (k) => k.name },
        { label: "shape", cell: (k) => k.shape },
        { label: "time", cell: (k) => `${fixed(k.ms, 3)} ms`, numeric: true },
        { label: "GFLOP/s", cell: (k) => fixed(k.gflops, 2), numeric: true },
        { label: "GB/s", cell: (k) => fixed(k.gbps, 2), numeric: true },
        { label: "of ceiling", cell: (k) => pct(k.ratio, 1), numeric: true },
        { label: "GPU pool", cell: (k) => pool(k.poolHighWaterBytes), numeric: true },
      ]),
    );
  }
  if (b.blocks.length > 0) {
    parts.push("<h3>Blocks</h3>");
    parts.push(
      htmlTable(b.blocks, [
        { label: "block", cell: (k) => k.name },
        { label: "forward", cell: (k) => `${fixed(k.fwdMs, 3)} ms`, numeric: true },
        { label: "forward+backward", cell: (k) => `${fixed(k.fwdBwdMs, 3)} ms`, numeric: true },
        { label: "GPU pool", cell: (k) => pool(k.poolHighWaterBytes), numeric: true },
        { label: "peer", cell: (k) => k.peer?.name ?? "–" },
        {
          label: "peer forward+backward",
          cell: (k) => (k.peer ? `${fixed(k.peer.fwdBwdMs, 3)} ms` : "–"),
          numeric: true,
        },
        {
          label: "peer / ours",
          cell: (k) => (k.peer ? `${fixed(k.peer.fwdBwdMs / k.fwdBwdMs, 2)}x` : "–"),
          numeric: true,
        },
      ]),
    );
  }
  return { id: "bench", title: "Kernel benchmarks", html: parts.join("\n") };
}
