// `nas-cli rank`: how well a trained supernet ranks architectures against
// stand-alone training. See stages/rank-stage.ts for what is written.

import { existsSync, statSync } from "node:fs";
import type { Logger } from "@fairnas/kernels";
import { distinctMadds } from "@fairnas/nas";
import { int, intAtLeast, parse, UsageError } from "../args.ts";
import { loadSpace, readRunConfig } from "../session.ts";
import { rankStage, readArchFile } from "../stages/rank-stage.ts";
import { positive } from "./train-arch.ts";

export async function rankCommand(args: string[], log: Logger): Promise<void> {
  const { values: v } = parse(args, {
    run: { type: "string" },
    archs: { type: "string" },
    epochs: { type: "string" },
    bn: { type: "string" },
    seed: { type: "string" },
    resamples: { type: "string" },
    "test-images": { type: "string" },
    similarity: { type: "boolean" },
    "similarity-layer": { type: "string" },
  });
  if (!v.run) throw new UsageError("rank needs --run DIR (a trained run directory)");
  if (!v.archs)
    throw new UsageError(
      "rank needs --archs N (stratified sample) or --archs FILE (one architecture per line)",
    );
  const bn = v.bn ?? "both";
  if (bn !== "recal" && bn !== "tracked" && bn !== "both")
    throw new UsageError(`--bn must be recal, tracked or both, got '${bn}'`);
  // Every flag is read before the run is opened and anything trains.
  const resamples = intAtLeast("resamples", v.resamples, 1);
  const seed = int("seed", v.seed);
  const standalone = {
    epochs: positive("epochs", v.epochs),
    testImages: int("test-images", v["test-images"]),
  };
  const layer = int("similarity-layer", v["similarity-layer"]);
  const space = loadSpace(readRunConfig(v.run));
  let archs: number | ReturnType<typeof readArchFile>;
  if (/^\d+$/.test(v.archs)) {
    archs = Number(v.archs);
    if (archs < 3)
      throw new UsageError(`--archs ${archs}: rank statistics need at least 3 architectures`);
    // The sample holds distinct architectures: no more than the space has.
    const size = space.spec.choices.length ** space.layers.length;
    if (archs > size)
      throw new UsageError(
        `--archs ${v.archs}: space '${space.spec.name}' has only ${size} architectures`,
      );
    // One architecture per MAdds bin: a bin can only be filled where some
    // architecture's cost falls, so more bins than distinct costs would
    // spend minutes of draws on bins that must stay empty.
    const costs = distinctMadds(space, archs);
    if (costs < archs)
      throw new UsageError(
        `--archs ${v.archs}: architectures of space '${space.spec.name}' take only ${costs} ` +
          "distinct MAdds values, so at most that many cost bins can be filled",
      );
  } else {
    if (!existsSync(v.archs))
      throw new UsageError(`--archs: '${v.archs}' is neither a count nor a file`);
    if (statSync(v.archs).isDirectory())
      throw new UsageError(`--archs: '${v.archs}' is a directory, not a file of architectures`);
    archs = readArchFile(space, v.archs);
  }
  const similarityLayer = v.similarity || layer !== undefined ? (layer ?? 0) : null;
  await rankStage({ run: v.run, archs, bn, log, seed, resamples, standalone, similarityLayer });
}
