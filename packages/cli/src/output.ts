// What the CLI prints and records: a progress bar on a terminal, plain
// periodic lines otherwise, JSON-lines metrics in the run directory, and
// atomic file writes.

import {
  accessSync,
  appendFileSync,
  constants,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  existsSync,
} from "node:fs";
import { dirname, resolve } from "node:path";
import type { Logger } from "@fairnas/kernels";
import { UsageError } from "./args.ts";

/** Plain words for the file-system errors a user can act on. */
const FS_CAUSES: Readonly<Record<string, string>> = {
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  ENOTDIR: "a part of the path is a file, not a directory",
  ENOENT: "a part of the path does not exist",
  EISDIR: "it is a directory",
  ENAMETOOLONG: "the name is too long",
};

/** The words for `e`'s error code, or null when it is not a file-system error we name. */
export function fsCause(e: unknown): string | null {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return code !== undefined ? (FS_CAUSES[code] ?? null) : null;
}

/**
 * What stops files being made at or under the directory `path`: the
 * nearest existing part of it is a file, or cannot be written (EACCES,
 * EROFS). Null when nothing does. As root, permission bits block nothing.
 */
export function creationBlock(path: string): string | null {
  if (path === "") return "the path is empty";
  const target = resolve(path);
  for (let p = target; ; p = dirname(p)) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch {
      if (dirname(p) === p) return null;
      continue;
    }
    if (!isDir) return `${p} is a file, not a directory`;
    try {
      accessSync(p, constants.W_OK | constants.X_OK);
    } catch (e) {
      const cause = fsCause(e) ?? (e as Error).message;
      return p === target ? cause : `${cause} (${p})`;
    }
    return null;
  }
}

/**
 * Creates `dir` (and its parents); errors name the directory and the cause.
 * The missing parts are made one at a time, nearest the root first: a
 * recursive mkdir under /proc retries forever (each part reports ENOENT,
 * its parent EEXIST), blocking even the signal handlers.
 */
export function makeDir(dir: string, what = "directory"): void {
  const fail = (why: string): never => {
    throw new Error(`cannot create ${what} ${dir === "" ? "''" : dir}: ${why}`);
  };
  if (dir === "") fail("the path is empty");
  const missing: string[] = [];
  for (let p = resolve(dir); !existsSync(p); p = dirname(p)) {
    missing.unshift(p);
    if (dirname(p) === p) break;
  }
  for (const p of missing) {
    try {
      mkdirSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EEXIST" && statSync(p).isDirectory()) continue; // made meanwhile
      // NOTE: a mount that takes no new entries (read-only, /proc) can say
      // ENOENT for a part whose parent exists; look for the real cause.
      const block = creationBlock(p);
      if (block !== null) fail(block);
      if (code === "ENOENT") fail(`${dirname(p)} takes no new entries (no such file or directory)`);
      fail(fsCause(e) ?? (e as Error).message);
    }
  }
  if (!statSync(resolve(dir)).isDirectory()) fail(`${resolve(dir)} is a file, not a directory`);
}

/** What an output file is, for `checkOutFile`'s messages. */
export interface OutKind {
  /** "latency table": "is not a latency table", "cannot write latency table X" */
  readonly what: string;
  /** "table": "name the table file to write" */
  readonly noun: string;
  /** Whether an existing file is this command's own earlier output, which it may replace. */
  readonly ours: (path: string) => boolean;
}

/**
 * Refuses, before any work, an `--out` file the command may not write: a
 * directory, an existing file that is not its own earlier output, or a
 * place where no file can be made. The last is tried for real, with a
 * probe file made and removed beside `out`: as root, permission bits say
 * yes where the file system (/sys, a read-only mount) says no.
 */
export function checkOutFile(out: string, kind: OutKind): void {
  if (out === "") throw new UsageError(`--out is empty; name the ${kind.noun} file to write`);
  const exists = existsSync(out);
  if (exists && statSync(out).isDirectory())
    throw new UsageError(`--out ${out} is a directory; name the ${kind.noun} file to write`);
  if (exists && !kind.ours(out))
    throw new UsageError(
      `--out ${out} exists and is not a ${kind.what}; it is left as it is (name another file)`,
    );
  const verb = exists ? "replace" : "write";
  const block = creationBlock(dirname(out));
  if (block !== null) throw new Error(`cannot ${verb} ${kind.what} ${out}: ${block}`);
  const probe = `${out}.tmp-probe-${process.pid}`;
  try {
    writeFileSync(probe, "");
  } catch (e) {
    throw new Error(`cannot ${verb} ${kind.what} ${out}: ${fsCause(e) ?? (e as Error).message}`);
  } finally {
    rmSync(probe, { force: true });
  }
}

/** Writes `text` to `path` via a temporary file and a rename. */
export function writeAtomic(path: string, text: string): void {
  makeDir(dirname(path));
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (e) {
    // A full disk or a directory at `path`: no temporary is left beside it.
    rmSync(tmp, { force: true });
    throw writeError(e, path);
  }
}

/** One message for a failed write of `path`, saying what is left on disk. */
function writeError(e: unknown, path: string): Error {
  const cause = fsCause(e);
  if (cause === null) return e as Error;
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "EISDIR") return new Error(`cannot write ${path}: it is a directory`);
  const left = existsSync(path) ? `the previous ${path} is intact` : `${path} was not written`;
  if (code === "ENOSPC" || code === "EDQUOT")
    return new Error(`${cause} while writing ${path}; ${left}`);
  return new Error(`cannot write ${path}: ${cause}; ${left}`);
}

/**
 * The parsed JSON in `path`, or an error naming the file, what is wrong
 * with it and `advice` (what the user can do about it, e.g. "delete it to
 * retrain this architecture").
 */
export function readJsonFile(path: string, advice = ""): unknown {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    const what = (e as Error).message;
    throw new Error(`${path}: not valid JSON (${what})${advice ? `; ${advice}` : ""}`);
  }
}

/** Append-only JSON-lines metrics file. */
export class Metrics {
  constructor(readonly path: string) {
    makeDir(dirname(path));
  }

  write(record: Readonly<Record<string, unknown>>): void {
    try {
      appendFileSync(this.path, `${JSON.stringify(record)}\n`);
    } catch (e) {
      const cause = fsCause(e);
      if (cause === null) throw e;
      const full = ["ENOSPC", "EDQUOT"].includes((e as NodeJS.ErrnoException).code ?? "");
      throw new Error(
        full
          ? `${cause} while appending to ${this.path}`
          : `cannot append to ${this.path}: ${cause}`,
      );
    }
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

/**
 * A bar redrawn in place on a terminal; on a pipe, one plain line each time
 * `done` passes a multiple of `every` (and at the end), so a resumed run
 * prints the same steps as metrics.jsonl records, not steps counted from
 * where it resumed.
 */
export function progress(
  log: Logger,
  total: number,
  every: number,
  stream: NodeJS.WriteStream = process.stdout,
): Progress {
  const tty = stream.isTTY === true && !process.env.CI;
  let last: number | null = null;
  return {
    update(done, line) {
      if (tty) {
        const width = 24;
        const filled = Math.round((done / Math.max(1, total)) * width);
        const bar = `[${"#".repeat(filled)}${".".repeat(width - filled)}]`;
        const cols = stream.columns ?? 120;
        stream.write(`\r${`${bar} ${line}`.slice(0, cols - 1).padEnd(Math.min(cols - 1, 100))}`);
      } else {
        const prev = last ?? done - 1;
        last = done;
        if (Math.floor(done / every) > Math.floor(prev / every) || done === total) log.info(line);
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
