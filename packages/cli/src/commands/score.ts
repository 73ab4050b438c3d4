// Scoring architectures with inherited supernet weights, and the
// architectures.csv table of a run.

import { Rng, type Gpu, type Logger } from "@fairnas/kernels";
import {
  archHash,
  archToString,
  costOf,
  evaluateArch,
  randomArch,
  type Arch,
  type BnEvalMode,
  type ResolvedSpace,
  type Score,
  type Supernet,
} from "@fairnas/nas";
import type { RunConfig } from "../config.ts";
import { evalData, type DataSplits } from "../session.ts";
import { fmt } from "../output.ts";

const ARCH_SAMPLE_STREAM = 0xa4c5;

export interface ScoredArch extends Score {
  readonly hash: string;
  readonly madds: number;
  readonly params: number;
}

export function bnModes(bn: RunConfig["eval"]["bn"]): BnEvalMode[] {
  return bn === "both" ? ["recal", "tracked"] : [bn];
}

/** `count` distinct architectures drawn with the run's seed. */
export function sampleArchs(space: ResolvedSpace, seed: number, count: number): Arch[] {
  const rng = Rng.derive(seed, ARCH_SAMPLE_STREAM);
  const seen = new Set<string>();
  const out: Arch[] = [];
  const total = space.spec.choices.length ** space.layers.length;
  for (let tries = 0; out.length < Math.min(count, total) && tries < count * 100; tries++) {
    const a = randomArch(space, rng);
    const key = archToString(space, a);
    if (!seen.has(key)) {
      seen.add(key);
      out.push(a);
    }
  }
  return out;
}

export async function scoreArchs(
  gpu: Gpu,
  net: Supernet,
  cfg: RunConfig,
  data: DataSplits,
  archs: readonly Arch[],
  log: Logger,
): Promise<ScoredArch[]> {
  const space = net.space;
  const ev = evalData(gpu, cfg, data, space);
  const out: ScoredArch[] = [];
  try {
    for (const [i, arch] of archs.entries()) {
      const cost = costOf(space, arch);
      for (const bn of bnModes(cfg.eval.bn)) {
        const s = await evaluateArch(gpu, net, arch, ev, bn);
        out.push({ ...s, hash: archHash(space, arch), madds: cost.madds, params: cost.params });
        log.info(
          `eval ${String(i + 1).padStart(3)}/${archs.length} | ${s.arch} | ` +
            `top-1 ${fmt(100 * s.top1, 2, 6)}% | loss ${fmt(s.loss)} | bn ${bn}`,
        );
      }
    }
  } finally {
    ev.dispose();
  }
  return out;
}

export function architecturesCsv(rows: readonly ScoredArch[]): string {
  const head = "arch,hash,val_top1,val_loss,bn,images,madds,params";
  const lines = rows.map((r) =>
    [r.arch, r.hash, r.top1.toFixed(6), r.loss.toFixed(6), r.bn, r.images, r.madds, r.params].join(
      ",",
    ),
  );
  return `${[head, ...lines].join("\n")}\n`;
}
