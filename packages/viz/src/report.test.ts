import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { renderSvg, renderSvgAsync, scopeIds } from "./chart.ts";
import { readRun } from "./records.ts";
import { renderReport } from "./report.ts";
import { checkSnapshot, diffSummary } from "./snapshot.ts";

const FIXTURES = fileURLToPath(new URL("../test-fixtures", import.meta.url));
const RUN_SMALL = join(FIXTURES, "run-small");

/** A run directory named config-only holding only config.json. */
function configOnlyRun(): string {
  const dir = join(mkdtempSync(join(tmpdir(), "viz-report-")), "config-only");
  mkdirSync(dir);
  copyFileSync(join(RUN_SMALL, "config.json"), join(dir, "config.json"));
  return dir;
}

function expectSnapshot(name: string, html: string): void {
  const r = checkSnapshot(join(FIXTURES, "expected", `${name}.html`), html);
  if (!r.ok) throw new Error(r.message);
}

const SECTION_IDS = [
  "config",
  "training",
  "fairness",
  "architectures",
  "ranking",
  "ablation",
  "similarity",
  "pareto",
  "ponas",
  "latency",
  "bench",
];

describe("renderReport", () => {
  const html = renderReport(readRun(RUN_SMALL));

  it("renderReport run-small matches the committed snapshot", () => {
    expectSnapshot("run-small", html);
  });

  it("renderReport run-small is deterministic across renders", () => {
    expect(renderReport(readRun(RUN_SMALL))).toBe(html);
  });

  it("renderReport run-small has every section, in order", () => {
    const ids = [...html.matchAll(/<section id="([^"]+)">/g)].map((m) => m[1]);
    expect(ids).toEqual(SECTION_IDS);
  });

  it("renderReport run-small is self-contained: no fetches, scripts or absolute paths", () => {
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|\bsrc=|\bhref="(?!#)/i);
    // Only SVG namespace URIs may name a scheme; they are never fetched.
    const urls = [...html.matchAll(/https?:\/\/[^\s"')]+/g)].map((m) => m[0]);
    expect(new Set(urls)).toEqual(
      new Set(["http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"]),
    );
    expect(html).not.toContain(RUN_SMALL);
    expect(html).not.toMatch(/"\/(usr|work|tmp|home|root)\//);
  });

  it("renderReport run-small shows PONAS against the search at each budget", () => {
    const part = html.slice(html.indexOf('<section id="ponas">'));
    expect(part).toContain("Specialization against nsga2-ppo search");
    expect(part).toContain("One specialization: 1.850 ms (the table took 41.3 s once)");
    expect(part).toContain("none within budget");
    // Budget 2.2 M: search 0.8200 against measured undefined; 2.6 M: 0.83 - 0.817.
    expect(part).toMatch(/<td[^>]*>1\.30<\/td>/);
  });

  it("renderReport run-small ids are unique and chart-scoped", () => {
    const ids = [...html.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]!);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.filter((id) => /^clip\d+$/.test(id))).toEqual([]);
  });

  it("renderReport shows the stand-alone retraining that run records in summary.json", () => {
    const dir = mkdtempSync(join(tmpdir(), "report-sa-"));
    for (const f of ["config.json", "summary.json"]) copyFileSync(join(RUN_SMALL, f), join(dir, f));
    const summary = JSON.parse(readFileSync(join(dir, "summary.json"), "utf8"));
    const arch = "k3e3-k7e3-k5e3-k5e3-k7e6-k5e3-k7e6-k7e6";
    summary.standalone = [{ arch, testTop1: 0.7644, valTop1: 0.7578125, epochs: 1 }];
    writeFileSync(join(dir, "summary.json"), JSON.stringify(summary));
    const page = renderReport(readRun(dir));
    const part = page.slice(page.indexOf("<h3>Stand-alone retraining (from scratch)</h3>"));
    expect(part).toMatch(
      new RegExp(`<td[^>]*>${arch}</td><td[^>]*>76\\.44%</td><td[^>]*>75\\.78%`),
    );
    // An entry without its accuracy is refused, naming the field.
    summary.standalone = [{ arch, valTop1: 0.75, epochs: 1 }];
    writeFileSync(join(dir, "summary.json"), JSON.stringify(summary));
    expect(() => readRun(dir)).toThrow(/summary\.standalone\[0\].*testTop1/);
  });

  it("renderReport notes a metrics.jsonl whose last line was cut off", () => {
    const dir = join(mkdtempSync(join(tmpdir(), "viz-report-")), "cut");
    mkdirSync(dir);
    for (const f of ["config.json", "metrics.jsonl"])
      copyFileSync(join(RUN_SMALL, f), join(dir, f));
    const path = join(dir, "metrics.jsonl");
    const text = readFileSync(path, "utf8");
    const lines = text.trimEnd().split("\n").length;
    writeFileSync(path, `${text}{"type":"step","step":`);
    const cut = renderReport(readRun(dir));
    expect(cut).toContain(`metrics.jsonl line ${lines + 1} was cut off mid-write`);
    expect(renderReport(readRun(RUN_SMALL))).not.toContain("cut off mid-write");
  });

  it("renderReport config-only run has only the configuration section", () => {
    const page = renderReport(readRun(configOnlyRun()));
    const ids = [...page.matchAll(/<section id="([^"]+)">/g)].map((m) => m[1]);
    expect(ids).toEqual(["config"]);
    expect(page).not.toContain("<svg");
    expectSnapshot("config-only", page);
  });
});

describe("chart rendering", () => {
  const spec = {
    title: "t",
    data: {
      values: [
        { a: 1, b: 2 },
        { a: 2, b: 3 },
        { a: 3, b: 1 },
      ],
    },
    mark: "point",
    encoding: { x: { field: "a", type: "quantitative" }, y: { field: "b", type: "quantitative" } },
  };

  it("renderSvg point chart 3 points equals vega View.toSVG", async () => {
    const sync = renderSvg(spec);
    expect(sync).toBe(await renderSvgAsync(spec));
    const group = /<g class="mark-symbol role-mark[^>]*>(.*?)<\/g>/.exec(sync)?.[1] ?? "";
    expect(group.match(/<path /g)?.length).toBe(3);
  });

  it("renderSvg clipped layer chart ids equal toSVG after scoping", async () => {
    const clipped = { ...spec, mark: { type: "line", clip: true } };
    const a = scopeIds(renderSvg(clipped), "c");
    const b = scopeIds(await renderSvgAsync(clipped), "c");
    expect(a).toBe(b);
    expect(a).toContain('id="c-1"');
    expect(a).toContain("url(#c-1)");
  });
});

describe("snapshot diff", () => {
  it("checkSnapshot mismatch writes <name>-changed.html and fails", () => {
    const dir = mkdtempSync(join(tmpdir(), "viz-snap-"));
    const expected = join(dir, "page.html");
    writeFileSync(expected, "<p>one</p>\n");
    // Checks the compare path even when the suite runs to update snapshots.
    const update = process.env.UPDATE_SNAPSHOTS;
    delete process.env.UPDATE_SNAPSHOTS;
    const r = checkSnapshot(expected, "<p>two</p>\n");
    expect(r.ok).toBe(false);
    expect(r.message).toContain("1 of 2 lines differ");
    expect(readFileSync(join(dir, "page-changed.html"), "utf8")).toBe("<p>two</p>\n");
    expect(checkSnapshot(expected, "<p>one</p>\n").ok).toBe(true);
    expect(existsSync(join(dir, "page-changed.html"))).toBe(false);
    if (update !== undefined) process.env.UPDATE_SNAPSHOTS = update;
  });

  it("diffSummary 1 of 3 lines differ at line 2", () => {
    const s = diffSummary("a\nb\nc", "a\nB\nc");
    expect(s).toContain("1 of 3 lines differ");
    expect(s).toContain("line 2:\n    - b\n    + B");
  });
});
