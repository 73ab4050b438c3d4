// Every GPU test file in this package is `describe.runIf(gpu)`, and
// testGpu() returns null when no adapter exists (it throws only under
// NAS_REQUIRE_GPU=1, which `npm test` never sets and turbo's strict env mode
// would drop anyway). Without this file a machine without a Vulkan driver
// would pass the whole kernels suite with every GPU check skipped. The
// project's setup installs lavapipe wherever there is no GPU, so an adapter
// is required unless NAS_ALLOW_NO_GPU=1 is set by hand (the test then shows
// as skipped, not passed).
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
