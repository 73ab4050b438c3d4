// `nas-cli latency build/check` on a tiny space (seconds, not minutes).

import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { memoryLogger } from "@fairnas/kernels";
import { testGpu } from "@fairnas/kernels/testing";
import {
  getSpace,
  latencyKeys,
  latencyModel,
  parseArch,
  resolveSpace,
  smallestArch,
  blockKey,
  type LatencyTable,
} from "@fairnas/nas";
import { main } from "../main.ts";
import { resolveConfig } from "../config.ts";

const gpu = await testGpu();
const tmp = mkdtempSync(join(tmpdir(), "latency-cli-"));
const spaceFile = join(tmp, "tiny.json");
const tableFile = join(tmp, "table.json");
const runDir = join(tmp, "run");

const TINY = {
  name: "tiny-cli",
  input: { height: 8, width: 8, channels: 1 },
  classes: 10,
  stem: { width: 4, kernel: 3, stride: 1 },
  firstBlock: { width: 4, kernel: 3 },
  stages: [{ width: 6, layers: 2, stride: 2 }],
  choices: [
    { kernel: 3, expand: 3, se: false },
    { kernel: 5, expand: 6, se: false },
  ],
  se: null,
  head: { width: 8, dropout: 0 },
  bn: { momentum: 0.1, eps: 1e-5 },
};
const FAST = ["--repeats", "3", "--warmups", "1", "--inner", "2"];

async function cli(
  args: string[],
): Promise<{ code: number; log: ReturnType<typeof memoryLogger> }> {
  const log = memoryLogger("info");
  const code = await main(args, log);
  return { code, log };
}

function readTable(): LatencyTable {
  return JSON.parse(readFileSync(tableFile, "utf8")) as LatencyTable;
}

writeFileSync(spaceFile, JSON.stringify(TINY));
const space = resolveSpace(getSpace(spaceFile));

describe.skipIf(!gpu)("nas-cli latency", () => {
  beforeAll(() => {
    // A run directory needs only its config for `check --run`.
    mkdirSync(runDir, { recursive: true });
    const cfg = resolveConfig("quick", null, { space: spaceFile });
    writeFileSync(join(runDir, "config.json"), JSON.stringify(cfg));
  });

  it("build --space tiny --batch 2: every piece timed, adapter and batch recorded", async () => {
    const { code, log } = await cli([
      "latency",
      "build",
      "--space",
      spaceFile,
      "--batch",
      "2",
      "--out",
      tableFile,
      ...FAST,
    ]);
    expect(code, log.text()).toBe(0);
    const t = readTable();
    expect(t.batch).toBe(2);
    expect(t.adapter.description).toBe(gpu!.adapter.description);
    expect(t.adapter.backend).toBe(gpu!.adapter.backend);
    expect(Object.keys(t.entries)).toEqual(latencyKeys(space));
    expect(Object.keys(t.entries)).toHaveLength(1 + 1 + 2 * 2 + 1);
    for (const e of Object.values(t.entries)) {
      expect(e).toMatchObject({ count: 3, warmups: 1, inner: 2 });
      expect(e.medianMs).toBeGreaterThan(0);
    }
    expect(log.text()).toMatch(/entry\s+7\/7 \| head/);
  });

  it("check --archs 3 --run DIR: predicted = sum of entries, errors, latency.json", async () => {
    const { code, log } = await cli([
      "latency",
      "check",
      "--table",
      tableFile,
      "--archs",
      "3",
      "--run",
      runDir,
      ...FAST,
    ]);
    expect(code, log.text()).toBe(0);
    const rec = JSON.parse(readFileSync(join(runDir, "latency.json"), "utf8"));
    expect(rec.adapter).toEqual(readTable().adapter);
    expect(rec.checks).toHaveLength(3);
    const model = latencyModel(readTable(), space);
    for (const c of rec.checks) {
      expect(c.predictedMs).toBeCloseTo(model.predict(parseArch(space, c.arch)), 9);
      expect(c.measuredMs).toBeGreaterThan(0);
      expect(c.relError).toBeCloseTo((c.predictedMs - c.measuredMs) / c.measuredMs, 9);
    }
    expect(log.text()).toMatch(/mean \|relative error\| [\d.]+% over 3 networks/);
  });

  it("check with a table from another adapter warns, naming it", async () => {
    const other = join(tmp, "other.json");
    writeFileSync(
      other,
      JSON.stringify({
        ...readTable(),
        adapter: { ...readTable().adapter, description: "elsewhere-gpu" },
      }),
    );
    const { code, log } = await cli([
      "latency",
      "check",
      "--table",
      other,
      "--archs",
      "2",
      ...FAST,
    ]);
    expect(code).toBe(0);
    const warned = [...log.warnings.keys()].filter((w) => w.includes("elsewhere-gpu"));
    expect(warned).toHaveLength(1);
  });

  it("check with a missing entry fails naming the key", async () => {
    const t = readTable();
    const key = blockKey(space, 1, smallestArch(space)[1]);
    const { [key]: _gone, ...rest } = t.entries;
    const holed = join(tmp, "holed.json");
    writeFileSync(holed, JSON.stringify({ ...t, entries: rest }));
    const { code, log } = await cli([
      "latency",
      "check",
      "--table",
      holed,
      "--archs",
      "1",
      ...FAST,
    ]);
    expect(code).toBe(1);
    expect(log.text()).toContain(`no entry '${key}'`);
  });

  it("build over an existing file says so and replaces it whole", async () => {
    const holed = join(tmp, "holed.json");
    const before = Object.keys(JSON.parse(readFileSync(holed, "utf8")).entries).length;
    const { code, log } = await cli([
      "latency",
      "build",
      "--space",
      spaceFile,
      "--out",
      holed,
      ...FAST,
    ]);
    expect(code, log.text()).toBe(0);
    expect(log.text()).toContain(`${holed} exists; it is replaced when the new table is complete`);
    expect(log.text()).toMatch(/replaced .*holed\.json \(7 entries/);
    const after = JSON.parse(readFileSync(holed, "utf8"));
    expect(before).toBe(6);
    expect(Object.keys(after.entries)).toEqual(latencyKeys(space));
    expect(after.batch).toBe(1);
  });
});

// Refused before any measuring, so these need no adapter.
describe("nas-cli latency without a subcommand", () => {
  it("is a usage error naming both", async () => {
    const { code, log } = await cli(["latency"]);
    expect(code).toBe(2);
    expect(log.text()).toMatch(/build or check/);
  });
});

describe("nas-cli latency build --out: only an earlier table is replaced", () => {
  const cases = [
    ["a text file", "precious\n"],
    ["a run's summary.json", '{"totalSeconds": 12.5, "best": "k3e3"}\n'],
    ["JSON marked as another format", '{"format": "fairnas-ponas-table", "entries": {}}\n'],
  ] as const;
  for (const [what, text] of cases) {
    it(`${what} is refused and left as it is`, async () => {
      const out = join(mkdtempSync(join(tmpdir(), "latency-out-")), "x.txt");
      writeFileSync(out, text);
      const { code, log } = await cli(["latency", "build", "--space", spaceFile, "--out", out]);
      expect(code).toBe(2);
      expect(log.text()).toContain(
        `--out ${out} exists and is not a latency table; it is left as it is`,
      );
      expect(log.text()).not.toContain("latency table: space");
      expect(readFileSync(out, "utf8")).toBe(text);
    });
  }

  it("a directory is refused", async () => {
    const out = mkdtempSync(join(tmpdir(), "latency-out-"));
    const { code, log } = await cli(["latency", "build", "--space", spaceFile, "--out", out]);
    expect(code).toBe(2);
    expect(log.text()).toContain(`--out ${out} is a directory; name the table file to write`);
  });

  it("a path under a regular file names that file", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "latency-out-")), "summary.json");
    writeFileSync(file, "{}\n");
    const out = join(file, "t.json");
    const { code, log } = await cli(["latency", "build", "--space", spaceFile, "--out", out]);
    expect(code).toBe(1);
    expect(log.text()).toContain(
      `cannot write latency table ${out}: ${file} is a file, not a directory`,
    );
    expect(readFileSync(file, "utf8")).toBe("{}\n");
  });
});
