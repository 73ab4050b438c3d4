// The sampler ablation from one command, with the CPU time it took:
//
//   npx tsx packages/nas/bench/ablation.ts [--size small|quick|full] [--out DIR] [-- extra ablate flags]
//
// It runs `nas-cli ablate` as a child process (the CLI owns training and
// output; this package does not import it), then prints the table the
// child wrote (OUT/ablation.md) and the child's CPU time as the kernel
// accounts it (user + system of the waited-for child, from /proc).
//
// Sizes (the full setting takes hours on a 2-core CPU):
//   small  quick preset, 1024 training images, 8 architectures, 1 stand-alone epoch, 500 test images
//   quick  quick preset (2048 training images), 20 architectures, 1 stand-alone epoch, 1000 test images
//   medium fmnist preset (55k training images), supernets 0.75 strict-fair epochs (equal
//          path-images for the others), 4 recalibration batches of 500, 20 architectures,
//          1 stand-alone epoch each, all test images: about 90 minutes on 2 cores
//   full   fmnist preset (55k training images), 20 architectures, cfg.standalone epochs, all test images

import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const BIN = join(import.meta.dirname, "..", "..", "cli", "bin", "nas-cli.mjs");

const SIZES: Record<string, { preset: string; config: object | null; flags: string[] }> = {
  small: {
    preset: "quick",
    config: {
      train: { trainLimit: 1024, valSize: 256, logEvery: 8 },
      eval: { recalBatches: 2, batchSize: 256 },
    },
    flags: ["--archs", "8", "--epochs", "1", "--test-images", "500"],
  },
  quick: {
    preset: "quick",
    config: null,
    flags: ["--archs", "20", "--epochs", "1", "--test-images", "1000"],
  },
  medium: {
    preset: "fmnist",
    config: {
      train: { epochs: 0.75, checkpointEvery: 100, logEvery: 40 },
      eval: { recalBatches: 4, batchSize: 500 },
    },
    flags: ["--archs", "20", "--epochs", "1"],
  },
  full: { preset: "fmnist", config: null, flags: ["--archs", "20"] },
};

/** user + system seconds of this process's waited-for children (Linux /proc). */
function childCpuSeconds(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 16 and 17 of stat (cutime, cstime), counted after the ")".
  const ticks = Number(fields[13]) + Number(fields[14]);
  return ticks / 100; // USER_HZ is 100 on Linux
}

function main(argv: string[]): number {
  const dash = argv.indexOf("--");
  const own = dash >= 0 ? argv.slice(0, dash) : argv;
  const extra = dash >= 0 ? argv.slice(dash + 1) : [];
  const sizeName = own[own.indexOf("--size") + 1] ?? "small";
  const size = own.includes("--size") ? SIZES[sizeName] : SIZES.small;
  if (!size)
    throw new Error(`--size must be one of ${Object.keys(SIZES).join(", ")}, got '${sizeName}'`);
  const out = own.includes("--out")
    ? own[own.indexOf("--out") + 1]
    : join("runs", `bench-ablation-${own.includes("--size") ? sizeName : "small"}`);
  mkdirSync(out, { recursive: true });
  const args = ["ablate", "--preset", size.preset, "--out", out, ...size.flags];
  if (size.config) {
    const file = join(tmpdir(), `bench-ablation-${process.pid}.json`);
    writeFileSync(file, JSON.stringify(size.config));
    args.push("--config", file);
  }
  args.push(...extra);
  process.stdout.write(`nas-cli ${args.join(" ")}\n`);
  const cpu0 = childCpuSeconds();
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [BIN, ...args], {
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, CI: "1" },
  });
  const wall = (performance.now() - t0) / 1000;
  const cpu = childCpuSeconds() - cpu0;
  if (r.status !== 0) {
    process.stderr.write(`nas-cli ablate failed (exit ${r.status})\n`);
    return 1;
  }
  process.stdout.write(`\n${readFileSync(join(out, "ablation.md"), "utf8")}`);
  process.stdout.write(
    `bench: size ${own.includes("--size") ? sizeName : "small"} | child CPU ${cpu.toFixed(0)} s | wall ${wall.toFixed(0)} s\n`,
  );
  return 0;
}

process.exitCode = main(process.argv.slice(2));
