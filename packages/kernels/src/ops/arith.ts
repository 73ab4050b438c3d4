// Host side of element-wise arithmetic on same-shape tensors: the residual
// add and in-place accumulate and scale (gradient sums over supernet paths).
// vec4 when the element count is a multiple of 4, else scalar
// (`selectArithVec`). Functions only record dispatches.

import { f32, type Gpu } from "../runtime/gpu.ts";
import { expectShape, type Tensor } from "../runtime/tensor.ts";
import { fillTemplate, wgsl } from "../runtime/wgsl.ts";

// One invocation handles PER_INVOCATION vectors, WG apart.
const CONFIG = { WG: 256, PER_INVOCATION: 4 } as const;

export function selectArithVec(count: number): 1 | 4 {
  return count % 4 === 0 ? 4 : 1;
}

function pipelineFor(gpu: Gpu, op: string, vec: 1 | 4): GPUComputePipeline {
  const file = `arith.${op}.wgsl`;
  return gpu.pipeline({
    name: `arith.${op}.${vec === 4 ? "vec4" : "scalar"}`,
    code: fillTemplate(file, wgsl(file), { VEC: vec === 4 ? "vec4f" : "f32" }),
    constants: { WG: CONFIG.WG },
  });
}

function groupsFor(count: number, vec: number): number {
  return Math.ceil(count / vec / (CONFIG.WG * CONFIG.PER_INVOCATION));
}

function checkVec(op: string, vec: 1 | 4, t: Tensor): void {
  if (t.size % vec !== 0)
    throw new Error(`${op}: vec${vec} needs a multiple of ${vec} elements, got ${t.size}`);
}

/** out = a + b. `out` must not be `a` or `b` (use addInto). */
export function add(gpu: Gpu, a: Tensor, b: Tensor, out?: Tensor): Tensor {
  return addWith(gpu, selectArithVec(a.size), a, b, out);
}

export function addWith(gpu: Gpu, vec: 1 | 4, a: Tensor, b: Tensor, out?: Tensor): Tensor {
  expectShape("add", "b", b, a.shape);
  checkVec("add", vec, a);
  const y = out ?? gpu.empty(a.shape, "arith.add.out");
  expectShape("add", "out", y, a.shape);
  if (y.buffer === a.buffer || y.buffer === b.buffer) {
    throw new Error(`add: out (${y.label}) aliases an input; use addInto for dst += src`);
  }
  const groups = groupsFor(a.size, vec);
  gpu.dispatch(pipelineFor(gpu, "add", vec), {
    tensors: [a, b, y],
    params: [a.size / vec],
    groups,
  });
  return y;
}

/** dst += src. */
export function addInto(gpu: Gpu, dst: Tensor, src: Tensor): void {
  addIntoWith(gpu, selectArithVec(dst.size), dst, src);
}

export function addIntoWith(gpu: Gpu, vec: 1 | 4, dst: Tensor, src: Tensor): void {
  expectShape("addInto", "src", src, dst.shape);
  checkVec("addInto", vec, dst);
  if (src.buffer === dst.buffer)
    throw new Error(`addInto: src and dst are the same tensor (${dst.label})`);
  const params = [dst.size / vec];
  gpu.dispatch(pipelineFor(gpu, "add-into", vec), {
    tensors: [dst, src],
    params,
    groups: groupsFor(dst.size, vec),
  });
}

/** dst *= s. */
export function scaleInto(gpu: Gpu, dst: Tensor, s: number): void {
  scaleIntoWith(gpu, selectArithVec(dst.size), dst, s);
}

export function scaleIntoWith(gpu: Gpu, vec: 1 | 4, dst: Tensor, s: number): void {
  checkVec("scaleInto", vec, dst);
  const params = [dst.size / vec, f32(s)];
  gpu.dispatch(pipelineFor(gpu, "scale-into", vec), {
    tensors: [dst],
    params,
    groups: groupsFor(dst.size, vec),
  });
}
