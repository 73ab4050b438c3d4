import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
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

/** The files oldRun wrote, byte for byte: a refused command rewrote none of them. */
function intact(dir: string): void {
  const cfg = JSON.stringify(resolveConfig("quick", null, {}));
  const want: [string, string][] = [
    ["config.json", cfg],
    ["summary.json", "{}\n"],
    [join("checkpoints", "supernet.ckpt"), "weights"],
  ];
  for (const [f, text] of want) {
    const path = join(dir, f);
    expect(existsSync(path) ? readFileSync(path, "utf8") : "(missing)", f).toBe(text);
  }
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

describe("run --resume", () => {
  it("names a damaged stand-alone record before any training", async () => {
    const dir = oldRun();
    mkdirSync(join(dir, "standalone"));
    const record = join(dir, "standalone", "01096f31854c.json");
    writeFileSync(record, '{\n  "kind": "standalone",\n  "spa');
    writeFileSync(join(dir, "standalone", "01096f31854c.metrics.jsonl"), "");
    const c = capture();
    const code = await main(["run", "--preset", "quick", "--resume", "--out", dir], c.log);
    expect(code).not.toBe(0);
    expect(c.text()).toMatch(/01096f31854c\.json: not valid JSON .*delete it to retrain/);
    // Refused up front: no device opened, no training step logged.
    expect(c.text()).not.toMatch(/step +\d/);
    expect(readFileSync(record, "utf8")).toBe('{\n  "kind": "standalone",\n  "spa');
    intact(dir);
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

describe("rank --archs", () => {
  it("refuses a count larger than the space before opening the run", async () => {
    const dir = oldRun();
    // fmnist: 6 choices in each of 8 layers.
    for (const n of ["1679617", "99999999999999999999"]) {
      const c = capture();
      expect(await main(["rank", "--run", dir, "--archs", n], c.log), n).toBe(2);
      expect(c.text()).toContain(
        `error: --archs ${n}: space 'fmnist' has only 1679616 architectures`,
      );
    }
  });

  it("refuses more cost bins than the space has distinct MAdds values", async () => {
    const c = capture();
    expect(await main(["rank", "--run", oldRun(), "--archs", "14553"], c.log)).toBe(2);
    expect(c.text()).toContain(
      "error: --archs 14553: architectures of space 'fmnist' take only 14552 distinct " +
        "MAdds values, so at most that many cost bins can be filled",
    );
  });
});

describe("report --out", () => {
  it("replaces an earlier HTML report but no other file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "report-out-"));
    writeFileSync(join(dir, "config.json"), JSON.stringify(resolveConfig("quick", null, {})));
    const summary = '{"trainSteps": 96}\n';
    writeFileSync(join(dir, "summary.json"), summary);
    const c = capture();
    expect(await main(["report", dir, "--out", join(dir, "summary.json")], c.log)).toBe(2);
    expect(c.text()).toContain(
      `error: --out ${join(dir, "summary.json")} exists and is not an HTML report; ` +
        "it is left as it is (name another file)",
    );
    expect(readFileSync(join(dir, "summary.json"), "utf8")).toBe(summary);
    rmSync(join(dir, "summary.json"));
    const old = join(dir, "old.html");
    writeFileSync(old, "<!DOCTYPE html>\n<html><body>old</body></html>\n");
    expect(await main(["report", dir, "--out", old], capture().log)).toBe(0);
    expect(readFileSync(old, "utf8")).toContain("Run report: report-out-");
  });
});

describe("latency build --out", () => {
  it("refuses a directory before measuring anything", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lat-out-"));
    const c = capture();
    const args = ["latency", "build", "--space", "fmnist", "--out", dir];
    expect(await main(args, c.log)).toBe(2);
    expect(c.text()).toMatch(
      new RegExp(`^error: --out ${dir} is a directory; name the table file to write\n`),
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  it.runIf(existsSync("/sys/kernel"))("refuses /sys before measuring, as root too", async () => {
    const c = capture();
    const args = ["latency", "build", "--space", "fmnist", "--out", "/sys/t.json"];
    expect(await main(args, c.log)).toBe(1);
    expect(c.text()).toMatch(/^error: cannot write latency table \/sys\/t\.json: /);
    expect(c.text()).not.toContain("entry");
  });
});

describe("bench kernels --out", () => {
  it("refuses a foreign file and a directory before running, leaving them", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bench-out-"));
    const victim = join(dir, "victim.txt");
    writeFileSync(victim, "important\n");
    const c = capture();
    expect(await main(["bench", "kernels", "--quick", "--out", victim], c.log)).toBe(2);
    expect(c.text()).toContain(
      `--out ${victim} exists and is not a kernel benchmark result; it is left as it is`,
    );
    expect(readFileSync(victim, "utf8")).toBe("important\n");
    expect(await main(["bench", "kernels", "--quick", "--out", dir], c.log)).toBe(2);
    expect(c.text()).toContain(`--out ${dir} is a directory; name the JSON file to write`);
    expect(c.text()).not.toContain("FMA probe");
    expect(readdirSync(dir)).toEqual(["victim.txt"]);
  });
});

describe("stray arguments", () => {
  it("a command refuses an argument it does not take, naming it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "stray-"));
    const cases: string[][] = [
      ["run", "--preset", "quick", "--data", join(dir, "none"), "extra"],
      ["train", "--preset", "quick", "--out", join(dir, "t"), "extra"],
      ["eval", "--run", dir, "--arch", "k3e3", "extra"],
      ["cost", "--space", "fmnist", "--json", "extra"],
      ["search", "--run", dir, "extra"],
      ["specialize", "--run", dir, "--max-madds", "5", "extra"],
      ["ponas", "--preset", "quick", "--out", join(dir, "p"), "extra"],
      ["rank", "--run", dir, "extra"],
      ["ablate", "--samplers", "fair", "extra"],
      ["train-arch", "--arch", "k3e3", "extra"],
      ["latency", "check", "--table", join(dir, "t.json"), "extra"],
      ["bench", "kernels", "--quick", "extra"],
      ["report", dir, "extra"],
    ];
    for (const args of cases) {
      const c = capture();
      expect(await main(args, c.log), args.join(" ")).toBe(2);
      expect(c.text(), args.join(" ")).toMatch(/^error: unexpected argument 'extra': this command/);
    }
    // Nothing was started or written on the way.
    expect(readdirSync(dir)).toEqual([]);
  });

  it("report takes one RUN_DIR and says so when it gets none", async () => {
    const c = capture();
    expect(await main(["report"], c.log)).toBe(2);
    expect(c.text()).toMatch(/^error: report needs exactly one RUN_DIR, got 0/);
  });
});

describe("--out naming a file", () => {
  it("run and train refuse it with a clear error and leave the file as it was", async () => {
    const dir = mkdtempSync(join(tmpdir(), "out-file-"));
    const file = join(dir, "notes.txt");
    writeFileSync(file, "keep me\n");
    for (const flags of [[], ["--resume"], ["--overwrite"]]) {
      for (const cmd of ["run", "train"]) {
        const c = capture();
        const code = await main([cmd, "--preset", "quick", ...flags, "--out", file], c.log);
        expect(code, `${cmd} ${flags.join(" ")}`).toBe(2);
        expect(c.text()).toContain(
          `error: ${file} is a file, not a run directory (choose another --out)\n`,
        );
      }
    }
    const c = capture();
    expect(await main(["run", "--preset", "quick", "--out", join(file, "run")], c.log)).toBe(2);
    expect(c.text()).toContain(
      `lies under ${file}, a file, not a directory (choose another --out)`,
    );
    expect(readFileSync(file, "utf8")).toBe("keep me\n");
    expect(readdirSync(dir)).toEqual(["notes.txt"]);
  });
});

describe("nas-cli report --out", () => {
  /** A run directory holding only config.json (all a report needs). */
  function bareRun(): string {
    const dir = mkdtempSync(join(tmpdir(), "report-"));
    writeFileSync(join(dir, "config.json"), JSON.stringify(resolveConfig("quick", null, {})));
    return dir;
  }

  it("refuses a missing directory in one line naming it, and creates nothing", async () => {
    const dir = bareRun();
    const pages = join(dir, "pages");
    const out = join(pages, "run.html");
    const c = capture();
    expect(await main(["report", dir, "--out", out], c.log)).toBe(1);
    expect(c.text()).toBe(
      `error: --out ${out}: directory ${pages} does not exist; create it first\n`,
    );
    expect(existsSync(pages)).toBe(false);

    mkdirSync(pages);
    const ok = capture();
    expect(await main(["report", dir, "--out", out], ok.log)).toBe(0);
    expect(ok.text()).toBe(`${out}\n`);
    expect(readFileSync(out, "utf8")).toMatch(/^<!doctype html>/i);
  });

  it("refuses a directory as the file to write", async () => {
    const dir = bareRun();
    const c = capture();
    expect(await main(["report", dir, "--out", dir], c.log)).toBe(1);
    expect(c.text()).toBe(`error: --out ${dir} is a directory; name the HTML file to write\n`);
  });
});

describe("nas-cli help", () => {
  it("<command> --help and help <command> print that command's options, exit 0", async () => {
    for (const argv of [
      ["search", "--help"],
      ["help", "search"],
      ["search", "--run", "x", "-h"],
    ]) {
      const c = capture();
      expect(await main(argv, c.log), argv.join(" ")).toBe(0);
      expect(c.text()).toMatch(/^usage: nas-cli search --run DIR \[options\]/);
      for (const flag of ["--val-images N", "--third params|latency", "--population P"])
        expect(c.text()).toContain(flag);
    }
    const list = capture();
    expect(await main(["help"], list.log)).toBe(0);
    expect(list.text()).toMatch(/`nas-cli <command> --help` .*lists a command's options/);
    const unknown = capture();
    expect(await main(["serch", "--help"], unknown.log)).toBe(2);
    expect(unknown.text()).toMatch(/^error: unknown command 'serch'/);
  });

  it("a refused option is followed by the command's own usage", async () => {
    const c = capture();
    expect(await main(["cost", "--spaec", "fmnist"], c.log)).toBe(2);
    expect(c.text()).toMatch(/^error: unknown option '--spaec'\nusage: nas-cli cost /);
  });
});

describe("flag values", () => {
  /** The one error line `nas-cli ...argv` ends with (exit code 2). */
  async function refused(argv: string[]): Promise<string> {
    const c = capture();
    expect(await main(argv, c.log), argv.join(" ")).toBe(2);
    return c.text().split("\n")[0]!;
  }

  it("refuses an option given twice, by name", async () => {
    expect(await refused(["run", "--preset", "quick", "--preset", "fmnist"])).toBe(
      "error: --preset is given twice; give it once",
    );
    expect(await refused(["cost", "--json", "--json"])).toBe(
      "error: --json is given twice; give it once",
    );
    expect(await refused(["ponas", "-v", "--verbose"])).toMatch(/--verbose is given twice/);
  });

  it("refuses an empty or blank value, naming the flag", async () => {
    expect(await refused(["run", "--seed", ""])).toBe(
      "error: --seed needs a value, got '' (blank)",
    );
    expect(await refused(["eval", "--recal-batches", " "])).toMatch(
      /^error: --recal-batches needs a value, got ' '/,
    );
    expect(await refused(["run", "--data", ""])).toMatch(/^error: --data needs a value/);
    expect(await refused(["train", "--out="])).toMatch(/^error: --out needs a value/);
  });

  it("integers are digits only; a negative number is said as such", async () => {
    expect(await refused(["run", "--seed", "-5"])).toBe(
      "error: --seed needs a non-negative value, got '-5'",
    );
    expect(await refused(["run", "--seed=-5"])).toBe(
      "error: --seed must be a non-negative integer, got '-5'",
    );
    for (const v of ["1e3", "0x10", "2.0", "+3"])
      expect(await refused(["run", "--seed", v])).toBe(
        `error: --seed must be a non-negative integer, got '${v}'`,
      );
    expect(await refused(["run", "--out", "--resume"])).toMatch(
      /--out needs a value, but '--resume' looks like an option/,
    );
    expect(await refused(["cost", "--json=yes"])).toBe("error: --json takes no value");
    expect(await refused(["cost", "--space"])).toBe("error: --space needs a value");
  });

  it("--resamples 0 is refused before any training; a blank RUN_DIR too", async () => {
    expect(await refused(["rank", "--run", "r", "--archs", "3", "--resamples", "0"])).toBe(
      "error: --resamples must be at least 1, got 0",
    );
    expect(await refused(["ablate", "--resamples", "0"])).toBe(
      "error: --resamples must be at least 1, got 0",
    );
    expect(await refused(["report", " "])).toBe("error: a blank argument (' '); name a path");
  });

  it("run and train refuse each other's flags by name", async () => {
    expect(await refused(["run", "--sampler", "spos"])).toMatch(
      /--sampler belongs to `nas-cli train`/,
    );
    expect(await refused(["train", "--mode=ponas"])).toMatch(/--mode belongs to `nas-cli run`/);
  });

  it("train-arch --run refuses the settings the run's configuration decides", async () => {
    for (const flag of ["--seed", "--data", "--preset"])
      expect(await refused(["train-arch", "--arch", "x", "--run", "r", flag, "1"])).toMatch(
        new RegExp(`--run takes the run's configuration; drop ${flag} `),
      );
  });
});
