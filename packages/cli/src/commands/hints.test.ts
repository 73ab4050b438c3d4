// What eval, specialize and report say when pointed at the wrong thing:
// each is refused before any data or device work, so no GPU is needed.

import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { memoryLogger } from "@fairnas/kernels";
import { main } from "../main.ts";
import { loadConfigFile, resolveConfig } from "../config.ts";
import { loadSpace, loadSplits } from "../session.ts";

const ARCH = "k3e3-k3e3-k3e3-k3e3-k3e3-k3e3-k3e3-k3e3";
const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..");

async function cli(args: string[]): Promise<{ code: number; text: string }> {
  const log = memoryLogger("info");
  const code = await main(args, log);
  return { code, text: log.text() };
}

/** A run directory with a valid config and the files of one kind of run. */
function fakeRun(kind: "supernet" | "ponas"): string {
  const dir = mkdtempSync(join(tmpdir(), `hints-${kind}-`));
  writeFileSync(join(dir, "config.json"), JSON.stringify(resolveConfig("quick", null, {})));
  mkdirSync(join(dir, "checkpoints"));
  const file = kind === "supernet" ? "supernet.ckpt" : "ponas-supernet.ckpt";
  writeFileSync(join(dir, "checkpoints", file), "x");
  return dir;
}

describe("eval", () => {
  it("--recal-batches 0 is refused, as eval.recalBatches 0 is in the config", async () => {
    const r = await cli(["eval", "--run", "r", "--arch", ARCH, "--recal-batches", "0"]);
    expect(r.code).toBe(2);
    expect(r.text).toContain("--recal-batches must be at least 1");
  });

  it("--run DIR/config.json: a file, not a run directory", async () => {
    const dir = fakeRun("supernet");
    const r = await cli(["eval", "--run", join(dir, "config.json"), "--arch", ARCH]);
    expect(r.code).toBe(1);
    expect(r.text).toContain(
      `${join(dir, "config.json")} is a file, not a run directory; name its directory, ${dir}`,
    );
  });

  it("--run on a PONAS run says so and how a PONAS run scores networks", async () => {
    const dir = fakeRun("ponas");
    const r = await cli(["eval", "--run", dir, "--arch", ARCH]);
    expect(r.code).toBe(1);
    expect(r.text).toContain(`${dir} is a PONAS run (checkpoints/ponas-supernet.ckpt)`);
    expect(r.text).toContain(`nas-cli specialize --run ${dir} --max-madds X`);
    expect(r.text).not.toContain("has no trained supernet");
  });
});

describe("specialize", () => {
  it("--run on a supernet run says it is one and that PONAS needs its own directory", async () => {
    const dir = fakeRun("supernet");
    const r = await cli(["specialize", "--run", dir, "--max-madds", "1"]);
    expect(r.code).toBe(1);
    expect(r.text).toContain(
      `${dir} is a supernet run (checkpoints/supernet.ckpt), and PONAS needs its own run ` +
        "directory: `nas-cli ponas --out NEW_DIR`",
    );
    expect(r.text).not.toContain(`nas-cli ponas --out ${dir}`);
  });

  it("--run on an interrupted PONAS run (no table yet) says to resume it", async () => {
    const dir = fakeRun("ponas");
    const r = await cli(["specialize", "--run", dir, "--max-madds", "1"]);
    expect(r.code).toBe(1);
    expect(r.text).toContain(`nas-cli ponas --out ${dir} --resume`);
  });
});

describe("report", () => {
  it("a missing RUN_DIR: the directory does not exist", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "hints-")), "nonexist");
    const r = await cli(["report", dir]);
    expect(r.code).toBe(1);
    expect(r.text).toContain(`run directory ${dir} does not exist`);
  });
});

describe("missing data", () => {
  it("configs/cifar10.json without its data: the CIFAR-10 hint, not Fashion-MNIST's", async () => {
    const missing = join(mkdtempSync(join(tmpdir(), "hints-")), "data");
    const cfg = resolveConfig("fmnist", loadConfigFile(join(REPO, "configs", "cifar10.json")), {
      data: missing,
    });
    const err = (await loadSplits(cfg, loadSpace(cfg)).catch((e: unknown) => e)) as Error;
    expect(err.message).toContain(`${missing}: dataset directory does not exist`);
    expect(err.message).toContain("CIFAR-10 binary version");
    expect(err.message).not.toContain("dataset-fashion-mnist");
  });
});
