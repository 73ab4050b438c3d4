// The run-small report opened in Debian's headless Chromium from a file://
// URL: no console errors, no network requests, every chart drawn with the
// number of marks the fixture implies. A screenshot is left in a temp dir.

import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readRun } from "./records.ts";
import { renderReport } from "./report.ts";

const CHROMIUM = "/usr/bin/chromium";
const RUN_SMALL = fileURLToPath(new URL("../test-fixtures/run-small", import.meta.url));
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Data marks per chart for run-small (8 layers x 6 choices, 2 samplers). */
const EXPECTED_MARKS: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  "chart-training": { line: 6 }, // 3 panels x 2 samplers
  "chart-fairness": { rect: 96 }, // 2 samplers x 8 layers x 6 choices
  "chart-fairness-spread": { line: 2, symbol: 16 }, // 8 logged steps x 2 samplers
  "chart-ranking": { symbol: 12 }, // 2 BN panels x 6 archs
  "chart-similarity": { rect: 32 }, // 2 layers x 4 x 4 choices
  "chart-pareto": { line: 2, symbol: 7 }, // nsga2 4 + ppo-nsga2 3
  "chart-hypervolume": { line: 2, symbol: 10 }, // 2 algos x 5 generations
  "chart-ponas-table": { rect: 48, text: 48 },
  "chart-ponas-maxloss": { rect: 8 },
  "chart-ponas-sweep": { line: 1, symbol: 8 }, // 5 predicted + 3 measured
  "chart-latency": { line: 1, symbol: 4 },
  "chart-bench": { rect: 4, rule: 1 },
};

describe("report in headless Chromium", () => {
  const dir = mkdtempSync(join(tmpdir(), "viz-browser-"));
  const file = join(dir, "report.html");
  const errors: string[] = [];
  const requests: string[] = [];
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(`${CHROMIUM} missing: run scripts/setup.sh (installs Debian's chromium)`);
    writeFileSync(file, renderReport(readRun(RUN_SMALL)));
    context = await chromium.launchPersistentContext(join(dir, "profile"), {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport: { width: 1200, height: 900 },
    });
    page = await context.newPage();
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("request", (r) => requests.push(r.url()));
    await page.goto(pathToFileURL(file).href, { waitUntil: "load" });
  });

  afterAll(async () => {
    await context?.close();
  });

  it("report run-small loads with no console errors and no network requests", () => {
    expect(errors).toEqual([]);
    // The page itself is the only request, and it is a file read.
    expect(requests).toEqual([pathToFileURL(file).href]);
  });

  it("report run-small draws every chart with the fixture's mark counts", async () => {
    const counts = await page.evaluate((ids: string[]) => {
      const out: Record<string, Record<string, number>> = {};
      for (const id of ids) {
        const fig = document.getElementById(id);
        const c: Record<string, number> = {};
        for (const type of ["line", "symbol", "rect", "text", "rule"]) {
          const n = fig ? fig.querySelectorAll(`g.mark-${type}.role-mark > *`).length : -1;
          if (n !== 0) c[type] = n;
        }
        out[id] = c;
      }
      return out;
    }, Object.keys(EXPECTED_MARKS));
    expect(counts).toEqual(EXPECTED_MARKS);
  });

  it("report run-small charts have visible size and titles", async () => {
    const boxes = await page.evaluate(() =>
      Array.from(document.querySelectorAll("figure.chart svg")).map((s) => {
        const r = s.getBoundingClientRect();
        return { w: r.width, h: r.height, titled: s.querySelector("g.role-title text") !== null };
      }),
    );
    expect(boxes.length).toBe(Object.keys(EXPECTED_MARKS).length);
    for (const b of boxes) {
      expect(b.w).toBeGreaterThan(150);
      expect(b.h).toBeGreaterThan(100);
      expect(b.titled).toBe(true);
    }
  });

  it("report run-small screenshot saved", async () => {
    const png = join(dir, "report-run-small.png");
    await page.screenshot({ path: png, fullPage: true });
    // A PNG of the whole page: the signature, then an IHDR 1200 px wide and taller
    // than the 900 px viewport (the report runs past one screen).
    const bytes = readFileSync(png);
    expect(bytes.subarray(0, 8)).toEqual(Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]));
    expect(bytes.subarray(12, 16).toString("latin1")).toBe("IHDR");
    expect(bytes.readUInt32BE(16)).toBe(1200);
    expect(bytes.readUInt32BE(20)).toBeGreaterThan(900);
    process.stdout.write(`report screenshot: ${png}\n`);
  });
});
