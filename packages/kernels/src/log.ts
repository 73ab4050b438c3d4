// One logger for the whole project: levels, streams handed in, and
// deduplicated, counted warnings (so tests can assert them).

export type Level = "error" | "warn" | "info" | "debug";

const ORDER: Record<Level, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface Sink {
  write(text: string): unknown;
}

export class Logger {
  readonly warnings = new Map<string, number>();

  constructor(
    readonly out: Sink = process.stdout,
    readonly err: Sink = process.stderr,
    public level: Level = "info",
  ) {}

  enabled(level: Level): boolean {
    return ORDER[level] <= ORDER[this.level];
  }

  error(msg: string): void {
    if (this.enabled("error")) this.err.write(`error: ${msg}\n`);
  }

  /** Prints a warning the first time it is seen; later repeats are counted. */
  warn(msg: string): void {
    const seen = this.warnings.get(msg) ?? 0;
    this.warnings.set(msg, seen + 1);
    if (seen === 0 && this.enabled("warn")) this.err.write(`warning: ${msg}\n`);
  }

  info(msg: string): void {
    if (this.enabled("info")) this.out.write(`${msg}\n`);
  }

  debug(msg: string): void {
    if (this.enabled("debug")) this.err.write(`debug: ${msg}\n`);
  }
}

/** A logger that keeps everything in memory, for tests. */
export function memoryLogger(level: Level = "debug"): Logger & { text(): string } {
  const chunks: string[] = [];
  const sink = { write: (t: string) => chunks.push(t) };
  const log = new Logger(sink, sink, level) as Logger & { text(): string };
  log.text = () => chunks.join("");
  return log;
}
