// nas-cli: command dispatch, flag parsing and error reporting. Every
// failure becomes one readable line on stderr and a non-zero exit code.

import type { ParseArgsConfig } from "node:util";
import { join } from "node:path";
import { Logger } from "@fairnas/kernels";
import { ConfigError, loadConfigFile, resolveConfig } from "./config.ts";
import { runJob } from "./commands/run.ts";
import { configForRun, trainSupernet } from "./commands/train.ts";
import { evalCommand } from "./commands/eval.ts";
import { costCommand } from "./commands/cost.ts";
import { reportCommand } from "./commands/report.ts";
import { benchCommand } from "./commands/bench.ts";
import { latencyCommand } from "./commands/latency.ts";
import { searchCommand } from "./commands/search.ts";
import { trainArchCommand } from "./commands/train-arch.ts";
import { rankCommand } from "./commands/rank.ts";
import { ablateCommand } from "./commands/ablate.ts";
import { ponasCommand } from "./commands/ponas.ts";
import { specializeCommand } from "./commands/specialize.ts";
import { int, parse, UsageError } from "./args.ts";

const USAGE = `usage: nas-cli <command> [options]

commands:
  run     train the supernet (strict fairness), score architectures, write a run directory
          [--preset fmnist|quick] [--config FILE] [--data DIR] [--out DIR] [--seed N] [--resume]
  train   supernet training only: run's options plus --sampler fair|spos|ef|ef-lr
  eval    score one architecture with inherited weights
          --run DIR --arch ARCH [--bn recal|tracked] [--json]
  cost    multiply-adds and parameters of a network
          --space SPACE --arch ARCH [--json]
`;

const RUN_OPTIONS = {
  preset: { type: "string" },
  config: { type: "string" },
  data: { type: "string" },
  out: { type: "string" },
  seed: { type: "string" },
  sampler: { type: "string" },
  resume: { type: "boolean" },
  verbose: { type: "boolean", short: "v" },
} as const satisfies ParseArgsConfig["options"];

async function runOrTrain(cmd: "run" | "train", args: string[], log: Logger): Promise<void> {
  const { values: v } = parse(args, RUN_OPTIONS);
  if (v.verbose) log.level = "debug";
  if (cmd === "run" && v.sampler) throw new UsageError("--sampler belongs to `nas-cli train`; `run` always trains with fair sampling");
  const preset = v.preset ?? "fmnist";
  const overrides: Record<string, unknown> = {};
  if (v.data) overrides.data = v.data;
  const seed = int("seed", v.seed);
  if (seed !== undefined) overrides.seed = seed;
  if (v.sampler) overrides.train = { sampler: v.sampler };
  const file = v.config ? loadConfigFile(v.config) : null;
  const cfg0 = resolveConfig(preset, file, overrides);
  const dir = v.out ?? join("runs", `${cfg0.preset}-${cfg0.train.sampler}-seed${cfg0.seed}`);
  const cfg = configForRun(dir, cfg0, v.resume ?? false, log);
  if (cmd === "run") {
    await runJob(dir, cfg, v.resume ?? false, log);
    return;
  }
  const t = await trainSupernet(dir, cfg, v.resume ?? false, log);
  t.net.dispose();
  t.gpu.destroy();
  log.info(`run directory: ${dir}`);
}

export async function main(argv: string[], log = new Logger()): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case "run":
      case "train":
        await runOrTrain(cmd, rest, log);
        return 0;
      case "eval":
        await evalCommand(rest, log);
        return 0;
      case "cost":
        costCommand(rest, log);
        return 0;
      case "report":
        await reportCommand(rest, log);
        return 0;
      case "bench":
        await benchCommand(rest, log);
        return 0;
      case "latency":
        await latencyCommand(rest, log);
        return 0;
      case "search":
        await searchCommand(rest, log);
        return 0;
      case "train-arch":
        await trainArchCommand(rest, log);
        return 0;
      case "rank":
        await rankCommand(rest, log);
        return 0;
      case "ablate":
        await ablateCommand(rest, log);
        return 0;
      case "ponas":
        await ponasCommand(rest, log);
        return 0;
      case "specialize":
        await specializeCommand(rest, log);
        return 0;
      case undefined:
      case "help":
      case "--help":
      case "-h":
        log.info(USAGE);
        return cmd === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command '${cmd}'`);
    }
  } catch (e) {
    const err = e as Error;
    log.error(err.message);
    if (err instanceof UsageError) {
      log.err.write(USAGE);
      return 2;
    }
    if (log.enabled("debug") && err.stack) log.debug(err.stack);
    return err instanceof ConfigError ? 2 : 1;
  }
}

