// nas-cli: command dispatch, flag parsing and error reporting. Every
// failure becomes one readable line on stderr and a non-zero exit code.

import type { ParseArgsConfig } from "node:util";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Logger } from "@fairnas/kernels";
import { checkTrainBatches, ConfigError, loadConfigFile, resolveConfig } from "./config.ts";
import { runJob } from "./commands/run.ts";
import { configForRun, trainSupernet } from "./commands/train.ts";
import { evalCommand } from "./commands/eval.ts";
import { costCommand } from "./commands/cost.ts";
import { reportCommand, writeReport } from "./commands/report.ts";
import { ponasStage } from "./stages/ponas-stage.ts";
import { checkRecords } from "./stages/standalone-stage.ts";
import { benchCommand } from "./commands/bench.ts";
import { latencyCommand } from "./commands/latency.ts";
import { searchCommand } from "./commands/search.ts";
import { trainArchCommand } from "./commands/train-arch.ts";
import { rankCommand } from "./commands/rank.ts";
import { ablateCommand } from "./commands/ablate.ts";
import { ponasCommand } from "./commands/ponas.ts";
import { specializeCommand } from "./commands/specialize.ts";
import { claimRunDir, loadSpace, loadSplits, RunClock, runPath } from "./session.ts";
import { int, parse, UsageError } from "./args.ts";

const USAGE = `usage: nas-cli <command> [options]

commands:
  run     the whole job: strict-fair supernet training, scoring, search, stand-alone
          retraining, report; --mode ponas runs the PONAS pipeline instead
          [--preset fmnist|quick] [--config FILE] [--data DIR] [--out DIR] [--seed N]
          [--resume | --overwrite] [--mode fairnas|ponas]
  train   supernet training only: run's options plus --sampler fair|spos|ef|ef-lr
  eval    score one architecture with inherited weights
          --run DIR --arch ARCH [--bn recal|tracked] [--json]
  cost    multiply-adds and parameters of a network
          --space SPACE --arch ARCH [--json]
  search  multi-objective search on a trained run: --run DIR --algo nsga2-ppo|nsga2|random
  latency build|check   latency lookup table on this adapter
  train-arch            stand-alone training of one architecture
  rank    supernet ranking vs stand-alone training: --run DIR --archs N|FILE
  ablate  fairness ablation: --samplers fair,spos,ef,ef-lr
  ponas   PONAS meta-training, inheritance, fine-tuning and candidate table
  specialize            instant budget specialization from a PONAS table
  report  RUN_DIR [--out FILE]: self-contained HTML report
  bench   kernels|train: benchmarks against ceilings measured in the same run

Every option of every command is described in the README (Commands).
`;

const RUN_OPTIONS = {
  preset: { type: "string" },
  config: { type: "string" },
  data: { type: "string" },
  out: { type: "string" },
  seed: { type: "string" },
  sampler: { type: "string" },
  resume: { type: "boolean" },
  overwrite: { type: "boolean" },
  mode: { type: "string" },
  verbose: { type: "boolean", short: "v" },
} as const satisfies ParseArgsConfig["options"];

async function runOrTrain(cmd: "run" | "train", args: string[], log: Logger): Promise<void> {
  const t0 = performance.now();
  const { values: v } = parse(args, RUN_OPTIONS);
  if (v.verbose) log.level = "debug";
  if (cmd === "run" && v.sampler)
    throw new UsageError(
      "--sampler belongs to `nas-cli train`; `run` always trains with fair sampling",
    );
  const preset = v.preset ?? "fmnist";
  const overrides: Record<string, unknown> = {};
  if (v.data) overrides.data = v.data;
  const seed = int("seed", v.seed);
  if (seed !== undefined) overrides.seed = seed;
  if (v.sampler) overrides.train = { sampler: v.sampler };
  const file = v.config ? loadConfigFile(v.config) : null;
  const cfg0 = resolveConfig(preset, file, overrides);
  const dir = v.out ?? join("runs", `${cfg0.preset}-${cfg0.train.sampler}-seed${cfg0.seed}`);
  if (v.resume && v.overwrite) throw new UsageError("--resume and --overwrite exclude each other");
  const mode = v.mode ?? "fairnas";
  if (mode !== "fairnas" && mode !== "ponas")
    throw new UsageError(`--mode must be fairnas or ponas, got '${mode}'`);
  if (cmd === "train" && v.mode) throw new UsageError("--mode belongs to `nas-cli run`");
  if (v.overwrite && existsSync(runPath(dir, "config"))) {
    // Whatever can refuse the new run is checked before the old one is deleted.
    const data = await loadSplits(cfg0, loadSpace(cfg0));
    checkTrainBatches(cfg0, data.train.length);
  }
  const kind = cmd === "run" && mode === "ponas" ? "ponas" : "supernet";
  claimRunDir(dir, v.resume ?? false, v.overwrite ?? false, kind);
  // A damaged stand-alone record would otherwise surface only after
  // training, scoring and search.
  if (cmd === "run" && kind === "supernet" && v.resume) checkRecords(join(dir, "standalone"));
  const cfg = configForRun(dir, cfg0, v.resume ?? false, log);
  if (cmd === "run" && mode === "ponas") {
    await ponasStage(dir, cfg, { resume: v.resume ?? false }, log);
    log.info(`report: ${writeReport(dir)}`);
    log.info(`run directory: ${dir}`);
    return;
  }
  const clock = RunClock.open(dir, v.resume ?? false, t0, log);
  if (cmd === "run") {
    await runJob(dir, cfg, v.resume ?? false, log, clock);
    return;
  }
  const t = await trainSupernet(dir, cfg, v.resume ?? false, log, clock);
  t.net.dispose();
  t.gpu.destroy();
  log.info(`run directory: ${dir}`);
}

export async function main(argv: string[], log = new Logger()): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd !== undefined && (rest.includes("--help") || rest.includes("-h"))) {
    log.info(USAGE);
    return 0;
  }
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
