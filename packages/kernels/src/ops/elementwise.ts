// Host side of the element-wise kernels (ReLU6 forward and backward).

import type { Gpu } from "../runtime/gpu.ts";
import { expectDistinct, expectShape, type Tensor } from "../runtime/tensor.ts";
import { wgsl } from "../runtime/wgsl.ts";

const CONFIG = { WG: 64, PER_INVOCATION: 4 } as const;

function groupsFor(count: number): number {
  return Math.ceil(count / (CONFIG.WG * CONFIG.PER_INVOCATION));
}

/** y = clamp(x, 0, 6). `y` may be given to reuse a buffer (it may alias nothing). */
export function relu6(gpu: Gpu, x: Tensor, y?: Tensor): Tensor {
  if (y) {
    expectShape("relu6", "y", y, x.shape);
    expectDistinct("relu6", ["y", y], ["x", x]);
  }
  const out = y ?? gpu.empty(x.shape, "relu6.y");
  const pipe = gpu.pipeline({
    name: "elementwise.forward.relu6",
    code: wgsl("elementwise.forward.wgsl"),
    entryPoint: "relu6",
    constants: { WG: CONFIG.WG },
  });
  gpu.dispatch(pipe, { tensors: [x, out], params: [x.size], groups: groupsFor(x.size) });
  return out;
}

/** dx = dy * [0 < x < 6]. */
export function relu6Backward(gpu: Gpu, x: Tensor, dy: Tensor, dx?: Tensor): Tensor {
  expectShape("relu6Backward", "dy", dy, x.shape);
  if (dx) {
    expectShape("relu6Backward", "dx", dx, x.shape);
    expectDistinct("relu6Backward", ["dx", dx], ["x", x], ["dy", dy]);
  }
  const out = dx ?? gpu.empty(x.shape, "relu6.dx");
  const pipe = gpu.pipeline({
    name: "elementwise.backward.relu6",
    code: wgsl("elementwise.backward.wgsl"),
    entryPoint: "relu6",
    constants: { WG: CONFIG.WG },
  });
  gpu.dispatch(pipe, { tensors: [x, dy, out], params: [x.size], groups: groupsFor(x.size) });
  return out;
}
