// `nas-cli ponas`: the PONAS pipeline into a run directory: meta-training,
// weight inheritance, fine-tuning, the progressive candidate table and a
// budget sweep (see stages/ponas-stage.ts).

import { join } from "node:path";
import type { Logger } from "@fairnas/kernels";
import { int, parse, UsageError } from "../args.ts";
import { loadConfigFile, resolveConfig } from "../config.ts";
import { ponasStage } from "../stages/ponas-stage.ts";
import { claimRunDir, readRunConfig } from "../session.ts";

export async function ponasCommand(args: string[], log: Logger): Promise<void> {
  const { values: v } = parse(args, {
    preset: { type: "string" },
    config: { type: "string" },
    data: { type: "string" },
    out: { type: "string" },
    seed: { type: "string" },
    resume: { type: "boolean" },
    overwrite: { type: "boolean" },
    "no-sweep": { type: "boolean" },
    "no-compare": { type: "boolean" },
    verbose: { type: "boolean", short: "v" },
  });
  if (v.verbose) log.level = "debug";
  const overrides: Record<string, unknown> = {};
  if (v.data) overrides.data = v.data;
  const seed = int("seed", v.seed);
  if (seed !== undefined) overrides.seed = seed;
  const file = v.config ? loadConfigFile(v.config) : null;
  let cfg = resolveConfig(v.preset ?? "fmnist", file, overrides);
  const dir = v.out ?? join("runs", `${cfg.preset}-ponas-seed${cfg.seed}`);
  if (v.resume && v.overwrite) throw new UsageError("--resume and --overwrite exclude each other");
  claimRunDir(dir, v.resume ?? false, v.overwrite ?? false, "ponas");
  if (v.resume) {
    // A resumed run continues with the configuration it began with.
    cfg = readRunConfig(dir);
  }
  await ponasStage(
    dir,
    cfg,
    {
      resume: v.resume ?? false,
      sweep: !v["no-sweep"],
      compare: !v["no-sweep"] && !v["no-compare"],
    },
    log,
  );
  log.info(`run directory: ${dir}`);
}
