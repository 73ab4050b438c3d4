// renderReport: run records in, one self-contained HTML page out. Pure:
// no clock, no randomness, no file system, no network, no absolute paths;
// the same records always give the same bytes.

import { esc } from "./format.ts";
import type { RunRecords } from "./records.ts";
import type { Section } from "./section.ts";
import {
  architecturesSection,
  configSection,
  fairnessSection,
  otherMetricsNote,
  trainingSection,
} from "./sections-run.ts";
import {
  ablationSection,
  paretoSection,
  ponasSection,
  rankingSection,
  similaritySection,
} from "./sections-search.ts";
import { benchSection, latencySection } from "./sections-device.ts";

/** Report format version, printed in the footer; bump when the layout changes. */
export const REPORT_FORMAT = 1;

/** Section builders in page order; each returns null when its data is absent. */
const SECTIONS: readonly ((run: RunRecords) => Section | null)[] = [
  configSection,
  trainingSection,
  fairnessSection,
  architecturesSection,
  rankingSection,
  ablationSection,
  similaritySection,
  paretoSection,
  ponasSection,
  latencySection,
  benchSection,
];

const STYLE = `
body { font: 14px/1.45 "DejaVu Sans", Verdana, sans-serif; color: #222; margin: 0; }
header, main, footer { max-width: 1180px; margin: 0 auto; padding: 0 20px; }
header h1 { font-size: 22px; margin: 18px 0 4px; }
nav ul { list-style: none; padding: 0; margin: 6px 0 12px; display: flex; flex-wrap: wrap; gap: 4px 14px; }
section { border-top: 1px solid #ddd; padding: 4px 0 14px; }
h2 { font-size: 18px; margin: 14px 0 8px; }
h3 { font-size: 15px; margin: 12px 0 6px; }
figure.chart { margin: 10px 0; overflow-x: auto; }
figure.chart svg { display: block; }
figcaption { font-size: 12px; color: #555; }
table { border-collapse: collapse; font-size: 12px; margin: 6px 0; }
th, td { border-bottom: 1px solid #e4e4e4; padding: 3px 8px; }
th { background: #f4f4f4; }
table.kv td:first-child { color: #555; }
code { font-family: "DejaVu Sans Mono", monospace; font-size: 12px; }
p.note, footer { color: #666; font-size: 12px; }
`.trim();

function sectionHtml(s: Section): string {
  return `<section id="${s.id}">\n<h2>${esc(s.title)}</h2>\n${s.html}\n</section>`;
}

/** The whole report page for one run. */
export function renderReport(run: RunRecords): string {
  const sections = SECTIONS.map((build) => build(run)).filter((s): s is Section => s !== null);
  const nav = sections.map((s) => `<li><a href="#${s.id}">${esc(s.title)}</a></li>`).join("\n");
  const title = `Run report: ${esc(run.name)}`;
  return [
    "<!DOCTYPE html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    // Forbid every fetch: the page must stand alone.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${title}</title>`,
    `<style>\n${STYLE}\n</style>`,
    "</head>",
    "<body>",
    `<header>\n<h1>${title}</h1>\n<nav><ul>\n${nav}\n</ul></nav>\n</header>`,
    `<main>\n${sections.map(sectionHtml).join("\n")}\n${otherMetricsNote(run)}\n</main>`,
    `<footer><p>fairnas-webgpu run report, format ${REPORT_FORMAT}.</p></footer>`,
    "</body>",
    "</html>",
    "",
  ].join("\n");
}
