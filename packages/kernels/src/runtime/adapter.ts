// What the runtime records of an adapter, and the limits it asks of it.

import { flags } from "../flags.ts";

export interface AdapterDescription {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  readonly backend: string;
  readonly fingerprint: string;
  /**
   * A CPU implementation (lavapipe/llvmpipe, SwiftShader): kernels with
   * variants pick the ones measured faster there.
   */
  readonly software: boolean;
}

export function describeAdapter(adapter: GPUAdapter, opts: readonly string[]): AdapterDescription {
  const info = adapter.info;
  const backend = opts.find((o) => o.startsWith("backend="))?.slice(8) ?? "default";
  const vendor = info.vendor || "unknown";
  const architecture = info.architecture || "unknown";
  const device = info.device || "unknown";
  const description = info.description || `${vendor} ${architecture} ${device}`;
  const fingerprint = [vendor, architecture, device, description, backend].join("|");
  const fallback = (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  const software =
    !flags.hardwareVariants &&
    (fallback ||
      architecture === "software" ||
      /llvmpipe|lavapipe|swiftshader/i.test(`${device} ${description}`));
  return { vendor, architecture, device, description, backend, fingerprint, software };
}

export function neededLimits(a: GPUSupportedLimits): Record<string, number> {
  // Ask for the adapter's own maxima of what the kernels use, never more.
  const names = [
    "maxStorageBufferBindingSize",
    "maxBufferSize",
    "maxComputeWorkgroupStorageSize",
    "maxComputeInvocationsPerWorkgroup",
    "maxComputeWorkgroupSizeX",
    "maxComputeWorkgroupSizeY",
    "maxComputeWorkgroupsPerDimension",
    "maxStorageBuffersPerShaderStage",
  ] as const;
  const out: Record<string, number> = {};
  for (const n of names) out[n] = a[n];
  return out;
}
