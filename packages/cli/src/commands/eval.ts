// `nas-cli eval`: one architecture scored with the weights of a trained
// supernet, in the chosen BN mode.

import type { Logger } from "@fairnas/kernels";
import { parseArch } from "@fairnas/nas";
import { int, parse, UsageError } from "../args.ts";
import type { RunConfig } from "../config.ts";
import { fmt } from "../output.ts";
import { loadSpace, openRun, readRunConfig, recalImages, requireSupernetRun } from "../session.ts";
import { scoreArchs } from "./score.ts";

export async function evalCommand(args: string[], log: Logger): Promise<void> {
  const { values: v } = parse(args, {
    run: { type: "string" },
    arch: { type: "string" },
    bn: { type: "string" },
    json: { type: "boolean" },
    "recal-batches": { type: "string" },
  });
  if (!v.run) throw new UsageError("eval needs --run DIR");
  if (!v.arch) throw new UsageError("eval needs --arch ARCH (e.g. k3e3-k5e6-...)");
  const bn = v.bn ?? "recal";
  if (bn !== "recal" && bn !== "tracked")
    throw new UsageError(`--bn must be recal or tracked, got '${bn}'`);
  const recal = int("recal-batches", v["recal-batches"]);
  // As in the config (eval.recalBatches); 0 would still recalibrate on one.
  if (recal === 0)
    throw new UsageError("--recal-batches must be at least 1 (BN recalibration batches)");
  if (recal !== undefined && bn !== "recal")
    throw new UsageError("--recal-batches applies to --bn recal only");
  if (v.json) log.level = "warn";
  // Validate the run and the architecture before any data or device work.
  const stored = readRunConfig(v.run);
  requireSupernetRun(v.run, "eval");
  const arch = parseArch(loadSpace(stored), v.arch);
  const run = await openRun(v.run, log, (c) => ({
    ...c,
    eval: { ...c.eval, bn, recalBatches: recal ?? c.eval.recalBatches },
  }));
  try {
    const from = recal !== undefined ? "--recal-batches" : "the run's eval.recalBatches";
    if (bn === "recal") warnRecalClamp(run.cfg, run.data.train.length, from, log);
    const [s] = await scoreArchs(run.gpu, run.net, run.cfg, run.data, [arch], log);
    if (v.json) {
      const { arch: a, top1, loss, bn: mode, images } = s;
      process.stdout.write(`${JSON.stringify({ arch: a, top1, loss, bn: mode, images })}\n`);
    } else {
      log.info(
        `${s.arch} | top-1 ${fmt(100 * s.top1, 2)}% | loss ${fmt(s.loss)} | bn ${s.bn} | ` +
          `${s.images} images`,
      );
    }
  } finally {
    run.close();
  }
}

/** Says when the training images hold fewer recalibration batches than asked. */
function warnRecalClamp(cfg: RunConfig, trainImages: number, from: string, log: Logger): void {
  const B = cfg.train.batchSize;
  const asked = cfg.eval.recalBatches;
  const used = Math.ceil(recalImages(trainImages, B, asked) / B);
  if (used < asked) {
    log.warn(
      `${from} ${asked}: the ${trainImages} training images hold ${used} ` +
        `batch(es) of ${B}; recalibrating on ${used}`,
    );
  }
}
