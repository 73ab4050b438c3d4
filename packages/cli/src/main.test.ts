import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Logger, type Sink } from "@fairnas/kernels";
import { resolveConfig } from "./config.ts";
import { main } from "./main.ts";

/** A logger that keeps what it prints. */
function capture(): { log: Logger; text: () => string } {
  const lines: string[] = [];
  const sink: Sink = { write: (s: string) => (lines.push(s), true) } as Sink;
  return { log: new Logger(sink, sink), text: () => lines.join("") };
}

/** A directory holding a finished run's files (contents are placeholders). */
function oldRun(): string {
  const dir = mkdtempSync(join(tmpdir(), "main-"));
  const cfg = resolveConfig("quick", null, {});
  writeFileSync(join(dir, "config.json"), JSON.stringify(cfg));
  writeFileSync(join(dir, "summary.json"), "{}\n");
  mkdirSync(join(dir, "checkpoints"));
  writeFileSync(join(dir, "checkpoints", "supernet.ckpt"), "weights");
  return dir;
}

function intact(dir: string): void {
  for (const f of ["config.json", "summary.json", join("checkpoints", "supernet.ckpt")])
    expect(existsSync(join(dir, f)), f).toBe(true);
}

describe("nas-cli run --overwrite", () => {
  it("keeps the earlier run when the new command is refused", async () => {
    const cases: [string[], RegExp][] = [
      [["run", "--mode", "ponsa"], /--mode must be fairnas or ponas, got 'ponsa'/],
      [["train", "--mode", "ponas"], /--mode belongs to `nas-cli run`/],
      [["run", "--data", join(tmpdir(), "no-such-dataset-dir")], /does not exist/],
    ];
    for (const [args, message] of cases) {
      const dir = oldRun();
      const c = capture();
      const code = await main([...args, "--preset", "quick", "--overwrite", "--out", dir], c.log);
      expect(code, args.join(" ")).not.toBe(0);
      expect(c.text()).toMatch(message);
      intact(dir);
    }
  });
});

describe("stored configuration", () => {
  it("names the damaged config.json on --resume", async () => {
    for (const [text, message] of [
      ['{"seed":1,"train":{', /config\.json is damaged \(not valid JSON/],
      ['{"seed":1}', /config\.json is damaged or incomplete/],
    ] as const) {
      const dir = oldRun();
      writeFileSync(join(dir, "config.json"), text);
      const c = capture();
      const code = await main(["run", "--preset", "quick", "--resume", "--out", dir], c.log);
      expect(code).not.toBe(0);
      expect(c.text()).toMatch(message);
      expect(readFileSync(join(dir, "config.json"), "utf8")).toBe(text);
    }
  });
});

describe("config values", () => {
  it("refuses non-finite numbers, huge populations and seeds, and built-in names", () => {
    expect(() => resolveConfig("quick", { train: { lr: Infinity } }, {})).toThrow(
      /train\.lr: must be a finite number, got Infinity/,
    );
    expect(() => resolveConfig("quick", JSON.parse('{"train":{"weightDecay":1e400}}'), {})).toThrow(
      /train\.weightDecay: must be a finite number/,
    );
    expect(() => resolveConfig("quick", { search: { population: 1e9 } }, {})).toThrow(
      /search\.population: must be an integer in \[2, 10000\], got 1000000000/,
    );
    expect(() => resolveConfig("quick", { seed: 4294967297 }, {})).toThrow(
      /seed: must be an integer in/,
    );
    expect(() => resolveConfig("quick", { constructor: 1 }, {})).toThrow(
      /constructor: unknown setting/,
    );
    expect(() => resolveConfig("quick", { train: { toString: 1 } }, {})).toThrow(
      /train\.toString: unknown setting/,
    );
    expect(() => resolveConfig("quick", JSON.parse('{"__proto__":{"seed":2}}'), {})).toThrow(
      /__proto__: unknown setting/,
    );
    expect(() => resolveConfig("quick", { preset: "../../etc" }, {})).toThrow(
      /preset: the config file names '\.\.\/\.\.\/etc' but the run uses preset 'quick'/,
    );
    expect(resolveConfig("quick", { preset: "quick", seed: 3 }, {}).seed).toBe(3);
  });
});
