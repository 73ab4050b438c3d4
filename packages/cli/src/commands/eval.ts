// `nas-cli eval`: one architecture scored with the weights of a trained
// supernet, in the chosen BN mode.

import type { Logger } from "@fairnas/kernels";
import { parseArch } from "@fairnas/nas";
import { int, parse, UsageError } from "../args.ts";
import { fmt } from "../output.ts";
import { loadSpace, openRun, readRunConfig } from "../session.ts";
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
  if (v.json) log.level = "warn";
  // Validate the architecture before any data or device work.
  const arch = parseArch(loadSpace(readRunConfig(v.run)), v.arch);
  const run = await openRun(v.run, log, (c) => ({
    ...c,
    eval: { ...c.eval, bn, recalBatches: recal ?? c.eval.recalBatches },
  }));
  try {
    const [s] = await scoreArchs(run.gpu, run.net, run.cfg, run.data, [arch], log);
    if (v.json) {
      process.stdout.write(
        `${JSON.stringify({ arch: s.arch, top1: s.top1, loss: s.loss, bn: s.bn, images: s.images })}\n`,
      );
    } else {
      log.info(
        `${s.arch} | top-1 ${fmt(100 * s.top1, 2)}% | loss ${fmt(s.loss)} | bn ${s.bn} | ${s.images} images`,
      );
    }
  } finally {
    run.close();
  }
}
