import { describe, expect, it } from "vitest";
import { Rng } from "@fairnas/kernels";
import { expectClose, testGpu } from "@fairnas/kernels/testing";
import { resolveSpace, validateSpace, type ResolvedSpace } from "../space/spec.ts";
import { Supernet } from "../supernet/network.ts";
import { buildLatencyTable, measureNetwork, pathInfer, randomInput } from "./measure.ts";
import { LATENCY_VERSION, latencyKeys, latencyModel } from "./table.ts";

const gpu = await testGpu();

/** 8x8x2 input, 3 layers (a residual, a stride 2), SE on one choice. */
function tinySpace(): ResolvedSpace {
  return resolveSpace(
    validateSpace({
      name: "tiny-latency",
      input: { height: 8, width: 8, channels: 2 },
      classes: 3,
      stem: { width: 4, kernel: 3, stride: 1 },
      firstBlock: { width: 4, kernel: 3 },
      stages: [
        { width: 4, layers: 2, stride: 1 },
        { width: 6, layers: 1, stride: 2 },
      ],
      choices: [
        { kernel: 3, expand: 3, se: false },
        { kernel: 5, expand: 6, se: false },
        { kernel: 3, expand: 3, se: true },
      ],
      se: { ratio: 0.25, base: "expanded", divisor: 1 },
      head: { width: 8, dropout: 0.2 },
      bn: { momentum: 0.1, eps: 1e-5 },
    }),
  );
}

describe.skipIf(!gpu)("latency measurement (GPU)", () => {
  const space = tinySpace();

  it("pieces chained equal Supernet.forward tracked, N2 H8 W8 C2, archs 0-1-2 and 2-2-0", async () => {
    const g = gpu!;
    const net = new Supernet(g, space, 5);
    // Non-trivial running statistics, so BN really is in tracked mode.
    const rng = new Rng(9);
    for (const bn of net.bns) {
      const C = bn.channels;
      g.write(
        bn.runningMean,
        Array.from({ length: C }, () => 0.3 * rng.normal()),
      );
      g.write(
        bn.runningVar,
        Array.from({ length: C }, () => 0.5 + rng.next()),
      );
    }
    const x = randomInput(g, [2, 8, 8, 2], 3, "x");
    for (const arch of [
      [0, 1, 2],
      [2, 2, 0],
    ]) {
      const ref = net.forward(x, arch, { bn: { kind: "tracked" }, grad: false }).logits;
      const got = pathInfer(g, net, arch, x);
      const [a, e] = [await g.read(got), await g.read(ref)];
      expect(a.length).toBe(6);
      expectClose(`arch ${arch.join("-")}`, a, e, { atol: 1e-6, rtol: 1e-6 });
      got.dispose();
      ref.dispose();
    }
    x.dispose();
    net.dispose();
  });

  it("build: every key timed with count, spread and warm-ups, batch 2", async () => {
    const g = gpu!;
    const t = await buildLatencyTable(g, space, { batch: 2, warmups: 1, repeats: 5, inner: 2 });
    expect(t.version).toBe(LATENCY_VERSION);
    expect(t.batch).toBe(2);
    expect(t.adapter.description).toBe(g.adapter.description);
    expect(t.spaceSignature).toBe(space.signature);
    expect(Object.keys(t.entries).sort()).toEqual(latencyKeys(space).sort());
    for (const [k, e] of Object.entries(t.entries)) {
      expect(e.count, k).toBe(5);
      expect(e.warmups, k).toBe(1);
      expect(e.inner, k).toBe(2);
      expect(e.medianMs, k).toBeGreaterThan(0);
      expect(e.p10Ms, k).toBeLessThanOrEqual(e.medianMs);
      expect(e.p90Ms, k).toBeGreaterThanOrEqual(e.medianMs);
    }
    const net = new Supernet(g, space, 1);
    const whole = await measureNetwork(g, net, [0, 1, 2], 2, { warmups: 1, repeats: 5, inner: 2 });
    net.dispose();
    expect(whole.count).toBe(5);
    expect(whole.medianMs).toBeGreaterThan(0);
    // Sum of 6 pieces vs one network: same order of magnitude on any device.
    const predicted = latencyModel(t, space).predict([0, 1, 2]);
    expect(predicted / whole.medianMs).toBeGreaterThan(0.2);
    expect(predicted / whole.medianMs).toBeLessThan(5);
  });
});
