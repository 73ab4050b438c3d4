// Every GPU test file is `describe.runIf(gpu)`, and testGpu() fails when no
// adapter exists unless NAS_ALLOW_NO_GPU=1 (then it returns null and those
// tests skip). This file states the requirement by name, so a machine
// without a Vulkan driver fails here with the fix in the message, and an
// allowed skip shows as skipped, not passed.
import { describe, expect, it } from "vitest";
import { testGpu } from "../testing.ts";

const gpu = await testGpu();
const allowed = process.env.NAS_ALLOW_NO_GPU === "1";

describe("test device", () => {
  it.skipIf(allowed)("finds a WebGPU adapter, so the GPU tests run instead of skipping", () => {
    expect(
      gpu,
      "no WebGPU adapter: every GPU test in @fairnas/kernels would be skipped. " +
        "Run `bash scripts/setup.sh`, or set NAS_ALLOW_NO_GPU=1 to skip them on purpose.",
    ).not.toBeNull();
    expect(gpu!.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
  });
});
