// Where a PONAS run keeps its files, its search space, the table's
// evaluation data, and reading a saved table back (for specialize).

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Gpu } from "@fairnas/kernels";
import {
  drawnSubset,
  getSpace,
  parseTableFile,
  resolveSpace,
  type EvalData,
  type PonasTableFile,
  type ResolvedSpace,
} from "@fairnas/nas";
import type { RunConfig } from "../config.ts";
import { checkRunDir, evalData, runKindOf, type DataSplits } from "../session.ts";

export const PONAS_FILES = {
  metaCheckpoint: join("checkpoints", "ponas-meta.ckpt"),
  supernet: join("checkpoints", "ponas-supernet.ckpt"),
  table: "ponas-table.json",
  record: "ponas.json",
} as const;

export function ponasPath(dir: string, file: keyof typeof PONAS_FILES): string {
  return join(dir, PONAS_FILES[file]);
}

/** The PONAS search space of a run: the "-ponas" variant of cfg.space. */
export function ponasSpace(cfg: RunConfig): ResolvedSpace {
  return resolveSpace(getSpace(`${cfg.space}-ponas`));
}

/** Validation images for the table (ponas.tableValImages, 0: all) plus recal batches. */
export function tableEvalData(
  gpu: Gpu,
  cfg: RunConfig,
  data: DataSplits,
  space: ResolvedSpace,
): EvalData & { dispose(): void } {
  const n = cfg.ponas.tableValImages;
  const val = drawnSubset(data.valOrder, n);
  return evalData(gpu, cfg, { ...data, val }, space);
}

/** The saved table of a run directory; errors say how to make one. */
export function readTable(dir: string): PonasTableFile {
  checkRunDir(dir);
  const path = ponasPath(dir, "table");
  if (!existsSync(path))
    throw new Error(`${dir} has no PONAS table (missing ${path}); ${howToTable(dir)}`);
  return parseTableFile(path, readFileSync(path, "utf8"));
}

// A supernet run cannot take the PONAS pipeline (`ponas` refuses its
// directory); an interrupted PONAS run continues with --resume.
function howToTable(dir: string): string {
  const found = runKindOf(dir);
  if (found?.kind === "supernet") {
    return (
      `${dir} is a supernet run (${found.file}), and PONAS needs its own run directory: ` +
      "`nas-cli ponas --out NEW_DIR` (or `nas-cli run --mode ponas --out NEW_DIR`), " +
      "then `nas-cli specialize --run NEW_DIR`"
    );
  }
  if (found?.kind === "ponas")
    return `continue its PONAS run with \`nas-cli ponas --out ${dir} --resume\``;
  return `run \`nas-cli ponas --out ${dir}\` first`;
}
