// What Ctrl-C (SIGINT) and SIGTERM print: where things stand and how to go
// on. Only the commands that take --resume are told to rerun with it; the
// others would refuse the flag.

/** Commands with a --resume flag (checkpointed training). */
const RESUMABLE = new Set(["run", "train", "ponas", "train-arch", "ablate"]);

/** The note for an interrupted `nas-cli <argv>` (argv without node and script). */
export function interruptNote(argv: readonly string[]): string {
  const cmd = argv[0] ?? "";
  if (RESUMABLE.has(cmd)) {
    return (
      "\ninterrupted: checkpoints on disk are complete; " +
      "rerun the same command with --resume to continue\n"
    );
  }
  if (cmd === "rank") {
    return (
      "\ninterrupted: rerun the same command to continue; finished stand-alone records are " +
      "reused and a started one continues from its checkpoint\n"
    );
  }
  return "\ninterrupted: rerun the same command to start it again\n";
}

/** Exit codes of a process stopped by a signal: 128 + the signal's number. */
export const SIGNAL_EXIT: Readonly<Record<"SIGINT" | "SIGTERM", number>> = {
  SIGINT: 130,
  SIGTERM: 143,
};

/** The parts of `process` the handlers use (a fake one in tests). */
export interface SignalTarget {
  once(signal: "SIGINT" | "SIGTERM", listener: () => void): unknown;
  readonly stderr: { write(s: string): unknown };
  exit(code: number): void;
}

/**
 * On SIGINT or SIGTERM, prints `interruptNote(argv)` and exits with 130 or
 * 143. A `kill` or a job scheduler stopping the run gets the same note as
 * Ctrl-C: training writes checkpoints atomically, so either loses at most
 * the steps since the last one.
 */
export function onInterrupt(argv: readonly string[], target: SignalTarget = process): void {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    target.once(signal, () => {
      target.stderr.write(interruptNote(argv));
      target.exit(SIGNAL_EXIT[signal]);
    });
  }
}
