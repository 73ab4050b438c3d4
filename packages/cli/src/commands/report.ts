// `nas-cli report RUN_DIR [--out FILE]`: renders the run directory's
// records to one self-contained HTML file (default RUN_DIR/report.html)
// and prints its path.

import { join } from "node:path";
import type { Logger } from "@fairnas/kernels";
import { readRun, renderReport } from "@fairnas/viz";
import { parse, UsageError } from "../args.ts";
import { writeAtomic } from "../output.ts";

export function reportCommand(args: string[], log: Logger): void {
  const { values: v, positionals } = parse(args, { out: { type: "string" } });
  if (positionals.length !== 1) {
    throw new UsageError(`report needs exactly one RUN_DIR, got ${positionals.length}`);
  }
  const dir = positionals[0]!;
  log.info(writeReport(dir, v.out));
}

/** Renders `dir`'s report to `out` (default RUN_DIR/report.html); returns the path. */
export function writeReport(dir: string, out?: string): string {
  const path = out ?? join(dir, "report.html");
  writeAtomic(path, renderReport(readRun(dir)));
  return path;
}
