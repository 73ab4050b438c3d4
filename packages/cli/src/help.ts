// Every help text of nas-cli: the command list and, per command, one line
// for each option it accepts. help.test.ts checks that these options are
// exactly the ones each command parses, so the two cannot drift apart.

/** One option: the value it takes (none for a switch) and what it does. */
export interface OptionHelp {
  readonly value?: string;
  readonly text: string;
}

export interface CommandHelp {
  /** What follows `nas-cli <command>` in the usage line. */
  readonly synopsis: string;
  readonly about: string;
  /** Keyed by the option's long name, in the order they are listed. */
  readonly options: Readonly<Record<string, OptionHelp>>;
  readonly notes?: readonly string[];
}

// Options that several commands share, worded once.
const PRESET: OptionHelp = { value: "NAME", text: "settings preset: fmnist (default) or quick" };
const CONFIG: OptionHelp = { value: "FILE", text: "JSON file overriding preset settings by name" };
const DATA: OptionHelp = { value: "DIR", text: "dataset directory (default: the config's `data`)" };
const SEED: OptionHelp = { value: "N", text: "seed (default: the config's, 1 in the presets)" };
const VERBOSE: OptionHelp = { text: "debug logging" };
const JSON_OUT: OptionHelp = { text: "print the answer as one JSON line on stdout" };
const TEST_IMAGES: OptionHelp = {
  value: "N",
  text: "stand-alone test images scored (default 0: the whole test set)",
};
const EPOCHS: OptionHelp = {
  value: "E",
  text: "stand-alone epochs, fractions allowed (default standalone.epochs)",
};
const RESAMPLES: OptionHelp = { value: "N", text: "bootstrap resamples of the CI (default 1000)" };

const SUPERNET: Readonly<Record<string, OptionHelp>> = {
  preset: PRESET,
  config: CONFIG,
  data: DATA,
  seed: SEED,
  resume: { text: "continue the run in --out from its last checkpoint" },
  overwrite: { text: "replace the run in --out (its outputs only)" },
  verbose: VERBOSE,
};

const OUT_RUN = "run directory (default runs/<preset>-<sampler>-seed<seed>)";

/** A search budget flag; its default is the run's `search.<key>`. */
const BUDGET = (cost: string, key: string): OptionHelp => ({
  value: "X",
  text: `at most X ${cost}, 0: none (default search.${key})`,
});

export const COMMANDS: Readonly<Record<string, CommandHelp>> = {
  run: {
    synopsis: "[options]",
    about: "the whole job: fair supernet training, scoring, search, retraining, report",
    options: {
      ...SUPERNET,
      out: { value: "DIR", text: OUT_RUN },
      mode: {
        value: "fairnas|ponas",
        text: "fairnas (default), or ponas: the PONAS pipeline instead",
      },
    },
  },
  train: {
    synopsis: "[options]",
    about: "supernet training only",
    options: {
      ...SUPERNET,
      out: { value: "DIR", text: OUT_RUN },
      sampler: { value: "fair|spos|ef|ef-lr", text: "path sampler (default fair)" },
    },
  },
  eval: {
    synopsis: "--run DIR --arch ARCH [options]",
    about: "one architecture scored with the weights of a trained supernet",
    options: {
      run: { value: "DIR", text: "trained run directory (required)" },
      arch: { value: "ARCH", text: "architecture, e.g. k3e3-k5e6-... (required)" },
      bn: { value: "recal|tracked", text: "BN statistics: recalibrated (default) or tracked" },
      "recal-batches": {
        value: "N",
        text: "training batches for BN recalibration (default eval.recalBatches)",
      },
      json: JSON_OUT,
    },
  },
  cost: {
    synopsis: "--space SPACE --arch ARCH [--json]",
    about: "multiply-adds and parameters of a network, total and per layer",
    options: {
      space: { value: "SPACE", text: "space preset name or space JSON file (required)" },
      arch: { value: "ARCH", text: "architecture, one token per layer (required)" },
      json: JSON_OUT,
    },
  },
  search: {
    synopsis: "--run DIR [options]",
    about: "multi-objective search on a trained run under hard budgets",
    options: {
      run: { value: "DIR", text: "trained run directory (required)" },
      algo: { value: "nsga2-ppo|nsga2|random", text: "search algorithm (default search.algo)" },
      generations: { value: "G", text: "generations (default search.generations)" },
      population: { value: "P", text: "population, 2..10000 (default search.population)" },
      "max-madds": BUDGET("multiply-adds", "maxMadds"),
      "max-params": BUDGET("parameters", "maxParams"),
      "max-latency-ms": BUDGET("ms predicted", "maxLatencyMs"),
      "latency-table": {
        value: "FILE",
        text: "from `nas-cli latency build`, for a latency budget or objective",
      },
      third: {
        value: "params|latency",
        text: "third objective beside top-1 and MAdds (default search.third)",
      },
      "val-images": {
        value: "N",
        text: "validation images per score, 0: all (default search.valImages)",
      },
      seed: { value: "N", text: "search seed (default: the run's seed)" },
      json: { text: "print the front as JSON on stdout" },
      verbose: VERBOSE,
    },
    notes: ["A --val-images past the run's validation split is lowered to it, with a warning."],
  },
  latency: {
    synopsis: "build|check [options]",
    about: "latency lookup table measured on this adapter, or checked end to end",
    options: {
      space: { value: "SPACE", text: "build: space preset or JSON file (required)" },
      batch: { value: "N", text: "build: batch size timed (default 1)" },
      out: { value: "FILE", text: "build: table written (default latency-<space>-batch<N>.json)" },
      table: { value: "FILE", text: "check: the table to check (required)" },
      archs: { value: "N", text: "check: networks timed end to end (default 8)" },
      run: { value: "DIR", text: "check: run directory receiving latency.json" },
      seed: { value: "N", text: "check: seed of the networks drawn (default 1)" },
      repeats: { value: "N", text: "timed samples, the median is kept (default 30)" },
      warmups: { value: "N", text: "untimed runs first (default 5)" },
      inner: { value: "N", text: "back-to-back runs per sample (default 6)" },
    },
  },
  "train-arch": {
    synopsis: "--arch ARCH [options]",
    about: "one architecture trained from scratch (stand-alone)",
    options: {
      arch: { value: "ARCH", text: "architecture to train (required)" },
      run: {
        value: "DIR",
        text: "use this run's configuration (not with --preset/--config/--data/--seed)",
      },
      epochs: EPOCHS,
      preset: PRESET,
      config: CONFIG,
      data: DATA,
      seed: SEED,
      out: {
        value: "DIR",
        text: "records (default RUN/standalone or runs/standalone-<preset>-seed<seed>)",
      },
      "test-images": TEST_IMAGES,
      resume: { text: "continue from the architecture's checkpoint in --out" },
    },
  },
  rank: {
    synopsis: "--run DIR --archs N|FILE [options]",
    about: "supernet ranking against stand-alone training (Kendall tau, Spearman)",
    options: {
      run: { value: "DIR", text: "trained run directory (required)" },
      archs: {
        value: "N|FILE",
        text: "N >= 3 drawn across MAdds, or FILE, one architecture a line (required)",
      },
      epochs: EPOCHS,
      bn: { value: "recal|tracked|both", text: "supernet BN mode scored (default both)" },
      seed: { value: "N", text: "sampling and bootstrap seed (default: the run's seed)" },
      resamples: RESAMPLES,
      "test-images": TEST_IMAGES,
      similarity: { text: "also the similarity of layer 0's choices" },
      "similarity-layer": { value: "L", text: "the same for layer L (implies --similarity)" },
    },
  },
  ablate: {
    synopsis: "[options]",
    about: "fairness ablation: one supernet per sampler, rankings compared",
    options: {
      samplers: { value: "LIST", text: "comma-separated samplers (default fair,spos,ef,ef-lr)" },
      preset: PRESET,
      config: CONFIG,
      data: DATA,
      seed: SEED,
      out: { value: "DIR", text: "output directory (default runs/ablation-<preset>-seed<seed>)" },
      archs: { value: "N", text: "architectures ranked, at least 3 (default 20)" },
      epochs: EPOCHS,
      budget: {
        value: "images|updates",
        text: "equal path-images (default) or equal updates per sampler",
      },
      resume: { text: "continue an ablation in --out" },
      "test-images": TEST_IMAGES,
      resamples: RESAMPLES,
    },
  },
  ponas: {
    synopsis: "[options]",
    about: "PONAS meta-training, fine-tuning, candidate table and budget sweep",
    options: {
      preset: PRESET,
      config: CONFIG,
      data: DATA,
      seed: SEED,
      out: { value: "DIR", text: "run directory (default runs/<preset>-ponas-seed<seed>)" },
      resume: SUPERNET.resume!,
      overwrite: SUPERNET.overwrite!,
      "no-sweep": { text: "stop after the table: no budget sweep, no comparison" },
      "no-compare": { text: "sweep, but without the comparison with a search" },
      verbose: VERBOSE,
    },
  },
  specialize: {
    synopsis: "--run DIR (--max-madds X | --max-params Z | --max-latency-ms Y | --sweep)",
    about: "instant budget specialization from a PONAS run's candidate table",
    options: {
      run: { value: "DIR", text: "PONAS run directory (required)" },
      "max-madds": { value: "X", text: "at most X multiply-adds (0: no budget)" },
      "max-params": { value: "Z", text: "at most Z parameters (0: no budget)" },
      "max-latency-ms": { value: "Y", text: "at most Y ms (0: no budget; needs --latency-table)" },
      "min-madds": { value: "X", text: "at least X multiply-adds" },
      "min-params": { value: "Z", text: "at least Z parameters" },
      "min-latency-ms": { value: "Y", text: "at least Y ms (needs --latency-table)" },
      "latency-table": { value: "FILE", text: "latency table from `nas-cli latency build`" },
      sweep: { text: "accuracy against budget, from the cheapest network to the startpoint" },
      points: { value: "N", text: "sweep budgets, 1..1000 (default ponas.sweepPoints)" },
      "no-measure": { text: "sweep: predicted accuracy only, not scored on the supernet" },
      json: JSON_OUT,
    },
    notes: [
      "--sweep takes no budget; --max-params 0 (or --max-latency-ms 0) picks its cost.",
      "--sweep records its curve in ponas.json only when the run has no sweep there yet;",
      "a recorded sweep and its comparison with a search are left as they are.",
    ],
  },
  report: {
    synopsis: "RUN_DIR [--out FILE]",
    about: "self-contained HTML report of a run (default RUN_DIR/report.html)",
    options: {
      out: {
        value: "FILE",
        text: "write here instead; its directory must exist, replaces only an HTML page",
      },
    },
  },
  bench: {
    synopsis: "kernels|train [options]",
    about: "kernel or training-step benchmarks against measured ceilings",
    options: {
      quick: { text: "fewer shapes and steps" },
      json: { text: "the result as JSON on stdout (the table goes to stderr)" },
      peer: { text: "kernels: time tfjs-webgpu beside ours" },
      out: { value: "FILE", text: "kernels: also write the JSON result here" },
    },
  },
};

export const USAGE = `usage: nas-cli <command> [options]

commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(12)}${c.about}`)
  .join("\n")}

\`nas-cli <command> --help\` (or \`nas-cli help <command>\`) lists a command's options.
`;

/** The flag as written in the help: `--run DIR`, `-v, --verbose`. */
function flagText(name: string, o: OptionHelp): string {
  const flag = `--${name}${o.value ? ` ${o.value}` : ""}`;
  return name === "verbose" ? `-v, ${flag}` : flag;
}

/** `nas-cli <command> --help`: usage line, purpose, one line per option. */
export function commandHelp(name: string): string {
  const c = COMMANDS[name];
  if (!c) throw new Error(`no help for '${name}'`);
  const flags = Object.entries(c.options).map(([k, o]) => [flagText(k, o), o.text] as const);
  const w = Math.max(...flags.map(([f]) => f.length)) + 2;
  const lines = [
    `usage: nas-cli ${name} ${c.synopsis}`,
    "",
    `${c.about}.`,
    "",
    "options:",
    ...flags.map(([f, t]) => `  ${f.padEnd(w)}${t}`),
    ...(c.notes ? ["", ...c.notes] : []),
  ];
  return `${lines.join("\n")}\n`;
}
