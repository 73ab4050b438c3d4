// `nas-cli run`: the whole job headless. Trains the supernet with strict
// fairness, scores a seeded sample of architectures with inherited
// weights, and writes the run directory.

import type { Logger } from "@fairnas/kernels";
import type { RunConfig } from "../config.ts";
import { fmt, mib, writeAtomic } from "../output.ts";
import { runPath, type RunClock } from "../session.ts";
import { architecturesCsv, sampleArchs, scoreArchs } from "./score.ts";
import { trainSupernet } from "./train.ts";
import { writeReport } from "./report.ts";
import { searchStage } from "../stages/search-stage.ts";
import { standaloneStage } from "../stages/standalone-stage.ts";
import { parseArch } from "@fairnas/nas";

export async function runJob(
  dir: string,
  cfg: RunConfig,
  resume: boolean,
  log: Logger,
  clock: RunClock,
): Promise<void> {
  const trained = await trainSupernet(dir, cfg, resume, log, clock);
  const { gpu, net, space, data } = trained;
  try {
    const archs = sampleArchs(space, cfg.seed, cfg.eval.archs);
    log.info(`scoring ${archs.length} architectures on ${data.val.length} validation images`);
    const scored = await scoreArchs(gpu, net, cfg, data, archs, log);
    writeAtomic(runPath(dir, "architectures"), architecturesCsv(scored));
    const ranked = [...scored].sort((a, b) => b.top1 - a.top1);
    const run = { dir, cfg, space, data, gpu, net, close: () => undefined };
    log.info(
      `searching (${cfg.search.algo}, population ${cfg.search.population}, ` +
        `${cfg.search.generations} generations)`,
    );
    const search = await searchStage(run, {}, log);
    // The most accurate members of the front, retrained from scratch.
    const chosen = [...search.front].sort((a, b) => b.top1 - a.top1).slice(0, cfg.standalone.archs);
    const retrained =
      chosen.length > 0
        ? await standaloneStage({
            dir,
            cfg,
            archs: chosen.map((p) => parseArch(space, p.arch)),
            log,
            gpu,
          })
        : [];
    const totalSeconds = clock.save();
    const summary = {
      preset: cfg.preset,
      space: space.spec.name,
      device: gpu.adapter.description,
      trainSteps: trained.steps,
      trainSeconds: trained.trainSeconds,
      pathImagesPerSec: trained.pathImagesPerSec,
      poolHighWaterBytes: trained.poolHighWaterBytes,
      best: ranked
        .slice(0, 5)
        .map((r) => ({ arch: r.arch, top1: r.top1, loss: r.loss, bn: r.bn, madds: r.madds })),
      front: search.front.map((p) => ({
        arch: p.arch,
        top1: p.top1,
        madds: p.madds,
        params: p.params,
      })),
      searchEvaluations: search.evaluations,
      standalone: retrained.map((g) => ({
        arch: g.arch,
        testTop1: g.testTop1,
        valTop1: g.valTop1,
        epochs: g.budget.epochs,
      })),
      // Every invocation of the run (resumed ones add to the earlier total) ...
      totalSeconds,
      // ... and this one alone.
      invocationSeconds: totalSeconds - clock.earlierSeconds,
    };
    writeAtomic(runPath(dir, "summary"), `${JSON.stringify(summary, null, 2)}\n`);
    log.info("");
    log.info("top architectures (validation, inherited weights):");
    for (const r of ranked.slice(0, 5)) {
      log.info(
        `  ${r.arch} | top-1 ${fmt(100 * r.top1, 2, 6)}% | ` +
          `${(r.madds / 1e6).toFixed(2)} M MAdds | bn ${r.bn}`,
      );
    }
    log.info(
      `Pareto front (${cfg.search.algo}, top-1 on ` +
        `${cfg.search.valImages || data.val.length} validation images):`,
    );
    for (const p of [...search.front].sort((a, b) => b.top1 - a.top1).slice(0, 5)) {
      log.info(
        `  ${p.arch} | top-1 ${fmt(100 * p.top1, 2, 6)}% | ` +
          `${(p.madds / 1e6).toFixed(2)} M MAdds | ${p.params} params`,
      );
    }
    for (const g of retrained) {
      log.info(
        `stand-alone ${g.arch} | test top-1 ${fmt(100 * g.testTop1, 2, 6)}% | ` +
          `${g.budget.epochs} epoch(s) from scratch`,
      );
    }
    log.info(
      `throughput ${trained.pathImagesPerSec.toFixed(0)} path-images/s | ` +
        `GPU pool high-water ${mib(trained.poolHighWaterBytes)}`,
    );
    log.info(`report: ${writeReport(dir)}`);
    log.info(`run directory: ${dir}`);
  } finally {
    net.dispose();
    gpu.destroy();
  }
}
