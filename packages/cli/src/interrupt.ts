// What Ctrl-C prints: where things stand and how to go on. Only the
// commands that take --resume are told to rerun with it; the others would
// refuse the flag.

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
