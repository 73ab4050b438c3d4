// Writes test-fixtures/run-small/: a small synthetic run directory with
// every record file the report reads, numbers plausible for an fmnist
// quick run. Seeded, so rerunning gives the same files.
//   npx tsx packages/viz/test-fixtures/make-run-small.ts

import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const OUT = join(dirname(fileURLToPath(import.meta.url)), "run-small");
const CHOICES = ["k3e3", "k3e6", "k5e3", "k5e6", "k7e3", "k7e6"];
const LAYERS = ["s1.b0", "s1.b1", "s2.b0", "s2.b1", "s2.b2", "s3.b0", "s3.b1", "s3.b2"];

/** A small linear congruential generator: fixture noise only. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
const rnd = lcg(7);
const r4 = (v: number) => Number(v.toFixed(4));
const r6 = (v: number) => Number(v.toFixed(6));
const arch = (ix: readonly number[]) => ix.map((i) => CHOICES[i]).join("-");
const randArch = () => LAYERS.map(() => Math.floor(rnd() * CHOICES.length));

function json(file: string, v: unknown): void {
  writeFileSync(join(OUT, file), `${JSON.stringify(v, null, 2)}\n`);
}

const config = {
  preset: "quick",
  space: "fmnist",
  data: "data/fashion-mnist",
  seed: 1,
  train: {
    sampler: "fair",
    epochs: 1,
    batchSize: 64,
    lr: 0.1,
    minLr: 0.002,
    warmupEpochs: 0.05,
    momentum: 0.9,
    nesterov: true,
    weightDecay: 4e-5,
    labelSmoothing: 0.1,
    sameBatch: true,
    trainLimit: 2048,
    valSize: 512,
    cropPad: 2,
    flip: false,
    checkpointEvery: 10,
    logEvery: 4,
  },
  eval: { archs: 6, bn: "recal", recalBatches: 2, batchSize: 256 },
};

/** Step and fairness lines for one sampler; fair updates every choice each step. */
function samplerMetrics(sampler: string, fair: boolean): unknown[] {
  const out: unknown[] = [];
  const counts = LAYERS.map(() => CHOICES.map(() => 0));
  for (let step = 1; step <= 32; step++) {
    for (const row of counts) {
      if (fair) row.forEach((_, c) => row[c]!++);
      else row[Math.floor(rnd() * CHOICES.length)]!++;
    }
    if (step % 4 !== 0) continue;
    const t = step / 32;
    const lr = 0.002 + 0.5 * (0.1 - 0.002) * (1 + Math.cos(Math.PI * t));
    out.push({
      type: "step",
      sampler,
      step,
      epoch: t,
      updates: fair ? step * 6 : step,
      loss: r6(2.3 * Math.exp(-1.4 * t) + 0.35 + 0.05 * rnd()),
      top1: r6(0.12 + 0.62 * t - 0.03 * rnd()),
      lr: r6(lr),
      msPerStep: r4(fair ? 410 + 20 * rnd() : 75 + 5 * rnd()),
      pathImagesPerSec: r4(fair ? 930 + 40 * rnd() : 840 + 30 * rnd()),
      poolHighWaterBytes: 48_234_496,
    });
    const spread = counts.map((row) => Math.max(...row) - Math.min(...row));
    out.push({ type: "fairness", sampler, step, counts: counts.map((r) => [...r]), spread });
  }
  return out;
}

function generations(): unknown[] {
  const out: unknown[] = [];
  for (const [algo, rate] of [
    ["nsga2", 0.11],
    ["ppo-nsga2", 0.14],
  ] as const) {
    for (let g = 0; g < 5; g++) {
      out.push({
        type: "search-generation",
        algo,
        seed: 1,
        generation: g,
        evaluations: 16 * (g + 1),
        distinct: 14 * (g + 1) + g,
        hypervolume: r6(0.52 + rate * (1 - Math.exp(-0.8 * g))),
        frontSize: 3 + g,
        ppoMix: algo === "nsga2" ? 0 : 0.5,
      });
    }
  }
  return out;
}

function metrics(): string {
  const lines = [
    ...samplerMetrics("fair", true),
    ...samplerMetrics("spos", false),
    ...generations(),
    { type: "ablation", sampler: "fair", bn: "recal", tauB: 0.6 },
    { type: "ranking", bn: "recal", n: 6 },
  ];
  return lines.map((l) => `${JSON.stringify(l)}\n`).join("");
}

const MADDS = [1.9, 2.3, 2.4, 2.9, 3.0, 3.6];
const ARCHS = Array.from({ length: 6 }, randArch);
const TOP1 = ARCHS.map((_, i) => r6(0.78 + 0.012 * i + 0.01 * rnd()));

function architectures(): string {
  const rows = ARCHS.map((a, i) => {
    const madds = Math.round(MADDS[i]! * 1e6);
    return [
      arch(a),
      (0x1f3a5c7 + i * 0x9e3779).toString(16).padStart(8, "0"),
      TOP1[i]!.toFixed(6),
      (0.62 - 0.02 * i).toFixed(6),
      "recal",
      512,
      madds,
      21_000 + 1_500 * i,
    ].join(",");
  });
  return `arch,hash,val_top1,val_loss,bn,images,madds,params\n${rows.join("\n")}\n`;
}

function summary(): unknown {
  const best = [5, 4, 3].map((i) => ({
    arch: arch(ARCHS[i]!),
    top1: TOP1[i]!,
    loss: r6(0.62 - 0.02 * i),
    bn: "recal",
    madds: Math.round(MADDS[i]! * 1e6),
  }));
  return {
    preset: "quick",
    space: "fmnist",
    device: "llvmpipe (LLVM 15.0.7, 256 bits)",
    trainSteps: 32,
    trainSeconds: 13.62,
    pathImagesPerSec: 948.7,
    poolHighWaterBytes: 48_234_496,
    best,
    totalSeconds: 21.4,
  };
}

function pareto(): unknown {
  const front = (algo: string, lift: number, n: number) =>
    Array.from({ length: n }, (_, i) => ({
      algo,
      arch: arch(randArch()),
      top1: r6(0.79 + lift + 0.014 * i),
      madds: Math.round((1.8 + 0.45 * i) * 1e6),
      params: 20_000 + 1_800 * i,
      latencyMs: r4(1.4 + 0.35 * i),
    }));
  return [...front("nsga2", 0, 4), ...front("ppo-nsga2", 0.004, 3)];
}

function ranking(): unknown {
  const panel = (bn: string, tau: number, noise: number) => ({
    bn,
    points: ARCHS.map((a, i) => ({
      arch: arch(a),
      supernet: r6(0.7 + 0.01 * i + noise * rnd()),
      standalone: r6(0.84 + 0.008 * i + 0.006 * rnd()),
    })),
    tauB: { value: tau, lo: r4(tau - 0.42), hi: r4(Math.min(1, tau + 0.2)) },
    spearman: r4(tau + 0.12),
    n: 6,
  });
  return [panel("recal", 0.7333, 0.01), panel("tracked", 0.4667, 0.04)];
}

function ablation(): unknown {
  const rows = [
    ["fair", "recal", 0.733],
    ["fair", "tracked", 0.467],
    ["spos", "recal", 0.6],
    ["spos", "tracked", 0.2],
  ] as const;
  return {
    rows: rows.map(([sampler, bn, tau]) => ({
      sampler,
      bn,
      tauB: tau,
      tauLo: r4(tau - 0.45),
      tauHi: r4(Math.min(1, tau + 0.22)),
      spearman: r4(Math.min(1, tau + 0.1)),
      gap: r4(0.08 + 0.03 * rnd()),
      n: 6,
    })),
  };
}

function similarity(): unknown {
  const layer = (name: string, m: number) => {
    const choices = CHOICES.slice(0, m);
    const matrix = choices.map((_, i) =>
      choices.map((_, j) => (i === j ? 1 : r4(0.55 + 0.3 * rnd()))),
    );
    // Symmetric: similarity of i to j is that of j to i.
    for (let i = 0; i < m; i++) for (let j = 0; j < i; j++) matrix[i]![j] = matrix[j]![i]!;
    return { layer: name, choices, matrix };
  };
  return [layer("s1.b0", 4), layer("s3.b2", 4)];
}

function ponas(): unknown {
  const top1 = LAYERS.map(() => CHOICES.map(() => r4(0.8 + 0.05 * rnd())));
  const maxLoss = top1.map((row) => r4(Math.max(...row) - Math.min(...row)));
  const sweep = [1.8, 2.2, 2.6, 3.0, 3.4].map((b, i) => ({
    key: "madds",
    budget: Math.round(b * 1e6),
    predicted: r4(0.8 + 0.012 * i),
    ...(i % 2 === 0 ? { measured: r4(0.795 + 0.011 * i) } : {}),
  }));
  return {
    table: { choices: CHOICES, layers: LAYERS, top1 },
    maxLoss,
    startpoint: arch([0, 0, 0, 0, 0, 0, 0, 0]),
    sweep,
    // Fixed numbers (no draws) so the other records keep their noise.
    compare: {
      key: "madds",
      valImages: 1000,
      search: {
        algo: "nsga2-ppo",
        population: 12,
        generations: 5,
        evaluations: 61,
        seconds: 95.2,
        front: 7,
      },
      specializeMs: 1.85,
      tableSeconds: 41.3,
      points: sweep.map((p, i) => ({
        budget: p.budget,
        ponas: {
          arch: arch([i, 0, 0, 0, 0, 0, 0, 0]),
          madds: p.budget - 1000 * i,
          params: 60000 + 1000 * i,
          predicted: p.predicted,
          measured: p.measured ?? null,
        },
        search:
          i === 0
            ? null
            : {
                arch: arch([0, i, 0, 0, 0, 0, 0, 0]),
                madds: p.budget - 5000,
                params: 61000,
                measured: r4(0.81 + 0.01 * i),
              },
        delta: i === 0 || p.measured === undefined ? null : r4(0.81 + 0.01 * i - p.measured),
      })),
    },
  };
}

function latency(): unknown {
  return {
    adapter: {
      vendor: "mesa",
      architecture: "cpu",
      description: "llvmpipe (LLVM 15.0.7, 256 bits)",
      backend: "vulkan",
    },
    checks: ARCHS.slice(0, 4).map((a, i) => {
      const measured = 1.5 + 0.4 * i + 0.1 * rnd();
      const predicted = measured * (1 + 0.12 * (rnd() - 0.5));
      return {
        arch: arch(a),
        predictedMs: r4(predicted),
        measuredMs: r4(measured),
        relError: r4(predicted / measured - 1),
      };
    }),
  };
}

function bench(): unknown {
  const kernels = [
    ["dwconv.forward", "N64 H14 W14 C48 K5 S1", 0.92, 1.8, 6.1, 4_981_248],
    ["dwconv.backward-input", "N64 H14 W14 C48 K5 S1", 1.31, 1.3, 4.3, 4_981_248],
    ["pwconv.forward", "N64 H14 W14 Ci16 Co48", 0.55, 8.7, 3.2, 3_329_024],
    ["pwconv.backward-weight", "N64 H14 W14 Ci16 Co48", 0.81, 5.9, 2.2, 3_345_408],
  ] as const;
  return {
    device: "llvmpipe (LLVM 15.0.7, 256 bits)",
    ceilings: { gflops: 24.5, gbps: 11.2 },
    kernels: kernels.map(([name, shape, ms, gflops, gbps, poolHighWaterBytes]) => ({
      name,
      shape,
      ms,
      gflops,
      gbps,
      ratio: r4(Math.max(gflops / 24.5, gbps / 11.2)),
      poolHighWaterBytes,
    })),
    blocks: [
      {
        name: "mbconv k3e3 C16",
        fwdMs: 2.41,
        fwdBwdMs: 7.02,
        poolHighWaterBytes: 9_437_184,
        peer: { name: "tfjs-webgpu", fwdBwdMs: 9.86 },
      },
      {
        name: "mbconv k5e6 C24",
        fwdMs: 4.12,
        fwdBwdMs: 12.7,
        poolHighWaterBytes: 23_068_672,
        peer: { name: "tfjs-webgpu", fwdBwdMs: 15.3 },
      },
      // As in a record written before pool figures were measured: a dash.
      { name: "mbconv k7e6 C32", fwdMs: 3.77, fwdBwdMs: 11.9, peer: null },
    ],
    poolHighWaterBytes: 61_865_984,
  };
}

mkdirSync(OUT, { recursive: true });
json("config.json", config);
writeFileSync(join(OUT, "metrics.jsonl"), metrics());
writeFileSync(join(OUT, "architectures.csv"), architectures());
json("summary.json", summary());
json("pareto.json", pareto());
json("ranking.json", ranking());
json("ablation.json", ablation());
json("similarity.json", similarity());
json("ponas.json", ponas());
json("latency.json", latency());
json("bench.json", bench());
process.stdout.write(`wrote ${OUT}\n`);
