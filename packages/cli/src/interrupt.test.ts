import { spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Logger, type Sink } from "@fairnas/kernels";
import { interruptNote, onInterrupt, type SignalTarget } from "./interrupt.ts";
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
      const takesResume = !/unknown option '--resume'/i.test(c.text());
      expect(c.text(), cmd[0]).toMatch(/unknown option/i);
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

/** A stand-in for `process`: signals are emitted by hand, exit is recorded. */
function fakeProcess(): SignalTarget & EventEmitter & { err: string; codes: number[] } {
  const p = Object.assign(new EventEmitter(), { err: "", codes: [] as number[] });
  return Object.assign(p, {
    stderr: { write: (s: string) => (p.err += s) },
    exit: (code: number) => void p.codes.push(code),
  });
}

describe("SIGTERM and SIGINT", () => {
  for (const [signal, code] of [
    ["SIGTERM", 143],
    ["SIGINT", 130],
  ] as const) {
    it(`${signal}: the same note as Ctrl-C, exit ${code}`, () => {
      const p = fakeProcess();
      onInterrupt(["train", "--preset", "quick"], p);
      p.emit(signal);
      expect(p.err).toBe(interruptNote(["train"]));
      expect(p.err).toContain("--resume");
      expect(p.codes).toEqual([code]);
    });
  }

  it("a real SIGTERM to a node process prints the note and exits 143", async () => {
    // The handlers as bin/nas-cli.mjs installs them, in a child that waits.
    const code =
      'const { onInterrupt } = await import("./src/interrupt.ts");' +
      'onInterrupt(["run"]); process.stdout.write("ready\\n"); setInterval(() => {}, 1000);';
    const cwd = dirname(dirname(fileURLToPath(import.meta.url)));
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
      cwd,
    });
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    await new Promise<void>((ok) => child.stdout.once("data", () => ok()));
    child.kill("SIGTERM");
    const exit = await new Promise<number | null>((ok) => child.on("exit", (c) => ok(c)));
    expect(exit, err).toBe(143);
    expect(err).toBe(interruptNote(["run"]));
  }, 30_000);
});
