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
import { commandHelp, COMMANDS, USAGE } from "./help.ts";

const SUPERNET_OPTIONS = {
  preset: { type: "string" },
  config: { type: "string" },
  data: { type: "string" },
  out: { type: "string" },
  seed: { type: "string" },
  resume: { type: "boolean" },
  overwrite: { type: "boolean" },
  verbose: { type: "boolean", short: "v" },
} as const satisfies ParseArgsConfig["options"];

const RUN_OPTIONS = { ...SUPERNET_OPTIONS, mode: { type: "string" } } as const;
const TRAIN_OPTIONS = { ...SUPERNET_OPTIONS, sampler: { type: "string" } } as const;

/** The flags of run and train together; each parses only its own. */
interface SupernetFlags {
  readonly preset?: string;
  readonly config?: string;
  readonly data?: string;
  readonly out?: string;
  readonly seed?: string;
  readonly resume?: boolean;
  readonly overwrite?: boolean;
  readonly verbose?: boolean;
  readonly mode?: string;
  readonly sampler?: string;
}

/** A flag of the other command said as such, not as an unknown option. */
function refuseOtherCommandsFlag(cmd: "run" | "train", args: readonly string[]): void {
  const given = (flag: string) => args.some((a) => a === flag || a.startsWith(`${flag}=`));
  if (cmd === "run" && given("--sampler"))
    throw new UsageError(
      "--sampler belongs to `nas-cli train`; `run` always trains with fair sampling",
    );
  if (cmd === "train" && given("--mode")) throw new UsageError("--mode belongs to `nas-cli run`");
}

async function runOrTrain(cmd: "run" | "train", args: string[], log: Logger): Promise<void> {
  const t0 = performance.now();
  refuseOtherCommandsFlag(cmd, args);
  const v: SupernetFlags =
    cmd === "run" ? parse(args, RUN_OPTIONS).values : parse(args, TRAIN_OPTIONS).values;
  if (v.verbose) log.level = "debug";
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

/**
 * The help asked for, or null: `nas-cli <command> --help|-h` and
 * `nas-cli help <command>` give the command's options, `nas-cli help`
 * (and --help, -h) the command list.
 */
function helpText(cmd: string | undefined, rest: readonly string[]): string | null {
  const asked = rest.includes("--help") || rest.includes("-h");
  if (cmd === "help" || cmd === "--help" || cmd === "-h") {
    const topic = rest.find((a) => !a.startsWith("-"));
    if (topic === undefined) return USAGE;
    if (!Object.hasOwn(COMMANDS, topic)) throw new UsageError(`unknown command '${topic}'`);
    return commandHelp(topic);
  }
  if (cmd === undefined || !asked) return null;
  if (!Object.hasOwn(COMMANDS, cmd)) throw new UsageError(`unknown command '${cmd}'`);
  return commandHelp(cmd);
}

export async function main(argv: string[], log = new Logger()): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    const help = helpText(cmd, rest);
    if (help !== null) {
      log.info(help);
      return 0;
    }
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
        log.info(USAGE);
        return 2;
      default:
        throw new UsageError(`unknown command '${cmd}'`);
    }
  } catch (e) {
    const err = e as Error;
    log.error(err.message);
    if (err instanceof UsageError) {
      // A known command's own options; the command list otherwise.
      const known = cmd !== undefined && Object.hasOwn(COMMANDS, cmd);
      log.err.write(known ? commandHelp(cmd) : USAGE);
      return 2;
    }
    if (log.enabled("debug") && err.stack) log.debug(err.stack);
    return err instanceof ConfigError ? 2 : 1;
  }
}
