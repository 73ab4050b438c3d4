// The benchmark's memory figures: each case's pool high-water counts what
// the case allocates (its tensors at their size classes, temporaries
// included) and not what was live before it, while the run's figure keeps
// the highest mark across the per-case resets.
import { describe, expect, it } from "vitest";
import { sizeClass } from "../src/runtime/pool.ts";
import { testGpu } from "../src/testing.ts";
import { withPoolPeak } from "./kernels.ts";

const gpu = await testGpu();

describe.runIf(gpu)("benchmark pool figures", () => {
  it("a case's peak excludes earlier live buffers; the run keeps the highest mark", async () => {
    const g = gpu!;
    const live = g.empty([1 << 20], "bench.test.live"); // 4 MiB held across the cases
    const seen = { high: 0 };
    const a = await withPoolPeak(g, seen, async () => {
      const x = g.empty([1000, 37], "bench.test.x");
      const t = g.empty([3000], "bench.test.temp"); // a temporary, gone before the end
      t.dispose();
      x.dispose();
      return "a";
    });
    expect(a.result).toBe("a");
    expect(a.bytes).toBe(sizeClass(4 * 1000 * 37) + sizeClass(4 * 3000));
    const b = await withPoolPeak(g, seen, async () => {
      g.empty([10], "bench.test.small").dispose();
      return 0;
    });
    expect(b.bytes).toBe(sizeClass(40));
    // The run's mark: the live buffer plus the first case's peak.
    expect(seen.high).toBeGreaterThanOrEqual(sizeClass(4 << 20) + a.bytes);
    live.dispose();
  });
});
