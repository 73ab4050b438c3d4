// Report sections about the run itself: configuration and device, scored
// architectures, training curves and fairness counters.

import { chartFigure } from "./chart.ts";
import { esc, fixed, int, mib, millions, pct, round } from "./format.ts";
import type { FairnessRecord, RunRecords, StepRecord } from "./records.ts";
import { distinct, n, o, q, sideBySide, type Section } from "./section.ts";
import { htmlTable, kvTable } from "./table.ts";

/** Flattens nested config objects to dotted keys, in insertion order. */
function flatten(v: unknown, path: string, out: [string, string][]): void {
  if (v !== null && typeof v === "object" && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) flatten(x, path ? `${path}.${k}` : k, out);
  } else if (typeof v === "number") {
    out.push([path, Number.isInteger(v) ? String(v) : String(round(v, 6))]);
  } else if (typeof v === "string") {
    out.push([path, relativeOnly(v)]);
  } else {
    out.push([path, Array.isArray(v) ? JSON.stringify(v) : String(v)]);
  }
}

/**
 * Absolute paths become ".../last-part": a report must read the same on
 * every machine that produced the same run.
 */
export function relativeOnly(s: string): string {
  if (!/^(\/|[A-Za-z]:[\\/]|~\/)/.test(s)) return s;
  const parts = s.split(/[\\/]+/).filter((p) => p !== "");
  return `.../${parts.at(-1) ?? ""}`;
}

function summaryPairs(run: RunRecords): [string, string][] {
  const s = run.summary;
  if (!s) return [];
  return [
    ["device", s.device],
    ["train steps", int(s.trainSteps)],
    ["train time", `${fixed(s.trainSeconds, 1)} s`],
    ["total time", `${fixed(s.totalSeconds, 1)} s`],
    ["throughput", `${fixed(s.pathImagesPerSec, 0)} path-images/s`],
    ["GPU pool high-water", mib(s.poolHighWaterBytes)],
  ];
}

export function configSection(run: RunRecords): Section {
  const cfg: [string, string][] = [];
  flatten(run.config, "", cfg);
  let html = `<h3>Configuration</h3>\n${kvTable(cfg)}`;
  const pairs = summaryPairs(run);
  if (pairs.length > 0) html += `\n<h3>Device and run</h3>\n${kvTable(pairs)}`;
  const best = run.summary?.best ?? [];
  if (best.length > 0) {
    html += `\n<h3>Best architectures (validation, inherited weights)</h3>\n${htmlTable(best, [
      { label: "arch", cell: (b) => b.arch },
      { label: "top-1", cell: (b) => pct(b.top1), numeric: true },
      { label: "loss", cell: (b) => fixed(b.loss, 4), numeric: true },
      { label: "BN", cell: (b) => b.bn },
      { label: "MAdds", cell: (b) => millions(b.madds), numeric: true },
    ])}`;
  }
  const retrained = run.summary?.standalone ?? [];
  if (retrained.length > 0) {
    html += `\n<h3>Stand-alone retraining (from scratch)</h3>\n${htmlTable(retrained, [
      { label: "arch", cell: (g) => g.arch },
      { label: "test top-1", cell: (g) => pct(g.testTop1), numeric: true },
      { label: "val top-1", cell: (g) => pct(g.valTop1), numeric: true },
      { label: "epochs", cell: (g) => String(round(g.epochs, 3)), numeric: true },
    ])}`;
  }
  return { id: "config", title: "Configuration and device", html };
}

export function architecturesSection(run: RunRecords): Section | null {
  const rows = run.architectures;
  if (!rows || rows.length === 0) return null;
  const sorted = [...rows].sort((a, b) => b.valTop1 - a.valTop1 || (a.arch < b.arch ? -1 : 1));
  const html = `<p>${rows.length} scored rows, best first.</p>\n${htmlTable(sorted, [
    { label: "arch", cell: (r) => r.arch },
    { label: "hash", cell: (r) => r.hash },
    { label: "top-1", cell: (r) => pct(r.valTop1), numeric: true },
    { label: "loss", cell: (r) => fixed(r.valLoss, 4), numeric: true },
    { label: "BN", cell: (r) => r.bn },
    { label: "images", cell: (r) => int(r.images), numeric: true },
    { label: "MAdds", cell: (r) => millions(r.madds), numeric: true },
    { label: "params", cell: (r) => int(r.params), numeric: true },
  ])}`;
  return { id: "architectures", title: "Scored architectures", html };
}

function curve(title: string, field: string, yTitle: string, scale: Record<string, unknown> = {}) {
  return {
    title,
    mark: { type: "line", strokeWidth: 1.5 },
    encoding: {
      x: q("step", "step (supernet steps)"),
      y: q(field, yTitle, { scale: { zero: false, ...scale } }),
      color: n("sampler", "sampler"),
    },
  };
}

export function trainingSection(run: RunRecords): Section | null {
  const steps = run.metrics?.steps ?? [];
  if (steps.length === 0) return null;
  const values = steps.map((s: StepRecord) => ({
    sampler: s.sampler,
    step: s.step,
    loss: round(s.loss, 5),
    top1: round(100 * s.top1, 3),
    lr: round(s.lr, 8),
  }));
  const spec = sideBySide(
    [
      curve("Training loss", "loss", "loss (cross-entropy, nats)"),
      curve("Training top-1", "top1", "top-1 on the batch (%)"),
      curve("Learning rate", "lr", "learning rate (per update)"),
    ],
    { data: { values } },
  );
  const samplers = distinct(steps, (s) => s.sampler);
  const last = samplers.map((name) => steps.filter((s) => s.sampler === name).at(-1)!);
  const table = htmlTable(last, [
    { label: "sampler", cell: (s) => s.sampler },
    { label: "last step", cell: (s) => int(s.step), numeric: true },
    { label: "epoch", cell: (s) => fixed(s.epoch, 2), numeric: true },
    { label: "updates", cell: (s) => int(s.updates), numeric: true },
    { label: "loss", cell: (s) => fixed(s.loss, 4), numeric: true },
    { label: "top-1", cell: (s) => pct(s.top1, 1), numeric: true },
    { label: "ms/step", cell: (s) => fixed(s.msPerStep, 1), numeric: true },
    { label: "path-images/s", cell: (s) => fixed(s.pathImagesPerSec, 0), numeric: true },
  ]);
  const html =
    `${chartFigure("chart-training", spec)}\n` + `<h3>Last logged step per sampler</h3>\n${table}`;
  return { id: "training", title: "Training curves", html };
}

/** The last fairness record of each sampler, in first-seen sampler order. */
function finalCounts(recs: readonly FairnessRecord[]): FairnessRecord[] {
  return distinct(recs, (r) => r.sampler).map((s) => recs.filter((r) => r.sampler === s).at(-1)!);
}

export function fairnessSection(run: RunRecords): Section | null {
  const recs = run.metrics?.fairness ?? [];
  if (recs.length === 0) return null;
  const finals = finalCounts(recs);
  const cells = finals.flatMap((r) =>
    r.counts.flatMap((row, layer) =>
      row.map((count, choice) => ({ sampler: r.sampler, layer, choice, count })),
    ),
  );
  const heat = {
    data: { values: cells },
    facet: { column: n("sampler", "sampler") },
    spec: {
      width: { step: 22 },
      height: { step: 18 },
      mark: { type: "rect" },
      encoding: {
        x: o("choice", "choice index"),
        y: o("layer", "layer index"),
        color: q("count", "updates (count)", { scale: { scheme: "blues", zero: true } }),
      },
    },
    title: {
      text: "Updates per layer and choice",
      subtitle: `at the last logged step of each sampler`,
    },
  };
  const spread = recs.map((r) => ({
    sampler: r.sampler,
    step: r.step,
    spread: Math.max(0, ...r.spread),
  }));
  const line = {
    data: { values: spread },
    title: {
      text: "Fairness spread over time",
      subtitle: "max over layers of (max - min) updates per choice",
    },
    mark: { type: "line", point: true, strokeWidth: 1.5 },
    encoding: {
      x: q("step", "step (supernet steps)"),
      y: q("spread", "spread (updates)"),
      color: n("sampler", "sampler"),
    },
  };
  const html =
    `${chartFigure("chart-fairness", heat)}\n` + chartFigure("chart-fairness-spread", line);
  return { id: "fairness", title: "Fairness counters", html };
}

/** A note on metrics records the report does not draw. */
export function otherMetricsNote(run: RunRecords): string {
  const notes: string[] = [];
  const other = Object.entries(run.metrics?.otherTypes ?? {});
  if (other.length > 0) {
    const list = other.map(([t, c]) => `${c} ${esc(t)}`).join(", ");
    notes.push(`<p class="note">metrics.jsonl also holds records not drawn here: ${list}.</p>`);
  }
  const cut = run.metrics?.cutLastLine ?? null;
  if (cut !== null) {
    notes.push(
      `<p class="note">metrics.jsonl line ${cut} was cut off mid-write (the run was stopped ` +
        "while appending it) and is left out; <code>--resume</code> drops it too.</p>",
    );
  }
  return notes.join("\n");
}
