import { describe, expect, it } from "vitest";
import { expectClose, testGpu } from "@fairnas/kernels/testing";
import { randn } from "@fairnas/kernels/testing";
import { getSpace } from "../space/presets.ts";
import { resolveSpace } from "../space/spec.ts";
import { Supernet } from "../supernet/network.ts";
import { buildPathNet } from "./path-net.ts";

const gpu = await testGpu();
const space = resolveSpace(getSpace("fmnist-ponas"));

describe.skipIf(!gpu)("path net (stand-alone network)", () => {
  const arch = [0, 3, 5, 1, 2, 4, 5, 0].map((c) => c % space.spec.choices.length);

  it("fmnist-ponas N4 28x28: holds only the path's blocks and matches the supernet path in tracked BN", async () => {
    const g = gpu!;
    const net = buildPathNet(g, space, arch, 11);
    const sup = new Supernet(g, space, 11);
    try {
      expect(net.space).toBe(space);
      const want = new Set(sup.groupsFor(arch).flatMap((gr) => gr.params.map((p) => p.name)));
      expect(net.params.map((p) => p.name).sort()).toEqual([...want].sort());
      expect(net.params.length).toBeLessThan(sup.params.length);
      net.blocks.forEach((row, l) => expect(Object.keys(row)).toEqual([String(arch[l])]));

      const x = g.tensor([4, 28, 28, 1], Float32Array.from(randn(4 * 28 * 28, 5)), "x");
      const a = net.forward(x, arch, { bn: { kind: "tracked" }, grad: false }).logits;
      const b = sup.forward(x, arch, { bn: { kind: "tracked" }, grad: false }).logits;
      expectClose("logits", await g.read(a), await g.read(b), { atol: 0, rtol: 0 });
      for (const t of [x, a, b]) t.dispose();
    } finally {
      net.dispose();
      sup.dispose();
    }
  });

  it("fmnist-ponas: another architecture is refused by the stand-alone model", async () => {
    const { StandaloneModel } = await import("./path-net.ts");
    const net = buildPathNet(gpu!, space, arch, 1);
    try {
      const model = new StandaloneModel(gpu!, net, arch);
      expect(model.choices).toBe(1);
      expect(() => model.groupsFor(arch.map(() => 0))).not.toThrow();
      expect(() => model.groupsFor(arch)).toThrow(/all-zero path/);
    } finally {
      net.dispose();
    }
  });
});
