// Vega-Lite specs to inline SVG, at report-build time, in Node.
//
// vega's View.toSVG() is asynchronous only because it awaits runAsync and
// image loads; our specs carry inline data and no images, so chartSvg runs
// the same steps synchronously (view.run, then the headless SVG string
// renderer sized as toSVG sizes it). chart.test.ts checks that both give
// the same SVG. Element ids are rewritten per chart so that several charts
// share one page and the output never depends on render order.

import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

/** A Vega-Lite spec as plain JSON; built by the section modules. */
export type ChartSpec = Readonly<Record<string, unknown>>;

const FONT = "DejaVu Sans, Verdana, sans-serif";

/** Fixed fonts and sizes: text width estimates, hence layout, never vary. */
export const CHART_CONFIG = {
  font: FONT,
  background: "white",
  title: { fontSize: 13, subtitleFontSize: 11, anchor: "start", font: FONT },
  axis: { labelFontSize: 10, titleFontSize: 11, labelFont: FONT, titleFont: FONT },
  legend: { labelFontSize: 10, titleFontSize: 11, labelFont: FONT, titleFont: FONT },
  header: { labelFontSize: 11, titleFontSize: 11, labelFont: FONT, titleFont: FONT },
  view: { continuousWidth: 260, continuousHeight: 180 },
  range: { category: { scheme: "tableau10" } },
} as const;

interface HeadlessRenderer {
  initialize(
    el: null,
    w: number,
    h: number,
    origin: [number, number],
    scale: number,
  ): HeadlessRenderer;
  background(color: unknown): HeadlessRenderer;
  render(scene: unknown): HeadlessRenderer;
  svg(): string;
}

/** The View internals toSVG reads to size its renderer. */
interface ViewInternals {
  _viewWidth: number;
  _viewHeight: number;
  _origin: [number, number];
  _scenegraph: { root: unknown };
}

/** Compiles and renders one spec to an SVG string, synchronously. */
export function renderSvg(spec: ChartSpec): string {
  const vg = compile(spec as unknown as TopLevelSpec, { config: CHART_CONFIG }).spec;
  const view = new vega.View(vega.parse(vg), { renderer: "none", logLevel: vega.Error });
  view.run();

  // Same size and origin as vega-view's headless path.
  const v = view as unknown as ViewInternals;
  const pad = view.padding() as { top: number; left: number; right: number; bottom: number };
  const w = Math.max(0, v._viewWidth + pad.left + pad.right);
  const h = Math.max(0, v._viewHeight + pad.top + pad.bottom);
  const origin: [number, number] = [pad.left + v._origin[0], pad.top + v._origin[1]];
  const modules = vega.renderModule as unknown as (name: string) => {
    headless: new (loader: unknown) => HeadlessRenderer;
  };
  const Renderer = modules("svg").headless;
  const r = new Renderer(view.loader()).initialize(null, w, h, origin, 1);
  const svg = r.background(view.background()).render(v._scenegraph.root).svg();
  view.finalize();
  return svg;
}

/** The asynchronous reference path, vega's own toSVG; used by tests. */
export async function renderSvgAsync(spec: ChartSpec): Promise<string> {
  const vg = compile(spec as unknown as TopLevelSpec, { config: CHART_CONFIG }).spec;
  const view = new vega.View(vega.parse(vg), { renderer: "none", logLevel: vega.Error });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

/** Renames every id in `svg` to `<prefix>-<n>` in order of first definition. */
export function scopeIds(svg: string, prefix: string): string {
  const ids = new Map<string, string>();
  for (const m of svg.matchAll(/\bid="([^"]+)"/g)) {
    if (!ids.has(m[1]!)) ids.set(m[1]!, `${prefix}-${ids.size + 1}`);
  }
  return svg
    .replace(/\bid="([^"]+)"/g, (_, id: string) => `id="${ids.get(id)}"`)
    .replace(/url\(#([^)]+)\)/g, (all, id: string) => (ids.has(id) ? `url(#${ids.get(id)})` : all));
}

/** One chart as a page figure: `id` names it for tests and links. */
export function chartFigure(id: string, spec: ChartSpec, caption = ""): string {
  // One group per line, so a changed chart diffs as a few changed lines.
  const svg = scopeIds(renderSvg(spec), id).replace(/><g /g, ">\n<g ");
  const cap = caption ? `\n<figcaption>${caption}</figcaption>` : "";
  return `<figure class="chart" id="${id}">\n${svg}${cap}\n</figure>`;
}
