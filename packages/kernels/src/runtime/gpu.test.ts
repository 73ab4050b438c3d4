import { describe, expect, it } from "vitest";
import { testGpu } from "../testing.ts";
import { relu6 } from "../ops/elementwise.ts";
import { wgsl } from "./wgsl.ts";
import { sizeClass } from "./pool.ts";

const gpu = await testGpu();

describe("buffer pool size classes", () => {
  it("classes hold the request, are 16-byte multiples and waste under 19%", () => {
    for (const bytes of [1, 255, 257, 1000, 4096, 4097, 123457, 50_000_000]) {
      const c = sizeClass(bytes);
      expect(c).toBeGreaterThanOrEqual(bytes);
      expect(c % 16).toBe(0);
      if (bytes > 256) expect(c / bytes).toBeLessThan(1.19 + 16 / bytes);
    }
  });
});

describe.runIf(gpu)("runtime", () => {
  it("folds more than 65535 workgroups into a 2D grid (relu6 over 2^24 + 5 elements)", async () => {
    const g = gpu!;
    const n = 2 ** 24 + 5; // 65537 workgroups of 64 invocations x 4 elements
    const data = new Float32Array(n);
    for (let i = 0; i < n; i += 4099) data[i] = i % 2 === 0 ? -1 - (i % 7) : 7 + (i % 5);
    data[n - 1] = 3.5;
    const x = g.tensor([n], data);
    const y = relu6(g, x);
    const tail = await g.readRange(y, n - 8, 8);
    expect(tail[7]).toBe(3.5);
    const all = await g.read(y);
    for (let i = 0; i < n; i += 4099) expect(all[i]).toBe(Math.min(Math.max(data[i], 0), 6));
    x.dispose();
    y.dispose();
  });

  it("readMany returns each tensor's exact values (sizes 1, 3, 1000, 0-length list)", async () => {
    const g = gpu!;
    const sizes = [1, 3, 1000];
    const data = sizes.map((n, k) =>
      Float32Array.from({ length: n }, (_, i) => k * 1e4 + i + 0.25),
    );
    const ts = data.map((d, k) => g.tensor([d.length], d, `rm${k}`));
    const back = await g.readMany(ts);
    expect(back.map((b) => b.length)).toEqual(sizes);
    back.forEach((b, k) => expect(Array.from(b)).toEqual(Array.from(data[k])));
    expect(await g.readMany([])).toEqual([]);
    for (const t of ts) t.dispose();
  });

  it("refuses a binding above maxStorageBufferBindingSize, naming the limit and the bytes", () => {
    const g = gpu!;
    const max = g.limits.maxStorageBufferBindingSize;
    const elems = max / 4 + 1;
    expect(() => g.empty([elems], "huge")).toThrow(
      new RegExp(`huge: ${elems * 4} bytes needed but maxStorageBufferBindingSize is ${max}`),
    );
  });

  it("refuses shapes with NaN, fractional or negative dims, naming the call and the shape", () => {
    const g = gpu!;
    const live = g.pool.stats().inUseBytes;
    const rule = "; every dimension must be a non-negative integer$";
    const cases: [() => unknown, string][] = [
      [() => g.empty([NaN]), "^gpu\\.empty \\(tensor\\): invalid shape \\[NaN\\]"],
      [() => g.empty([2, 1.5], "h"), "^gpu\\.empty \\(h\\): invalid shape \\[2, 1\\.5\\]"],
      [() => g.empty([-3]), "^gpu\\.empty \\(tensor\\): invalid shape \\[-3\\]"],
      [() => g.zeros([4, -1]), "^gpu\\.zeros \\(tensor\\): invalid shape \\[4, -1\\]"],
      [() => g.tensor([-1, 2], [1, 2]), "^gpu\\.tensor \\(tensor\\): invalid shape \\[-1, 2\\]"],
      [() => g.tensor([-1, -2], [1, 2]), "^gpu\\.tensor \\(tensor\\): invalid shape \\[-1, -2\\]"],
    ];
    for (const [call, head] of cases) expect(call).toThrow(new RegExp(head + rule));
    // Nothing was taken from the pool on the way.
    expect(g.pool.stats().inUseBytes).toBe(live);
  });

  it("checks a kernel's workgroup size against the device when the pipeline is built", () => {
    const g = gpu!;
    const tooBig = g.limits.maxComputeInvocationsPerWorkgroup + 1;
    expect(() =>
      g.pipeline({
        name: "elementwise.forward.relu6.test",
        code: wgsl("elementwise.forward.wgsl"),
        entryPoint: "relu6",
        constants: { WG: tooBig },
      }),
    ).toThrow(/elementwise\.forward\.relu6\.test: workgroup of \d+ invocations exceeds/);
  });

  it("a disposed tensor cannot be used, and disposal returns its bytes to the pool", () => {
    const g = gpu!;
    const before = g.stats().inUseBytes;
    const t = g.zeros([1000], "victim");
    expect(g.stats().inUseBytes).toBeGreaterThan(before);
    t.dispose();
    expect(g.stats().inUseBytes).toBe(before);
    expect(() => relu6(g, t)).toThrow(/victim: tensor used after dispose/);
  });

  it("reuses pooled buffers: allocating the same shapes again adds no buffer", () => {
    const g = gpu!;
    const a = g.zeros([777]);
    a.dispose();
    const count = g.stats().buffers;
    const b = g.zeros([777]);
    expect(g.stats().buffers).toBe(count);
    b.dispose();
  });

  it("records many dispatches into one submit", async () => {
    const g = gpu!;
    const x = g.zeros([64]);
    await g.sync();
    const submits = g.counters.submits;
    const outs = Array.from({ length: 50 }, () => relu6(g, x));
    await g.sync();
    expect(g.counters.submits - submits).toBe(1);
    for (const o of outs) o.dispose();
    x.dispose();
  });
});
