// Peer measurement: the same training-mode MBConv block in tfjs-webgpu, run
// on the benchmark's own Dawn device (the GPUDevice of our Gpu, made from the
// one `webgpu` create() object the runtime keeps alive), so both sides share
// adapter, driver and queue. tfjs is a dev dependency of this benchmark only.
//
// tfjs-webgpu refuses to start unless `navigator.gpu` exists, which Node 20
// lacks. We provide it from a `webgpu` create() object kept alive for the
// life of the process (the runtime does not expose its own), and register
// the backend ourselves with our Gpu's device, so tfjs never requests a
// device of its own.
//
// tfjs-core registers its gradients from a separate module that exists only
// as extensionless ES modules, which Node cannot load; esbuild bundles it
// once into one module at run time. It registers into tfjs's global gradient
// registry, which every copy of tfjs-core shares.
//
// Timing is wall clock from the first op to a one-float readback of the
// summed outputs, with the same sleep-before-await as our side (the host
// sleeps through most of the previous run's time before awaiting).

import { create } from "webgpu";
import { createRequire } from "node:module";
import { build } from "esbuild";
import * as tf from "@tensorflow/tfjs-core";
import { WebGPUBackend } from "@tensorflow/tfjs-backend-webgpu";
import type { Gpu } from "../mod.ts";
import { median } from "../src/runtime/timing.ts";
import { mbconvOutShape, mbconvResidual, type MbconvSpec } from "./mbconv.ts";

export interface PeerResult {
  readonly name: string;
  readonly fwdMs: number;
  readonly fwdBwdMs: number;
}

const BACKEND = "webgpu";

// NOTE: kept for the life of the process: a collected create() object can
// crash Dawn later (PERF-NOTES).
let navigatorGpu: GPU | null = null;

function provideNavigatorGpu(): void {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return;
  navigatorGpu ??= create([]);
  Object.defineProperty(globalThis, "navigator", {
    value: { ...(nav ?? {}), gpu: navigatorGpu },
    configurable: true,
    writable: true,
  });
}

let gradientsRegistered = false;

async function registerGradients(): Promise<void> {
  if (gradientsRegistered) return;
  const entry = createRequire(import.meta.url).resolve(
    "@tensorflow/tfjs-core/dist/register_all_gradients.js",
  );
  const out = await build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "node",
    write: false,
    logLevel: "error",
  });
  const code = out.outputFiles[0].text;
  await import(`data:text/javascript;base64,${Buffer.from(code).toString("base64")}`);
  gradientsRegistered = true;
}

async function useOurDevice(gpu: Gpu): Promise<void> {
  if (tf.getBackend() === BACKEND) return;
  provideNavigatorGpu();
  const info = gpu.adapter;
  tf.registerBackend(
    BACKEND,
    () =>
      new WebGPUBackend(gpu.device, {
        vendor: info.vendor,
        architecture: info.architecture,
        device: info.device,
        description: info.description,
      } as GPUAdapterInfo),
  );
  if (!(await tf.setBackend(BACKEND)))
    throw new Error("tfjs could not initialise its webgpu backend on our device");
}

type Vars = tf.Tensor[];

function params(s: MbconvSpec): Vars {
  const he = (shape: number[], fanIn: number): tf.Tensor =>
    tf.randomNormal(shape, 0, Math.sqrt(2 / fanIn), "float32", 7);
  const bn = (C: number): tf.Tensor[] => [tf.ones([C]), tf.zeros([C])];
  return [
    he([1, 1, s.Cin, s.E], s.Cin),
    ...bn(s.E),
    he([s.K, s.K, s.E, 1], s.K * s.K),
    ...bn(s.E),
    he([1, 1, s.E, s.Cout], s.E),
    ...bn(s.Cout),
  ];
}

/** The block in tfjs ops: training-mode BN from batch moments. */
function block(s: MbconvSpec, x: tf.Tensor4D, p: Vars): tf.Tensor4D {
  const bn = (h: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor4D => {
    const { mean, variance } = tf.moments(h, [0, 1, 2]);
    return tf.batchNorm(h, mean, variance, beta, gamma, s.eps) as tf.Tensor4D;
  };
  const [wE, g1, b1, wD, g2, b2, wP, g3, b3] = p;
  let h = tf.relu6(bn(tf.conv2d(x, wE as tf.Tensor4D, 1, "same"), g1, b1));
  h = tf.relu6(bn(tf.depthwiseConv2d(h, wD as tf.Tensor4D, s.S, "same"), g2, b2));
  h = bn(tf.conv2d(h, wP as tf.Tensor4D, 1, "same"), g3, b3);
  return mbconvResidual(s) ? (tf.add(h, x) as tf.Tensor4D) : h;
}

async function timed(work: () => tf.Tensor, expectedMs: number): Promise<number> {
  const t0 = performance.now();
  // tfjs submits its own batches as it goes (all but the last few dispatches).
  const out = work();
  if (expectedMs > 2) await new Promise((r) => setTimeout(r, expectedMs * 0.85));
  await out.data();
  out.dispose();
  return performance.now() - t0;
}

async function medianOf(
  work: () => tf.Tensor,
  runs: { warmup: number; repeats: number },
): Promise<number> {
  let expected = 0;
  const times: number[] = [];
  for (let i = 0; i < runs.warmup + runs.repeats; i++) {
    expected = await timed(work, expected);
    if (i >= runs.warmup) times.push(expected);
  }
  return median(times);
}

/** Forward and forward+backward (dx and every parameter gradient) of the block in tfjs-webgpu. */
export async function peerMbconv(
  gpu: Gpu,
  s: MbconvSpec,
  runs: { warmup: number; repeats: number },
): Promise<PeerResult> {
  if (s.R > 0) throw new Error("the tfjs peer block has no SE branch");
  await registerGradients();
  await useOurDevice(gpu);
  const x = tf.randomNormal([s.N, s.H, s.W, s.Cin], 0, 1, "float32", 3) as tf.Tensor4D;
  const p = params(s);
  const r = tf.randomNormal([...mbconvOutShape(s)], 0, 0.01, "float32", 4);
  const loss = (...args: tf.Tensor[]): tf.Scalar =>
    tf.sum(tf.mul(block(s, args[0] as tf.Tensor4D, args.slice(1)), r));
  const gradsOf = tf.grads(loss);
  try {
    const fwdMs = await medianOf(() => tf.tidy(() => tf.sum(block(s, x, p))), runs);
    const fwdBwdMs = await medianOf(
      () => tf.tidy(() => tf.addN(gradsOf([x, ...p]).map((g) => tf.sum(g)))),
      runs,
    );
    return { name: `tfjs-webgpu ${tf.version_core}`, fwdMs, fwdBwdMs };
  } finally {
    tf.dispose([x, r, ...p]);
    tf.removeBackend(BACKEND);
  }
}
