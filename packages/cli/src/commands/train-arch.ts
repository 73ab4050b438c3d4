// `nas-cli train-arch`: one architecture trained from scratch (stand-alone)
// with the run configuration's split and cfg.standalone's budget. Writes
// OUT/<hash>.json (the ground-truth record), OUT/<hash>.metrics.jsonl and
// OUT/checkpoints/<hash>.ckpt; --resume continues from the checkpoint.

import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "@fairnas/kernels";
import { archHash, parseArch } from "@fairnas/nas";
import { int, parse, UsageError } from "../args.ts";
import { configTable, loadConfigFile, resolveConfig, type RunConfig } from "../config.ts";
import { checkOutDir, loadSplits, loadSpace, openGpu, readRunConfig } from "../session.ts";
import { retrainArch } from "../stages/standalone-stage.ts";

const OPTIONS = {
  arch: { type: "string" },
  epochs: { type: "string" },
  preset: { type: "string" },
  config: { type: "string" },
  data: { type: "string" },
  out: { type: "string" },
  seed: { type: "string" },
  run: { type: "string" },
  "test-images": { type: "string" },
  resume: { type: "boolean" },
} as const;

/** A positive number flag (fractions allowed). */
export function positive(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n))
    throw new UsageError(`--${name} must be a positive number, got '${v}'`);
  return n;
}

function resolve(v: {
  preset?: string;
  config?: string;
  data?: string;
  seed?: string;
  run?: string;
}): RunConfig {
  if (v.run) {
    // The run's configuration decides all of these; none is silently ignored.
    const other = (["preset", "config", "data", "seed"] as const).find((k) => v[k] !== undefined);
    if (other)
      throw new UsageError(
        `--run takes the run's configuration; drop --${other} ` +
          "(--preset, --config, --data and --seed go without --run)",
      );
    return readRunConfig(v.run);
  }
  const overrides: Record<string, unknown> = {};
  if (v.data) overrides.data = v.data;
  const seed = int("seed", v.seed);
  if (seed !== undefined) overrides.seed = seed;
  return resolveConfig(v.preset ?? "fmnist", v.config ? loadConfigFile(v.config) : null, overrides);
}

export async function trainArchCommand(args: string[], log: Logger): Promise<void> {
  const { values: v } = parse(args, OPTIONS);
  if (!v.arch) throw new UsageError("train-arch needs --arch ARCH (e.g. k3e3-k5e6-...)");
  const epochs = positive("epochs", v.epochs);
  const testImages = int("test-images", v["test-images"]);
  const cfg0 = resolve(v);
  const cfg: RunConfig = epochs ? { ...cfg0, standalone: { ...cfg0.standalone, epochs } } : cfg0;
  const space = loadSpace(cfg);
  const arch = parseArch(space, v.arch);
  const dir =
    v.out ??
    (v.run ? join(v.run, "standalone") : join("runs", `standalone-${cfg.preset}-seed${cfg.seed}`));
  checkOutDir(dir);
  const ckpt = join(dir, "checkpoints", `${archHash(space, arch)}.ckpt`);
  if (v.resume && !existsSync(ckpt))
    log.warn(`--resume: no checkpoint at ${ckpt}; training from step 0`);
  const data = await loadSplits(cfg, space);
  const gpu = await openGpu(log);
  try {
    log.info("configuration:");
    log.info(
      configTable(cfg, {
        arch: v.arch,
        hash: archHash(space, arch),
        device: gpu.adapter.description,
        "data.train/val/test":
          `${data.train.length}/${data.val.length}/` + `${testImages || data.test.n}`,
        "out.dir": dir,
      }),
    );
    const r = await retrainArch({ gpu, cfg, space, data, dir, log }, arch, {
      resume: v.resume ?? false,
      testImages,
    });
    log.info(`record: ${join(dir, `${r.hash}.json`)}`);
  } finally {
    gpu.destroy();
  }
}
