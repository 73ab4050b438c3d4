import { describe, expect, it } from "vitest";
import { Logger, type Sink } from "@fairnas/kernels";
import { interruptNote } from "./interrupt.ts";
import { main } from "./main.ts";

function capture(): { log: Logger; text: () => string } {
  const lines: string[] = [];
  const sink: Sink = { write: (s: string) => (lines.push(s), true) } as Sink;
  return { log: new Logger(sink, sink), text: () => lines.join("") };
}

describe("Ctrl-C note", () => {
  it("advises --resume exactly for the commands that take it", async () => {
    const commands = [
      ["run"],
      ["train"],
      ["ponas"],
      ["train-arch"],
      ["ablate"],
      ["eval"],
      ["cost"],
      ["search"],
      ["rank"],
      ["specialize"],
      ["latency", "check"],
      ["bench", "kernels"],
    ];
    for (const cmd of commands) {
      // parseArgs names the first unknown option: --resume when the command
      // lacks it, else the made-up one after it. Nothing starts either way.
      const c = capture();
      expect(await main([...cmd, "--resume", "--no-such-flag"], c.log), cmd[0]).toBe(2);
      const takesResume = !c.text().includes("Unknown option '--resume'");
      expect(c.text(), cmd[0]).toContain("Unknown option");
      expect(interruptNote(cmd).includes("--resume"), cmd[0]).toBe(takesResume);
    }
  });

  it("says how each kind of command goes on", () => {
    expect(interruptNote(["run", "--preset", "quick"])).toBe(
      "\ninterrupted: checkpoints on disk are complete; " +
        "rerun the same command with --resume to continue\n",
    );
    expect(interruptNote(["search", "--run", "r"])).toBe(
      "\ninterrupted: rerun the same command to start it again\n",
    );
    expect(interruptNote(["rank"])).toMatch(/^\ninterrupted: rerun the same command to continue;/);
    expect(interruptNote([])).toBe("\ninterrupted: rerun the same command to start it again\n");
  });
});
