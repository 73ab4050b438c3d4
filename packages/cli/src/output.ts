// What the CLI prints and records: a progress bar on a terminal, plain
// periodic lines otherwise, JSON-lines metrics in the run directory, and
// atomic file writes.

import {
  appendFileSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  existsSync,
} from "node:fs";
import { dirname } from "node:path";
import type { Logger } from "@fairnas/kernels";

/** Writes `text` to `path` via a temporary file and a rename. */
export function writeAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  try {
    renameSync(tmp, path);
  } catch (e) {
    // e.g. `path` is a directory: no temporary is left beside it.
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Append-only JSON-lines metrics file. */
export class Metrics {
  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
  }

  write(record: Readonly<Record<string, unknown>>): void {
    appendFileSync(this.path, `${JSON.stringify(record)}\n`);
  }

  /**
   * On resume: drops records written after the checkpoint's step by the
   * interrupted run, so the file reads as one uninterrupted run.
   */
  truncateAfter(step: number): void {
    this.keep((r) => r.step === undefined || r.step <= step);
  }

  /** Drops every record of `type` (a stage that is measured again from scratch). */
  dropType(type: string): void {
    this.keep((r) => r.type !== type);
  }

  /** Drops the records `pred` picks (it sees each parsed record). */
  dropWhere(pred: (r: Readonly<Record<string, unknown>>) => boolean): void {
    this.keep((r) => !pred(r));
  }

  // Rewrites the file with the parseable records `pred` keeps.
  private keep(pred: (r: { step?: number; type?: string; [k: string]: unknown }) => boolean): void {
    if (!existsSync(this.path)) return;
    const keep = readFileSync(this.path, "utf8")
      .split("\n")
      .filter((line) => {
        if (!line.trim()) return false;
        try {
          return pred(JSON.parse(line) as { step?: number; type?: string });
        } catch {
          return false;
        }
      });
    writeAtomic(this.path, keep.map((l) => `${l}\n`).join(""));
  }
}

export interface Progress {
  update(done: number, line: string): void;
  done(): void;
}

/** A bar redrawn in place on a terminal; on a pipe, one plain line every `every` updates. */
export function progress(
  log: Logger,
  total: number,
  every: number,
  stream: NodeJS.WriteStream = process.stdout,
): Progress {
  const tty = stream.isTTY === true && !process.env.CI;
  let last = 0;
  return {
    update(done, line) {
      if (tty) {
        const width = 24;
        const filled = Math.round((done / Math.max(1, total)) * width);
        const bar = `[${"#".repeat(filled)}${".".repeat(width - filled)}]`;
        const cols = stream.columns ?? 120;
        stream.write(`\r${`${bar} ${line}`.slice(0, cols - 1).padEnd(Math.min(cols - 1, 100))}`);
      } else if (done - last >= every || done === total) {
        last = done;
        log.info(line);
      }
    },
    done() {
      if (tty) stream.write("\n");
    },
  };
}

/** Fixed-width number formatting for log lines. */
export function fmt(v: number, digits = 4, width = 0): string {
  const s = Number.isFinite(v) ? v.toFixed(digits) : String(v);
  return width > 0 ? s.padStart(width) : s;
}

export function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
