// `nas-cli eval`: one architecture scored with the weights of a trained
// supernet, in the chosen BN mode.

import { existsSync, readFileSync } from "node:fs";
import type { Logger } from "@fairnas/kernels";
import { parseArch, restoreSupernet, Supernet } from "@fairnas/nas";
import { validate, type RunConfig } from "../config.ts";
import { int, parse, UsageError } from "../args.ts";
import { fmt } from "../output.ts";
import { loadSpace, loadSplits, openGpu, runPath } from "../session.ts";
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
  if (bn !== "recal" && bn !== "tracked") throw new UsageError(`--bn must be recal or tracked, got '${bn}'`);
  const cfgPath = runPath(v.run, "config");
  const ckpt = runPath(v.run, "checkpoint");
  if (!existsSync(cfgPath) || !existsSync(ckpt)) {
    throw new Error(`${v.run} is not a trained run directory (needs ${cfgPath} and ${ckpt})`);
  }
  const stored = validate(JSON.parse(readFileSync(cfgPath, "utf8")) as RunConfig);
  const recalBatches = int("recal-batches", v["recal-batches"]) ?? stored.eval.recalBatches;
  const cfg: RunConfig = { ...stored, eval: { ...stored.eval, bn, recalBatches } };
  const space = loadSpace(cfg);
  const arch = parseArch(space, v.arch);
  const data = await loadSplits(cfg, space);
  if (v.json) log.level = "warn";
  const gpu = await openGpu(log);
  const net = new Supernet(gpu, space, cfg.seed);
  try {
    await restoreSupernet(gpu, net, ckpt);
    const [s] = await scoreArchs(gpu, net, cfg, data, [arch], log);
    if (v.json) {
      process.stdout.write(`${JSON.stringify({ arch: s.arch, top1: s.top1, loss: s.loss, bn: s.bn, images: s.images })}\n`);
    } else {
      log.info(`${s.arch} | top-1 ${fmt(100 * s.top1, 2)}% | loss ${fmt(s.loss)} | bn ${s.bn} | ${s.images} images`);
    }
  } finally {
    net.dispose();
    gpu.destroy();
  }
}
