// `nas-cli report RUN_DIR [--out FILE]`: renders the run directory's
// records to one self-contained HTML file (default RUN_DIR/report.html)
// and prints its path. --out must name a file in an existing directory.

import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Logger } from "@fairnas/kernels";
import { readRun, renderReport } from "@fairnas/viz";
import { parse, UsageError } from "../args.ts";
import { writeAtomic } from "../output.ts";
import { checkRunDir } from "../session.ts";

export function reportCommand(args: string[], log: Logger): void {
  const { values: v, positionals } = parse(args, { out: { type: "string" } }, 1);
  if (positionals.length !== 1) {
    throw new UsageError(`report needs exactly one RUN_DIR, got ${positionals.length}`);
  }
  const dir = positionals[0]!;
  checkRunDir(dir);
  if (v.out !== undefined) checkOutFile(v.out);
  log.info(writeReport(dir, v.out));
}

/** --out names a file in an existing directory: a report creates no directories. */
function checkOutFile(out: string): void {
  const parent = dirname(out);
  if (!existsSync(parent)) {
    throw new Error(`--out ${out}: directory ${parent} does not exist; create it first`);
  }
  if (!statSync(parent).isDirectory()) {
    throw new Error(`--out ${out}: ${parent} is not a directory`);
  }
  if (existsSync(out) && statSync(out).isDirectory()) {
    throw new Error(`--out ${out} is a directory; name the HTML file to write`);
  }
  // An earlier report may be replaced; any other file (a run's summary.json,
  // a checkpoint) is left as it is.
  if (existsSync(out) && !isHtml(out)) {
    throw new UsageError(
      `--out ${out} exists and is not an HTML report; it is left as it is (name another file)`,
    );
  }
}

/** Whether the file at `path` begins like an HTML page. */
function isHtml(path: string): boolean {
  const head = Buffer.alloc(64);
  const fd = openSync(path, "r");
  try {
    const n = readSync(fd, head, 0, head.length, 0);
    return /^\s*<(!doctype html|html)[\s>]/i.test(head.subarray(0, n).toString("utf8"));
  } finally {
    closeSync(fd);
  }
}

/** Renders `dir`'s report to `out` (default RUN_DIR/report.html); returns the path. */
export function writeReport(dir: string, out?: string): string {
  const path = out ?? join(dir, "report.html");
  writeAtomic(path, renderReport(readRun(dir)));
  return path;
}
