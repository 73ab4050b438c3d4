// The WebGPU runtime: device acquisition through Dawn's Node bindings,
// pipeline cache, command batching (many dispatches per submit, no per-op
// readback), tensors from a buffer pool, and errors surfaced as exceptions
// that name the kernels involved.

import "./globals.ts";
import { create } from "webgpu";
import { flags } from "../flags.ts";
import type { Logger } from "../log.ts";
import { describeAdapter, neededLimits, type AdapterDescription } from "./adapter.ts";
import { BufferPool, type PoolStats } from "./pool.ts";
import { expectValidShape, numel, shapeStr, Tensor, type Shape } from "./tensor.ts";
import { WaitEstimator } from "./wait.ts";

// NOTE: the object returned by create() must outlive every device made from
// it; if it is garbage-collected the process can crash later.
let gpuEntry: GPU | null = null;

export type { AdapterDescription };

export interface GpuOptions {
  /** Dawn options passed to create(), e.g. "backend=vulkan", "adapter=NAME". */
  readonly dawnOptions?: readonly string[];
  readonly powerPreference?: GPUPowerPreference;
  readonly log?: Logger;
}

/** What a kernel host function hands to `Gpu.pipeline`. */
export interface KernelSource {
  /** Unique name of the module and variant, e.g. "pwconv.forward.tiled". */
  readonly name: string;
  readonly code: string;
  readonly entryPoint?: string;
  /** Values of the module's `override` constants. */
  readonly constants?: Readonly<Record<string, number>>;
}

/** A float uniform word; plain numbers in `params` are u32. */
export interface F32 {
  readonly f32: number;
}
export type ParamWord = number | F32;

export function f32(x: number): F32 {
  return { f32: x };
}

export interface Dispatch {
  readonly tensors: readonly Tensor[];
  /** Uniform words bound after the tensors (u32 unless wrapped in f32()). */
  readonly params?: readonly ParamWord[];
  /** Total workgroups (folded into x,y when above the per-dimension limit) or an explicit grid. */
  readonly groups: number | readonly [number, number, number];
}

export class GpuError extends Error {
  override name = "GpuError";
}

const UNIFORM_CACHE_LIMIT = 4096;

export class Gpu {
  readonly pool: BufferPool;
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly uniforms = new Map<string, GPUBuffer>();
  private readonly retired: GPUBuffer[] = [];
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private recorded: string[] = [];
  private errors: string[] = [];
  private lostMessage: string | null = null;
  private destroyed = false;
  /** Dispatches and submits since creation, for overhead accounting. */
  readonly counters = { dispatches: 0, submits: 0 };
  // Dispatches recorded but not submitted, whether one runs a pipeline for
  // the first time, and the estimate that lets waits sleep through work.
  private encoded = 0;
  private firstUse = false;
  private readonly used = new WeakSet<GPUComputePipeline>();
  private readonly waits = new WaitEstimator();

  private constructor(
    readonly device: GPUDevice,
    readonly adapter: AdapterDescription,
    readonly features: ReadonlySet<string>,
    private readonly log: Logger | undefined,
  ) {
    this.pool = new BufferPool(device, device.limits.maxBufferSize);
    device.lost.then((info) => {
      if (!this.destroyed) this.lostMessage = `${info.reason}: ${info.message}`;
    });
    device.onuncapturederror = (ev: GPUUncapturedErrorEvent) => {
      const kernels = [...new Set(this.recorded)].slice(-8).join(", ");
      this.errors.push(`${ev.error.message} (kernels recorded: ${kernels || "none"})`);
    };
  }

  static async create(opts: GpuOptions = {}): Promise<Gpu> {
    if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = "/tmp";
    gpuEntry ??= create([...(opts.dawnOptions ?? [])]);
    const adapter = await gpuEntry.requestAdapter({
      powerPreference: opts.powerPreference ?? "high-performance",
    });
    if (!adapter) {
      throw new GpuError(
        "no WebGPU adapter found: Dawn needs a Vulkan driver. On Debian bookworm without a " +
          "GPU, run `bash scripts/setup.sh` (installs Mesa 25 lavapipe from bookworm-backports).",
      );
    }
    const desc = describeAdapter(adapter, opts.dawnOptions ?? []);
    const device = await adapter.requestDevice({
      label: "nas.device",
      requiredLimits: neededLimits(adapter.limits),
      requiredFeatures: adapter.features.has("timestamp-query") ? ["timestamp-query"] : [],
    });
    const gpu = new Gpu(device, desc, new Set(device.features), opts.log);
    opts.log?.debug(`adapter: ${desc.description}`);
    return gpu;
  }

  get limits(): GPUSupportedLimits {
    return this.device.limits;
  }

  // ---- tensors ----

  empty(shape: Shape, label = "tensor"): Tensor {
    // Checked before the pool hands out a buffer, so a bad shape leaks none.
    expectValidShape(`gpu.empty (${label})`, shape);
    const bytes = Math.max(numel(shape) * 4, 4);
    this.checkBinding(label, bytes);
    return new Tensor(shape, this.pool.acquire(bytes, label), this.pool, label);
  }

  zeros(shape: Shape, label = "tensor"): Tensor {
    expectValidShape(`gpu.zeros (${label})`, shape);
    const t = this.empty(shape, label);
    this.fill0(t);
    return t;
  }

  tensor(shape: Shape, data: ArrayLike<number>, label = "tensor"): Tensor {
    expectValidShape(`gpu.tensor (${label})`, shape);
    if (data.length !== numel(shape)) {
      throw new Error(`${label}: ${data.length} values given for shape ${shapeStr(shape)}`);
    }
    const t = this.empty(shape, label);
    this.write(t, data);
    return t;
  }

  /** Uploads `data` into `t`. Pending work is submitted first so reused buffers stay safe. */
  write(t: Tensor, data: ArrayLike<number>, offsetElems = 0): void {
    this.assertUsable();
    this.flush();
    const arr = data instanceof Float32Array ? data : Float32Array.from(data);
    this.device.queue.writeBuffer(
      t.buffer,
      offsetElems * 4,
      arr.buffer,
      arr.byteOffset,
      arr.byteLength,
    );
  }

  /** Records a zero fill of the whole tensor. */
  fill0(t: Tensor): void {
    this.endPass();
    this.ensureEncoder().clearBuffer(t.buffer, 0, Math.ceil(t.bytes / 4) * 4 || 4);
    this.recorded.push("clearBuffer");
  }

  /** Records a copy of `src` into `dst` (same element count). */
  copy(src: Tensor, dst: Tensor): void {
    if (src.size !== dst.size) {
      throw new Error(
        `copy: ${src.label} ${shapeStr(src.shape)} into ${dst.label} ${shapeStr(dst.shape)}`,
      );
    }
    this.endPass();
    this.ensureEncoder().copyBufferToBuffer(src.buffer, 0, dst.buffer, 0, src.bytes);
    this.recorded.push("copyBuffer");
  }

  /** Reads a tensor back to the host (submits and waits). */
  async read(t: Tensor): Promise<Float32Array> {
    return this.readRange(t, 0, t.size);
  }

  /**
   * Reads several tensors back with one copy each into one staging buffer
   * and a single wait (many small reads cost a round trip each).
   */
  async readMany(ts: readonly Tensor[]): Promise<Float32Array[]> {
    if (ts.length === 0) return [];
    const offsets: number[] = [];
    let elems = 0;
    for (const t of ts) {
      offsets.push(elems);
      elems += t.size;
    }
    const all = await this.readBack("readMany", elems, (enc, staging) =>
      ts.forEach((t, i) => {
        if (t.size > 0) enc.copyBufferToBuffer(t.buffer, 0, staging, offsets[i] * 4, t.size * 4);
      }),
    );
    return ts.map((t, i) => all.slice(offsets[i], offsets[i] + t.size));
  }

  async readRange(t: Tensor, start: number, count: number): Promise<Float32Array> {
    return this.readBack(t.label, count, (enc, staging) =>
      enc.copyBufferToBuffer(t.buffer, start * 4, staging, 0, count * 4),
    );
  }

  /** Records `copy` into a fresh staging buffer of `elems` floats, submits, waits, maps. */
  private async readBack(
    label: string,
    elems: number,
    copy: (enc: GPUCommandEncoder, staging: GPUBuffer) => void,
  ): Promise<Float32Array> {
    this.assertUsable();
    const staging = this.device.createBuffer({
      label: `${label}.readback`,
      size: Math.max(elems * 4, 4),
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    this.endPass();
    copy(this.ensureEncoder(), staging);
    this.flush();
    try {
      await this.waitFor(() => staging.mapAsync(GPUMapMode.READ), 0);
    } catch (e) {
      this.throwIfFailed();
      throw e;
    }
    const out = new Float32Array(staging.getMappedRange().slice(0, elems * 4));
    staging.destroy();
    this.throwIfFailed();
    return out;
  }

  // ---- kernels ----

  pipeline(src: KernelSource): GPUComputePipeline {
    const constants = src.constants ?? {};
    const key = `${src.name}|${Object.keys(constants)
      .sort()
      .map((k) => `${k}=${constants[k]}`)
      .join(",")}`;
    const hit = this.pipelines.get(key);
    if (hit) return hit;
    // Every kernel sizes its workgroup with one override, WG.
    if (constants.WG !== undefined) this.checkWorkgroup(src.name, constants.WG);
    if (flags.dumpWgsl) this.log?.info(`// ${key}\n${src.code}`);
    const module = this.device.createShaderModule({ label: `${src.name}.module`, code: src.code });
    const pipeline = this.device.createComputePipeline({
      label: `${src.name}.pipeline`,
      layout: "auto",
      compute: { module, entryPoint: src.entryPoint ?? "main", constants: { ...constants } },
    });
    this.pipelines.set(key, pipeline);
    return pipeline;
  }

  /** Checks a workgroup's size and memory against the device before building. */
  checkWorkgroup(name: string, size: number, workgroupBytes = 0): void {
    const lim = this.device.limits;
    if (size > lim.maxComputeInvocationsPerWorkgroup || size > lim.maxComputeWorkgroupSizeX) {
      throw new Error(
        `${name}: workgroup of ${size} invocations exceeds the device's limit ` +
          `(maxComputeInvocationsPerWorkgroup ${lim.maxComputeInvocationsPerWorkgroup}, ` +
          `maxComputeWorkgroupSizeX ${lim.maxComputeWorkgroupSizeX})`,
      );
    }
    if (workgroupBytes > lim.maxComputeWorkgroupStorageSize) {
      throw new Error(
        `${name}: ${workgroupBytes} bytes of workgroup memory exceed ` +
          `maxComputeWorkgroupStorageSize ${lim.maxComputeWorkgroupStorageSize}`,
      );
    }
  }

  /** Records one dispatch into the current pass. Nothing is submitted. */
  dispatch(pipeline: GPUComputePipeline, d: Dispatch): void {
    this.assertUsable();
    const name = pipeline.label.replace(/\.pipeline$/, "");
    const entries: GPUBindGroupEntry[] = d.tensors.map((t, i) => {
      this.checkBinding(`${name} binding ${i} (${t.label})`, t.bytes);
      return { binding: i, resource: { buffer: t.buffer, size: Math.max(t.bytes, 4) } };
    });
    if (d.params && d.params.length > 0) {
      entries.push({ binding: d.tensors.length, resource: { buffer: this.uniform(d.params) } });
    }
    const group = this.device.createBindGroup({
      label: `${name}.bindgroup`,
      layout: pipeline.getBindGroupLayout(0),
      entries,
    });
    const [x, y, z] = this.grid(name, d.groups);
    if (x * y * z === 0) return;
    if (flags.validateEachDispatch) this.device.pushErrorScope("validation");
    const pass = this.ensurePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(x, y, z);
    if (!this.used.has(pipeline)) {
      // A software device compiles the pipeline now: this batch's time is no guide.
      this.used.add(pipeline);
      this.firstUse = true;
    }
    this.recorded.push(name);
    this.counters.dispatches += 1;
    this.encoded += 1;
    if (flags.validateEachDispatch) {
      this.device.popErrorScope().then((err) => {
        if (err) this.errors.push(`${name}: ${err.message}`);
      });
    }
  }

  /** Submits everything recorded so far (cheap when nothing is pending). */
  flush(): void {
    this.endPass();
    if (!this.encoder) return;
    const cmd = this.encoder.finish({ label: "nas.commands" });
    this.encoder = null;
    this.device.queue.submit([cmd]);
    this.counters.submits += 1;
    this.waits.submitted(this.encoded, this.firstUse, performance.now());
    this.encoded = 0;
    this.firstUse = false;
    for (const b of this.retired.splice(0)) b.destroy();
  }

  /**
   * Submits pending work and waits for the device. While a Dawn promise is
   * pending Node polls hard and steals CPU from a software device, so we
   * first sleep through most of the `expectedMs` the caller predicts.
   */
  async sync(expectedMs = 0): Promise<void> {
    this.assertUsable();
    this.flush();
    await this.waitFor(() => this.device.queue.onSubmittedWorkDone(), expectedMs);
    this.recorded = [];
    this.throwIfFailed();
  }

  /**
   * Awaits `done` (which resolves when the submitted work is complete),
   * first sleeping through most of the work: `expectedMs` when the caller
   * knows it, else what the wait estimator expects (runtime/wait.ts).
   */
  private async waitFor<T>(done: () => Promise<T>, expectedMs: number): Promise<T> {
    const slept = flags.noSleepBeforeAwait
      ? { ms: 0, fromEstimate: false }
      : this.waits.sleep(expectedMs, performance.now());
    if (slept.ms > 0) await new Promise((r) => setTimeout(r, slept.ms));
    const t0 = performance.now();
    const out = await done();
    const now = performance.now();
    this.waits.done(now, slept, now - t0);
    return out;
  }

  stats(): PoolStats {
    return this.pool.stats();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.pass = null;
    this.encoder = null;
    this.pipelines.clear();
    for (const b of this.uniforms.values()) b.destroy();
    this.uniforms.clear();
    this.pool.trim();
    this.device.destroy();
  }

  // ---- internals ----

  private checkBinding(label: string, bytes: number): void {
    const max = this.device.limits.maxStorageBufferBindingSize;
    if (bytes > max) {
      throw new Error(
        `${label}: ${bytes} bytes needed but maxStorageBufferBindingSize is ${max} bytes; ` +
          `use a smaller batch size`,
      );
    }
  }

  private grid(name: string, groups: Dispatch["groups"]): [number, number, number] {
    const max = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (typeof groups !== "number") {
      if (groups.some((g) => g > max)) {
        throw new Error(
          `${name}: grid [${groups.join(", ")}] exceeds ${max} workgroups per dimension`,
        );
      }
      return [groups[0], groups[1], groups[2]];
    }
    if (groups <= max) return [groups, 1, 1];
    const y = Math.ceil(groups / max);
    if (y > max) throw new Error(`${name}: ${groups} workgroups exceed ${max}^2`);
    return [Math.ceil(groups / y), y, 1];
  }

  private uniform(words: readonly ParamWord[]): GPUBuffer {
    const u32 = new Uint32Array(Math.ceil(words.length / 4) * 4);
    const view = new DataView(u32.buffer);
    words.forEach((w, i) => {
      if (typeof w === "number") view.setUint32(i * 4, w >>> 0, true);
      else view.setFloat32(i * 4, w.f32, true);
    });
    const key = Array.from(u32).join(",");
    const hit = this.uniforms.get(key);
    if (hit) {
      // Refresh its position so the map's order is least-recently-used first.
      this.uniforms.delete(key);
      this.uniforms.set(key, hit);
      return hit;
    }
    const buffer = this.device.createBuffer({
      label: "params",
      size: u32.byteLength,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      mappedAtCreation: true,
    });
    new Uint32Array(buffer.getMappedRange()).set(u32);
    buffer.unmap();
    this.uniforms.set(key, buffer);
    if (this.uniforms.size > UNIFORM_CACHE_LIMIT) {
      const [oldKey, old] = this.uniforms.entries().next().value as [string, GPUBuffer];
      this.uniforms.delete(oldKey);
      this.retired.push(old);
    }
    return buffer;
  }

  private ensureEncoder(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder({ label: "nas.encoder" });
    return this.encoder;
  }

  private ensurePass(): GPUComputePassEncoder {
    this.pass ??= this.ensureEncoder().beginComputePass({ label: "nas.pass" });
    return this.pass;
  }

  private endPass(): void {
    if (this.pass) this.pass.end();
    this.pass = null;
  }

  private assertUsable(): void {
    if (this.destroyed) throw new GpuError("the GPU device was destroyed");
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.lostMessage) {
      throw new GpuError(
        `GPU device lost (${this.lostMessage}); the run can be resumed from its last checkpoint`,
      );
    }
    if (this.errors.length > 0) {
      const msg = this.errors.splice(0).join("\n");
      throw new GpuError(`WebGPU error: ${msg}`);
    }
  }
}
