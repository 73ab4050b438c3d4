import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { memoryLogger } from "@fairnas/kernels";
import { getSpace } from "../space/presets.ts";
import { resolveSpace, type ResolvedSpace } from "../space/spec.ts";
import {
  FIRST_KEY,
  HEAD_KEY,
  LATENCY_FORMAT,
  LATENCY_VERSION,
  STEM_KEY,
  blockKey,
  latencyKeys,
  latencyModel,
  latencyTableJson,
  loadLatencyTable,
  lookupLatency,
  parseLatencyTable,
  summarize,
  type AdapterFingerprint,
  type LatencyTable,
} from "./table.ts";

const ADAPTER: AdapterFingerprint = {
  vendor: "mesa",
  architecture: "llvm",
  description: "llvmpipe test",
  backend: "vulkan",
};

/** A table for the fmnist space whose entry i has median (i + 1) / 100 ms. */
function fakeTable(space: ResolvedSpace): LatencyTable {
  const entries = Object.fromEntries(
    latencyKeys(space).map((k, i) => [
      k,
      {
        medianMs: (i + 1) / 100,
        count: 5,
        p10Ms: i / 100,
        p90Ms: (i + 2) / 100,
        madMs: 0.001,
        warmups: 2,
        inner: 3,
      },
    ]),
  );
  return {
    format: LATENCY_FORMAT,
    version: LATENCY_VERSION,
    adapter: ADAPTER,
    batch: 1,
    space: space.spec,
    spaceSignature: space.signature,
    entries,
  };
}

const fmnist = resolveSpace(getSpace("fmnist"));
const tmp = mkdtempSync(join(tmpdir(), "latency-table-"));

describe("latency table", () => {
  it("keys for fmnist: stem, first, 8 layers x 6 choices, head", () => {
    const keys = latencyKeys(fmnist);
    expect(keys).toHaveLength(1 + 1 + 8 * 6 + 1);
    expect(keys[0]).toBe(STEM_KEY);
    expect(keys[1]).toBe(FIRST_KEY);
    expect(keys[2]).toBe(`${fmnist.layers[0].label}/k3e3`);
    expect(keys.at(-1)).toBe(HEAD_KEY);
  });

  it("summarize samples [5,1,4,2,3]: median 3, p10 1.4, p90 4.6, MAD 1", () => {
    const s = summarize([5, 1, 4, 2, 3], 2, 4);
    expect(s).toEqual({
      medianMs: 3,
      count: 5,
      p10Ms: 1.4,
      p90Ms: 4.6,
      madMs: 1,
      warmups: 2,
      inner: 4,
    });
  });

  it("file round trip keeps every field, same adapter gives no warning", () => {
    const t = fakeTable(fmnist);
    const path = join(tmp, "rt.json");
    writeFileSync(path, latencyTableJson(t));
    const log = memoryLogger();
    const back = loadLatencyTable(path, ADAPTER, log);
    expect(back).toEqual(t);
    expect(log.warnings.size).toBe(0);
  });

  it("loading a table measured on another adapter warns once, naming both", () => {
    const path = join(tmp, "other.json");
    writeFileSync(path, latencyTableJson(fakeTable(fmnist)));
    const log = memoryLogger();
    const here = { ...ADAPTER, description: "some discrete GPU" };
    const t = loadLatencyTable(path, here, log);
    expect(t.batch).toBe(1);
    const msgs = [...log.warnings.keys()];
    expect(msgs).toHaveLength(1);
    expect(msgs[0]).toContain("llvmpipe test");
    expect(msgs[0]).toContain("some discrete GPU");
  });

  it("a wrong format version says how to regenerate", () => {
    const text = JSON.stringify({ ...fakeTable(fmnist), version: 99 });
    expect(() => parseLatencyTable("v.json", text)).toThrow(/version 99.*latency build/);
  });

  it("a missing entry is an error naming the key", () => {
    const t = fakeTable(fmnist);
    const key = blockKey(fmnist, 3, 5);
    const { [key]: _gone, ...rest } = t.entries;
    const holed: LatencyTable = { ...t, entries: rest };
    expect(() => lookupLatency(holed, key)).toThrow(key);
    const arch = fmnist.layers.map((_, l) => (l === 3 ? 5 : 0));
    expect(() => latencyModel(holed, fmnist).predict(arch)).toThrow(key);
    expect(() => lookupLatency(holed, "stage9.block9/k9e9")).toThrow("stage9.block9/k9e9");
  });

  it("predicted latency of fmnist arch is the sum of its entries", () => {
    const t = fakeTable(fmnist);
    const arch = [0, 1, 2, 3, 4, 5, 0, 1];
    const keys = [STEM_KEY, FIRST_KEY, ...arch.map((c, l) => blockKey(fmnist, l, c)), HEAD_KEY];
    const sum = keys.reduce((s, k) => s + t.entries[k].medianMs, 0);
    const m = latencyModel(t, fmnist);
    expect(m.predict(arch)).toBeCloseTo(sum, 12);
    // stem 0.01 + first 0.02 + head 0.51 (entry 50 of 51)
    expect(m.fixedMs).toBeCloseTo(0.01 + 0.02 + 0.51, 12);
    expect(m.blockMs(2, 2)).toBeCloseTo(t.entries[blockKey(fmnist, 2, 2)].medianMs, 12);
  });

  it("a table of another space is refused with both names", () => {
    const other = resolveSpace(getSpace("cifar10"));
    expect(() => latencyModel(fakeTable(fmnist), other)).toThrow(/fmnist.*cifar10/);
  });
});
