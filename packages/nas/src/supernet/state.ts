// Supernet state as named host arrays, for checkpoints: weights, momentum
// buffers and BN running statistics. Loading checks every name and shape.

import type { Gpu, Tensor } from "@fairnas/kernels";
import type { Supernet } from "./network.ts";

function entries(net: Supernet): [string, Tensor][] {
  const out: [string, Tensor][] = [];
  for (const p of net.params) {
    out.push([p.name, p.w], [`${p.name}#momentum`, p.m]);
  }
  for (const bn of net.bns) {
    out.push(
      [`${bn.name}.running_mean`, bn.runningMean],
      [`${bn.name}.running_var`, bn.runningVar],
    );
  }
  return out;
}

/** Reads the whole trainable state back to the host. */
export async function exportState(gpu: Gpu, net: Supernet): Promise<Record<string, Float32Array>> {
  const out: Record<string, Float32Array> = {};
  for (const [name, t] of entries(net)) out[name] = await gpu.read(t);
  return out;
}

/** Writes a state produced by exportState into `net`; names and sizes must match exactly. */
export function importState(
  gpu: Gpu,
  net: Supernet,
  state: Readonly<Record<string, Float32Array>>,
): void {
  const want = entries(net);
  const missing = want.filter(([n]) => !(n in state)).map(([n]) => n);
  const known = new Set(want.map(([n]) => n));
  const extra = Object.keys(state).filter((n) => !known.has(n));
  if (missing.length > 0 || extra.length > 0) {
    throw new Error(
      `checkpoint does not match the supernet: ${missing.length} tensors missing ` +
        `(${missing.slice(0, 3).join(", ")}${missing.length > 3 ? ", ..." : ""}), ` +
        `${extra.length} unexpected (${extra.slice(0, 3).join(", ")}${extra.length > 3 ? ", ..." : ""})`,
    );
  }
  for (const [name, t] of want) {
    const v = state[name];
    if (v.length !== t.size) {
      throw new Error(
        `checkpoint tensor ${name} has ${v.length} values, the supernet expects ${t.size}`,
      );
    }
    gpu.write(t, v);
  }
}
